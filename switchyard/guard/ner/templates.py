"""Sentence templates for the synthetic PII corpus (see synth.py), one per line as `lang|text`.

TRAIN and EVAL share no template, so scores on EVAL measure how the model generalises to
phrasings it never saw. `\\n` in a template is a line break. Slots, filled per locale:
  persons    {name} {first} {tname} (title + name; the title is not labelled) {names} (a list)
  addresses  {addr} (one line, street only or multi-line) {street} {addr_ml} (always multi-line)
  other PII  {email} {phone} {card} {iban} {ssn} {ip} {key} {urlcred} {dob}
  negatives  {company} {city} {country} {month} {weekday} {job} {product} {num} {order} {amount} {date} {time}
"""

TRAIN = r"""
en|Hi, this is {name}, I can't log into my account since {weekday}.
en|My name is {name} and my order {order} never arrived at {addr}.
en|Please update the shipping address for {tname} to {addr}.
en|Customer {name} called about a double charge on card {card}.
en|Can you send the invoice to {email}? It should be addressed to {name}, {addr}.
en|{name} says the {product} stopped working after the update.
en|Escalated by {first} from tier 2; the customer is {tname}.
en|Thanks {first}, that fixed it!
en|hey its {name} again, still waiting on a reply
en|I spoke to {first} on the phone and she said the refund for {amount} was approved.
en|The package was left at {street} instead of my house.
en|Ticket {order}: {name} reports the {product} overheats. Callback number {phone}.
en|Employee {name} (ID {num}) will join the {job} team on {date}.
en|Please welcome {names} to the {company} family!
en|{tname} has requested parental leave starting in {month}.
en|Performance review for {name}: exceeds expectations. Reviewer: {name}.
en|New hire paperwork: {name}, SSN {ssn}, DOB {dob}, home address {addr}.
en|Payroll: please deposit {first}'s salary into {iban}.
en|Interview panel for the {job} role: {names}.
en|{name} resigned effective {date}; {first} will take over her accounts.
en|Emergency contact for {name} is {name}, reachable on {phone}.
en|This Agreement is entered into by {name}, residing at {addr}, and {company}.
en|The tenant, {tname}, shall vacate the premises at {addr} by {date}.
en|Witnessed by {names} on {date}.
en|The plaintiff {name} alleges that {company} breached the contract.
en|Notice shall be delivered in writing to:\n{addr_ml}
en|IN WITNESS WHEREOF, {tname} has signed this deed in {city}.
en|Dear {tname},\n\nThank you for your letter of {date}. We will review your claim.\n\nKind regards,\n{name}
en|Hi {first},\nplease find attached the quote for {company}.\nBest,\n{name}\n{job}\n{phone}
en|Dear {tname}, please return the signed form to:\n{addr_ml}
en|Hello {first},\n\nyour parcel is on its way to {addr}.\n\nThe {company} team
en|Good morning {tname}, I'm writing on behalf of {name} regarding the lease.
en|From: {name} <{email}>\nSubject: change of address\n\nI have moved to {addr}.
en|Spoke with {name} ({job} at {company}); follow up on {weekday}. Phone: {phone}.
en|Lead: {name} | {email} | {phone} | {city}, {country}
en|{name} moved to {addr}; update billing.
en|Met {tname} at the {city} conference in {month}.
en|Account owner changed from {name} to {name}.
en|Call notes: {first} prefers email, wants a demo of {product} next {weekday}.
en|Name: {name}\nAddress: {addr_ml}\nPhone: {phone}\nEmail: {email}
en|Full name: {name}\nDate of birth: {dob}\nSSN: {ssn}
en|Ship to: {name}, {addr}
en|Billing contact: {name} / {email}
en|Applicant: {name}\nCurrent address: {addr}\nPrevious address: {addr}
en|Patient: {tname}  DOB: {dob}  Referred by: {tname}
en|lol {first} just told me she's moving to {city}
en|omw to {first}'s place, {street}
en|did you see what {name} posted??
en|i'm at {addr} come over
en|me and {first} are getting coffee on {weekday}
en|ask {first} if {first} is coming tonight
en|{first} and {first} say hi
en|happy birthday {first}!!! see you at {street} at {time}
en|The server at {ip} rejected the key {key}.
en|Use {urlcred} to connect to the staging database.
en|Deploy failed; {name} rotated the token {key}.
en|Login from {ip} for user {email} at {time}.
en|Assigned to {name}, reviewed by {name}. Closes {order}.
en|According to {tname}, the results will be published in {month}.
en|The award went to {name}, a {job} from {city}.
en|Our guide, {first}, met us outside {street}.
en|I sent {amount} to {name} last {weekday}.
en|Could {tname} please call me back at {phone}?
en|Send the contract to {name} at {company}, {addr}.
en|{name}'s flight lands in {city} at {time}.
en|Attendees: {names}. Apologies: {name}.
en|The house at {addr} sold for {amount}.
en|Return address: {addr}
en|We delivered to {addr_ml}\nbut nobody was home.
en|Mail it to {name}\n{addr_ml}
en|Her new office is on the third floor of {street}, right next to the bakery.
en|My date of birth is {dob} and my card number is {card}.
en|Refund account: {iban} (holder: {name}).
en|Card {card} was declined at {time}; the customer {name} will retry.
en|IBAN: {iban}\nBIC: {num}\nAccount name: {name}
en|Allow {ip} in the firewall and revoke {key}.
en|export OPENAI_API_KEY={key}
en|The webhook posts to {urlcred} every {num} minutes.
en|SSN on file: {ssn}. Please confirm your date of birth ({dob}).
en|ping {ip} from the {city} office
en|{email} requested a password reset from {ip}.
en|The {product} from {company} ships in {month}.
en|We opened a new office in {city}, {country}.
en|I read about it in the Wall Street Journal on {weekday}.
en|Our brand stands for Main Street values.
en|The {job} position in {city} is still open.
en|Meeting moved to {weekday} at {time}.
en|{company} reported strong results for {month}.
en|Please restart the router and try again.
en|Order {order} totals {amount}; delivery expected {date}.
en|Visit our showroom in {city} or call the hotline.
en|He works as a {job} at {company}.
en|The report covers {country}, {country} and {country}.
en|Summer Sale Ends In {month}!
en|Grand Avenue Capital announced a merger with {company}.
en|Downing Street declined to comment on Monday.
en|We watched Coronation Street and then Street Fighter.
en|The Abbey Road album is still my favourite.
en|Will you bring the Rose Gold edition on {weekday}?
en|Park Lane Partners and {company} signed the deal.
en|The Oxford Street store is closed for refurbishment this {month}.
en|Main Street Bank raised its rates again.
en|Bay Area traffic was terrible on {weekday}.
en|Version {num} of the {product} adds dark mode.
en|The Customer Success Team will reach out within two business days.
en|Error {num}: Invalid Request. Please Contact Support.
en|Great Western Railway services to {city} are delayed.
en|The King Street Station renovation is over budget.
en|Happy Birthday! Best Wishes From All Of Us At {company}.
en|Grace period ends in {month}; Hope this helps.
en|Click Save Changes, then Sign Out and Sign In again.
en|President and Chief Executive Officer, {company}
en|The {city} Marathon takes place every {month}.
en|Chapter {num}: The Long Road Home
de|Sehr geehrte {tname},\nvielen Dank für Ihre Nachricht vom {date}.\nMit freundlichen Grüßen\n{name}
de|Bitte senden Sie die Unterlagen an {name}, {addr}.
de|Ich wohne seit {month} in der {street}.
de|Unser Kunde {name} hat sich über die Lieferung beschwert.
de|Am {weekday} treffe ich {first} in {city}.
de|Lieferadresse:\n{name}\n{addr_ml}
de|Die Firma {company} hat ihren Sitz in {city}.
de|Rückfragen bitte an {tname}, Telefon {phone}.
de|Die Wohnung in der {street} wurde an {name} vermietet.
de|Das Meeting mit {company} findet am {weekday} statt.
fr|Bonjour, je m'appelle {name} et j'habite au {addr}.
fr|Madame, Monsieur, veuillez envoyer le colis à {name}, {addr}.
fr|{tname} a signé le contrat le {date}.
fr|La société {company} ouvre un bureau à {city}.
fr|Merci {first} pour ton aide, on se voit {weekday} !
fr|Adresse de livraison :\n{name}\n{addr_ml}
fr|Le dossier de {tname} est complet, contactez-la au {phone}.
es|Hola, soy {name} y vivo en {addr}.
es|El cliente {name} solicitó un reembolso de {amount}.
es|Enviar la factura a {tname}, {addr}.
es|La empresa {company} tiene oficinas en {city}.
es|Gracias {first}, nos vemos el {weekday}.
es|Dirección de envío:\n{name}\n{addr_ml}
it|Buongiorno, sono {name} e abito in {addr}.
it|Spedire a:\n{name}\n{addr_ml}
it|{tname} ha firmato il contratto il {date}.
it|La ditta {company} ha sede a {city}.
it|Ciao {first}, ci vediamo {weekday} in {street}?
nl|Hallo, ik ben {name} en ik woon op {addr}.
nl|Graag de factuur sturen naar {tname}, {addr}.
nl|Het bedrijf {company} is gevestigd in {city}.
nl|Bezorgadres:\n{name}\n{addr_ml}
nl|Bedankt {first}, tot {weekday}!
"""

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
"""


def parse(block: str) -> list[tuple[str, str]]:
    """(lang, template) pairs from a TRAIN/EVAL block; `\\n` in the text becomes a line break."""
    out = []
    for line in block.strip().splitlines():
        lang, _, text = line.partition("|")
        out.append((lang, text.replace("\\n", "\n")))
    return out
