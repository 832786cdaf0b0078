"""Evaluation templates: never used for training (see templates.py for the format and slots).

The bench (bench/pii.py) and `python -m switchyard.guard.ner.train` score on these, so the
figures measure how the tagger copes with phrasings it was not trained on."""

EVAL = r"""
en|I spoke with {name} yesterday and she confirmed the delivery to {addr}.
en|According to {tname}, the {product} was defective out of the box.
en|Reminder: {name}'s appointment is on {weekday} at {time}.
en|Please forward this thread to {names}.
en|Attendees: {names}\nLocation: {city}
en|Tenant: {name}\nProperty: {addr_ml}
en|My SSN is {ssn} and my date of birth is {dob}.
en|For verification: social security number {ssn}, born {dob}.
en|Please charge my card {card}, expiry next year.
en|Wire the refund to IBAN {iban}, account holder {name}.
en|The suspicious requests came from {ip} and {ip}.
en|here is my key {key} please don't share it
en|Connection string for prod: {urlcred}
en|Reach {first} at {email} or {phone}.
en|{tname} will present the quarterly numbers; questions to {email}.
en|hi im {name}, my phone is {phone} and i live at {addr}
en|Could you ship the replacement {product} to {addr}? Thanks, {first}
en|Onboarding checklist for {name}: laptop, badge, parking at {street}.
en|The lease between {name} and {company} covers the unit at {addr}.
en|Signed on {date} by {tname} in the presence of {name}.
en|Dear {first},\n\nwe have updated your address to:\n{addr_ml}\n\nRegards,\n{name}
en|Contact person: {name}\nTel: {phone}\nE-mail: {email}\nDOB: {dob}
en|Beneficiary: {name}, IBAN {iban}
en|Cardholder {name} disputes the charge on {card}.
en|DOB {dob}, SSN {ssn}; please keep this private.
en|The firewall blocked {ip} after {num} failed logins by {email}.
en|Leaked credentials found: {urlcred} and token {key}.
en|rotate {key} asap, it was pasted in the public channel by {first}
en|{first} said {first} would handle the {city} account.
en|Notes from the call with {tname}: wants the {product} delivered to {street}.
en|Congratulations to {names} on the promotion!
en|Our neighbour {name} at {addr} complained about the noise.
en|The invoice was sent to {name} ({email}), {addr}.
en|Phone {phone} belongs to {name}.
en|The applicant was born on {dob} and lives at {addr}.
en|Please verify card {card} and IBAN {iban} before {date}.
en|Traffic from {ip} used the API key {key}.
en|db url: {urlcred}
en|Agent {first}: the caller, {tname}, wants to cancel.
en|Postgres: {urlcred}  (owner {first})
en|SSN {ssn} does not match our records for {tname}.
en|Send the keys to:\n{name}\n{addr_ml}
en|The Wall Street banks reported losses in {month}.
en|{company} launched the {product} in {city}.
en|Our offices in {city} are closed on {weekday}.
en|She subscribed to the Financial Times and the Wall Street Journal.
en|Welcome to Sesame Street, the show for kids.
en|Main Street businesses are struggling this {month}.
en|The {job} will report to the board of {company}.
en|Flights to {country} resume in {month}.
en|Please Read The Terms And Conditions Carefully.
en|The Fifth Avenue flagship store of {company} reopens on {weekday}.
en|May and June were the busiest months for the Support Team.
en|Unit tests for version {num} passed on {weekday}.
en|Queen Street Capital invested in {company}.
en|The {product} review is out; Best Buy has it in stock.
de|Hallo {first}, das Paket ist an {addr} unterwegs.
de|Frau {name} wohnt in der {street}.
de|Bitte überweisen Sie den Betrag an {name}, IBAN {iban}.
de|Die Firma {company} zieht im {month} nach {city} um.
fr|Je vous écris au nom de {name}, domicilié au {addr}.
fr|Rendez-vous {weekday} avec {tname}.
fr|La société {company} recrute à {city}.
es|Mi nombre es {name} y mi dirección es {addr}.
es|{tname} nos visitará en {month}.
es|La tienda de {company} en {city} cierra el {weekday}.
it|Il pacco per {name} va consegnato in {addr}.
it|Grazie {first}, a {weekday}!
nl|Mijn naam is {name}, mijn adres is {addr}.
nl|{tname} belt u {weekday} terug.
en|```python\ndef get_user(name):\n    return User.query.filter_by(name=name).first()\n```
en|{"name": "{name}", "city": "{city}", "phone": "{phone}", "dob": "{dob}"}
"""
