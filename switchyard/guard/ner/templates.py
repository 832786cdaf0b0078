"""Training templates for the synthetic PII corpus (see synth.py), one per line as `lang|text`.

TRAIN shares no template with EVAL (eval_templates.py), so scores on EVAL measure how the
model generalises to phrasings it never saw. `\\n` in a template is a line break. Slots, filled per locale:
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
en|Cheers,\n{first}
en|Thanks again,\n{name}\n{company}
en|— {name}, {job}
en|{first}: can you check the logs?\n{first}: on it
en|[{time}] {first}: the build is green again
en|<{first}> anyone seen {first} today?
en|Owner: {first}\nStatus: open\nPriority: high
en|Assignee: {name} | Reporter: {name} | Component: billing
en|Ticket closed by {first}. Resolution: duplicate.
en|I was helped by {first} and she was wonderful.
en|Please thank {name} for the quick turnaround.
en|Can someone from {company} call {tname} back today?
en|Caller {name} wants to upgrade; transfer to sales.
en|Note for {first}: the customer at {addr} wants a refund.
en|ok so {first} is bringing snacks and {first} is driving
en|tell {first} i said hi
en|thx {first}, see u tmrw
en|gonna stay at {first} and {first}'s for the weekend, they live on {street}
en|{name} from accounting approved the budget.
en|Both {name} and {name} were copied on the email.
en|Signed: {name}, on behalf of {company}
en|Borrower: {name}; Co-borrower: {name}; Property: {addr}
en|The landlord, {name}, may enter the premises at {addr} with notice.
en|Counsel for the defendant, {tname}, filed a motion on {date}.
en|Judge {name} adjourned the hearing until {month}.
en|Candidate {name} has {num} years of experience as a {job}.
en|Reference check: {tname} confirmed {first}'s dates of employment.
en|The sales rep for {city} is {name}.
en|{tname}'s office is at {addr}.
en|Appointment with {tname} confirmed for {weekday}, {date}.
en|Prescribed by {tname}. Patient address: {addr}.
en|Delivery for {name}:\n{addr_ml}\nLeave with neighbour if absent.
en|Mailing address\n{addr_ml}
en|Our new address from {month}: {addr}
en|Pick up from {street} and drop off at {addr}.
en|Billing address: {addr} | Shipping address: {addr}
en|I live at {street} with my partner {first}.
en|Her parents still live at {addr}.
en|Meet me outside {street} at {time}.
en|Move-in inspection for {addr} is scheduled on {date}.
en|The driver could not find {street}; please add a landmark.
en|Card {card} (holder {name}) was charged {amount}.
en|Transfer {amount} to IBAN {iban} with reference {order}.
en|The account {iban} belongs to {company}.
en|Requests from {ip} to {ip} were dropped.
en|Set API_KEY={key} in your .env file.
en|Authorization: Bearer {key}
en|git remote set-url origin {urlcred}
en|Patient DOB: {dob}; policy number {num}.
en|SSN: {ssn} | DOB: {dob} | Phone: {phone}
en|Our brand new {product} is available at {company} stores in {city}.
en|{company} acquired {company} for {amount}.
en|The {job} from {company} presented the roadmap.
en|Hello Team, The Quarterly Report Is Attached.
en|Friday Night Lights and Saturday Morning Cartoons.
en|We stayed near Bourbon Street and ate at a place on Canal Street.
en|A trip down Memory Lane with the Penny Lane tribute band.
en|Madison Avenue agencies and Fleet Street newspapers covered the story.
en|Harley Street clinics charge a premium.
en|Take the Jubilee line to Baker Street station.
en|The film Sunset Boulevard premiered in {month}.
en|Route 66 Diner opens at {time}.
en|Rodeo Drive Motors is a dealership in {city}.
en|Elm Street Capital invests in early-stage startups.
en|The Broad Street Pump is a famous story in epidemiology.
en|Victoria Station, Liverpool Street and Kings Cross were all closed.
en|He read the Wall Street Journal and the Washington Post every morning.
en|Christian values, Frank opinions and Grace under pressure.
en|Jack Daniel's and Johnnie Walker were on the shelf.
en|The Ford Mustang and the Tesla Model Y were both recalled.
en|Georgia, Virginia and Carolina voted on {weekday}.
en|The Paris office and the Berlin office merged in {month}.
en|Please see the attached invoice; payment is due in {month}.
en|The {product} costs {amount} at {company}.
en|Customer wants to cancel. Reason: too expensive.
en|Checklist for onboarding: laptop, badge, parking.
en|Welcome to the Help Center, how can we help?
de|Mit freundlichen Grüßen\n{name}\n{company}
de|Hallo {first}, kannst du mich {weekday} anrufen?
de|Kontakt: {tname}, {addr}
de|Die Rechnung geht an {name}, IBAN {iban}.
de|Wir ziehen um! Neue Adresse ab {month}: {addr}
fr|Cordialement,\n{name}\n{job}
fr|Salut {first}, tu viens {weekday} ?
fr|Veuillez contacter {tname} au {phone} ou par courriel.
fr|Nouvelle adresse : {addr}
es|Atentamente,\n{name}
es|Contacto: {tname}, tel. {phone}
es|Nuestra nueva dirección es {addr}.
it|Cordiali saluti,\n{name}
it|Il cliente {name} chiede un rimborso.
it|Indirizzo: {addr}
nl|Met vriendelijke groet,\n{name}
nl|Ons nieuwe adres: {addr}
nl|Klant {name} belde over de levering.
en|I am {name} and I need help with my {product}.
en|I'm {name}, the new {job}.
en|{first} here, quick question about the invoice.
en|This is {first} from {company}, returning your call.
en|Please call {tname} tomorrow morning.
en|Ask {name} about the {city} trip when you see her.
en|I'll email {first} later today.
en|{name} and I went to the {city} office last week.
en|We had lunch with {name} yesterday.
en|{name} thinks the numbers are wrong.
en|{first} will be out of office until {date}.
en|It was reviewed by {tname} last week and approved.
en|Talked to {first} {weekday}, she is fine with the plan.
en|Is {first} still at {company}?
en|When did {name} start?
en|We owe {first} a thank-you card.
en|{tname} is running late, start without him.
en|The kids stayed with {first} while we were in {city}.
en|Forwarding to {first} who handles refunds.
en|{name} (cc {name}) asked for an update.
en|{first} {weekday}: {first} out sick, {first} covering.
en|Both contracts were signed by {first} and countersigned by {tname}.
en|Hi all, {first} is joining us as {job} on {weekday}.
en|Your driver {first} is arriving in a silver car.
en|{first}, could you resend the file?
en|Hey {first} - are we still on for {weekday}?
en|my friend {name} lives near {city}
en|i met {first} at {street} and we walked to the park
en|The house on {street} belongs to {name}.
en|We are located at {addr}, opposite the station.
en|Return the item to {addr} within 30 days.
en|Deliver to the back door at {street}.
en|Our store at {addr} is open until {time}.
en|{"customer": "{name}", "email": "{email}", "street": "{street}"}
en|id,name,city\n{num},{name},{city}\n{num},{name},{city}
en|name: {name}\nrole: {job}\noffice: {city}
en|class UserProfile(BaseModel):\n    name: str\n    address: str
en|SELECT name, street FROM customers WHERE city = '{city}';
en|## Getting Started\nInstall the package and run the Quick Start guide.
en|Error: ConnectionRefusedError in Session.connect (line {num})
en|Ask {first} whether {city} or {city} is better for the offsite.
en|Send it to {addr}, thanks {name}
en|{addr} - that's where {first} lives.
en|Our {city} branch at {addr} is managed by {name}.
de|Lieferung an {addr}, Gruß {first}
nl|Stuur het naar {addr}. Groeten, {first}
fr|Envoyez-le au {addr}, merci {first}
en|Sales in {month}, {month} and {month} beat the forecast.
en|```js\nconst user = await Users.findOne({ name });\nconsole.log(user.address);\n```
en|```bash\npip install requests && python main.py --city "{city}"\n```
en|I love the new {product}, it is so fast!
en|I bought a {product} from {company} last {month}.
en|I think {company} will win the contract.
en|I know {first} from school; we met in {city}.
en|Hello {first}, how can I help you today?
en|Professor {name} teaches the {job} course.
en|User: my name is {name}\nAssistant: Nice to meet you, {first}! How can I help?
en|We flew from {city} to {city} and drove on to {city}.
en|The conference moves to {city} next year.
en|She is relocating to {city} in {month}.
en|Shipping from {city} takes three days; shipping to {country} takes a week.
en|Our team in {city} works closely with the office in {city}.
en|I grew up near {city} but now I live in {city}.
en|The parcel left {city} on {weekday} and arrived in {city}.
en|Greetings from {city}!
en|{company} and {company} both announced layoffs.
en|I switched from {company} to {company} last year.
en|Thanks to {company} for sponsoring the event.
en|{company} is hiring engineers in {city}.
en|The meeting is in Room {num}, Building 2.
en|Boarding at Gate {num}, Terminal 3; flight delayed until {time}.
en|Upgrade to Windows 11 and Python 3.12 before {date}.
en|See Section {num} and Appendix 4 of the {company} report.
en|Deploy Nginx 1.25 and Redis 7.2 on the new nodes.
en|The build needs Node 18 or Java 21; Gradle 8 is optional.
en|Tickets for Hamlet 2 and Symphony 9 at the {city} Opera are sold out.
"""


def parse(block: str) -> list[tuple[str, str]]:
    """(lang, template) pairs from a TRAIN/EVAL block; `\\n` in the text becomes a line break."""
    out = []
    for line in block.strip().splitlines():
        lang, _, text = line.partition("|")
        out.append((lang, text.replace("\\n", "\n")))
    return out
