"""Synthetic labelled PII text: templates (templates.py) filled by Faker in several locales.

Train/test-time only (imports Faker, a `test` extra): the gateway never imports this module.

    gen = Generator(seed=1, split="train")
    gen.document(min_chars=300)  # Sample(text=..., spans=[(start, end, kind), ...])

Every slot value is recorded with its character span and kind; hard negatives (companies,
cities, countries, months, weekdays, job titles, products) are inserted unlabelled. The same
seed and split always give the same samples."""

from __future__ import annotations

import datetime
import importlib
import random
import re
import string
from dataclasses import dataclass, field

from faker import Faker

from ..findings import (
    API_KEY,
    CREDIT_CARD,
    DATE_OF_BIRTH,
    EMAIL,
    IBAN,
    IP_ADDRESS,
    PERSON,
    PHONE,
    SSN,
    STREET_ADDRESS,
    URL_CREDENTIALS,
)
from .eval_templates import EVAL
from .templates import TRAIN, parse

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_PT", "pl_PL", "sv_SE", "da_DK")
LANG_LOCALE = {"de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT", "nl": "nl_NL"}
EN_WEIGHTS = {"en_US": 4, "en_GB": 3}  # English templates mostly carry English names and addresses
TITLES = {
    "en": ["Mr.", "Mrs.", "Ms.", "Dr.", "Prof.", "Mr", "Mrs", "Miss", "Dr", "Sir", "Professor", "Mx."],
    "de": ["Herr", "Frau", "Dr.", "Prof.", "Herrn", "Frau Dr."],
    "fr": ["M.", "Mme", "Mlle", "Monsieur", "Madame", "Dr"],
    "es": ["Sr.", "Sra.", "Don", "Doña", "Dr.", "Dra."],
    "it": ["Sig.", "Sig.ra", "Dott.", "Dott.ssa", "Avv.", "signor"],
    "nl": ["Dhr.", "Mevr.", "meneer", "mevrouw", "Dr."],
}
AND = {"en": "and", "de": "und", "fr": "et", "es": "y", "it": "e", "nl": "en"}
CALLING = {"en_US": "1", "en_GB": "44", "de_DE": "49", "fr_FR": "33", "es_ES": "34", "it_IT": "39", "nl_NL": "31",
           "pt_PT": "351", "pl_PL": "48", "sv_SE": "46", "da_DK": "45"}
PRODUCTS = ["Galaxy S23", "Surface Pro", "ThinkPad X1", "iPhone 15", "Kindle Paperwhite", "PlayStation 5",
            "Echo Dot", "Apple Watch", "Nimbus Pro 3000", "Pixel 8", "Model Y", "AirPods Max", "Roomba",
            "Office 365", "Photoshop", "Slack", "Jira", "Nest Thermostat", "Fitbit Charge", "MacBook Air"]


def _words(text: str) -> list[str]:
    return text.split()


# Real places and brands next to Faker's invented ones: the words people actually write.
CITIES = _words("""London Paris Berlin Madrid Rome Amsterdam Brussels Vienna Zurich Geneva Dublin Lisbon Prague Warsaw
Stockholm Oslo Copenhagen Helsinki Munich Hamburg Frankfurt Cologne Milan Naples Turin Barcelona Valencia Seville Lyon
Marseille Toulouse Rotterdam Utrecht Antwerp Manchester Birmingham Leeds Glasgow Edinburgh Bristol Liverpool Chicago
Boston Seattle Austin Denver Houston Dallas Phoenix Atlanta Miami Toronto Vancouver Montreal Sydney Melbourne Auckland
Tokyo Osaka Seoul Beijing Shanghai Singapore Mumbai Delhi Bangalore Dubai Istanbul Cairo Lagos Nairobi Johannesburg
Mexico Lima Bogota Santiago""")
BRANDS = _words("""Microsoft Apple Google Amazon Netflix Meta Facebook Tesla Samsung Sony Nike Adidas IBM Oracle Intel
Nvidia Spotify Uber Airbnb Shopify Salesforce Siemens Bosch Philips Nestle Unilever Toyota Honda Ford BMW Volkswagen
Mercedes Audi Renault Peugeot Fiat Ikea Zara Lidl Aldi Tesco Walmart Target Costco Starbucks McDonald's Disney Pfizer
Visa Mastercard PayPal Stripe Dropbox Zoom Slack GitHub OpenAI Anthropic""")
UNITS = ["Apt 4B", "Apt. 12", "Suite 200", "Unit 5", "Floor 3", "Flat 2", "#301"]
_ALNUM = string.ascii_letters + string.digits
KEY_FORMS = [("sk-", 48, _ALNUM), ("sk-proj-", 40, _ALNUM), ("AKIA", 16, string.ascii_uppercase + string.digits),
             ("ghp_", 36, _ALNUM), ("xoxb-", 40, string.digits + "-" + string.ascii_lowercase),
             ("AIza", 35, _ALNUM + "_-"), ("sk_live_", 24, _ALNUM), ("glpat-", 20, _ALNUM + "_-")]
DOB_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%B %d, %Y", "%d %B %Y"]
NER_KINDS = (PERSON, STREET_ADDRESS)
_SLOT = re.compile(r"\{(\w+)\}")  # literal braces (JSON in a template) stay text
Piece = tuple[str, str | None]


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _calendar(f: Faker, attr: str) -> list[str]:
    """Month or weekday names in the faker's language (English where Faker has none)."""
    try:
        names = getattr(importlib.import_module(f"faker.providers.date_time.{f.locales[0]}").Provider, attr)
        return list(names.values())
    except (ImportError, AttributeError):
        return MONTHS if attr == "MONTH_NAMES" else WEEKDAYS


@dataclass
class Sample:
    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, kind), in text order

    def only(self, kinds: tuple[str, ...]) -> Sample:
        return Sample(self.text, [s for s in self.spans if s[2] in kinds])


class Generator:
    def __init__(self, seed: int = 0, split: str = "train", locales: tuple[str, ...] = LOCALES):
        self.rng = random.Random(f"{split}:{seed}")
        self.templates = parse(TRAIN if split == "train" else EVAL)
        self.locales = locales
        self.fakers: dict[str, Faker] = {}
        for i, loc in enumerate(sorted({*locales, "en_US", *LANG_LOCALE.values()})):
            self.fakers[loc] = Faker(loc)
            self.fakers[loc].seed_instance(seed * 1000 + i + (0 if split == "train" else 500))
            for provider in self.fakers[loc].providers:  # it_IT builds its city list from a set: hash-seed order
                if isinstance(getattr(provider, "cities", None), list):
                    provider.cities = sorted(provider.cities)

    # -- slots ---------------------------------------------------------------------------------------
    def _person(self, f: Faker) -> str:
        r, first, last = self.rng.random(), f.first_name(), f.last_name()
        if r < 0.58:
            return f"{first} {last}"
        if r < 0.66:
            return f"{first} {f.first_name()[0]}. {last}"
        if r < 0.74:
            return f"{first[0]}. {last}"
        if r < 0.80:
            return f"{first} {last}{self.rng.choice([' ', '-'])}{f.last_name()}"
        if r < 0.88:
            return f"{first} {last}".lower()
        if r < 0.91:
            return f"{first} {last}".upper()
        return first

    def _street(self, f: Faker) -> str:
        if self.rng.random() < 0.1:  # an invented street word: addresses are more than known street suffixes
            return f"{self._pseudo_word()} {self.rng.randint(1, 300)}{self.rng.choice(['', '', 'a', 'B'])}"
        street = " ".join(f.street_address().split())
        if f is self.fakers.get("en_US") and self.rng.random() < 0.2:
            street += self.rng.choice([", ", " "]) + self.rng.choice(UNITS)
        return street

    def _pseudo_word(self) -> str:
        rng = self.rng
        word = "".join(rng.choice("bdfghjklmnprstvzw") + rng.choice("aeiouyäöåøé") for _ in range(rng.randint(2, 4)))
        return (word + rng.choice(["", "n", "s", "t", "r", "l"])).capitalize()

    def _address(self, f: Faker, style: str) -> str:
        if style == "street":
            return self._street(f).replace("\n", ", ")
        full = "\n".join(" ".join(line.split()) for line in f.address().splitlines())
        if style == "ml":
            return full
        if style == "street_city":
            return f"{self._street(f)}, {f.city()}".replace("\n", ", ")
        return full.replace("\n", self.rng.choice([", ", ", ", " "]))

    def _fill(self, slot: str, lang: str, f: Faker) -> list[Piece]:
        rng, en = self.rng, self.fakers["en_US"]
        words = f if lang != "en" else en  # month/weekday/job in the language of the sentence
        if slot == "name":
            return [(self._person(f), PERSON)]
        if slot == "first":
            first = f.first_name()
            return [(first.lower() if rng.random() < 0.1 else first, PERSON)]
        if slot == "tname":
            title = rng.choice(TITLES[lang])
            r = rng.random()
            name = f.last_name() if r < 0.5 else f"{f.first_name()} {f.last_name()}" if r < 0.9 else self._person(f)
            return [(title + " ", None), (name, PERSON)]
        if slot == "names":
            people = [self._person(f) if rng.random() < 0.6 else f.first_name() for _ in range(rng.randint(2, 4))]
            pieces: list[Piece] = []
            for i, person in enumerate(people):
                if i:
                    sep = f" {AND[lang]} " if i == len(people) - 1 and rng.random() < 0.7 else ", "
                    pieces.append((sep, None))
                pieces.append((person, PERSON))
            return pieces
        if slot in ("addr", "street", "addr_ml"):
            style = {"street": "street", "addr_ml": "ml"}.get(slot) or rng.choices(
                ["oneline", "street", "street_city", "ml"], [40, 35, 15, 10])[0]
            text = self._address(f, style)
            return [(text.lower() if rng.random() < 0.05 else text, STREET_ADDRESS)]
        if slot == "email":
            return [(rng.choice([f.email, f.free_email, f.company_email])(), EMAIL)]
        if slot == "phone":
            return [(self._phone(f), PHONE)]
        if slot == "card":
            return [(self._card(f), CREDIT_CARD)]
        if slot == "iban":
            iban = f.iban()
            if rng.random() < 0.4:
                iban = " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))
            return [(iban, IBAN)]
        if slot == "ssn":
            ssn = en.ssn()
            return [(ssn.replace("-", " ") if rng.random() < 0.1 else ssn, SSN)]
        if slot == "ip":
            return [(en.ipv4() if rng.random() < 0.75 else en.ipv6(), IP_ADDRESS)]
        if slot == "key":
            prefix, n, alphabet = rng.choice(KEY_FORMS)
            return [(prefix + "".join(rng.choice(alphabet) for _ in range(n)), API_KEY)]
        if slot == "urlcred":
            scheme = rng.choice(["https", "postgres", "mysql", "redis", "ftp", "amqp", "mongodb+srv"])
            port = rng.choice(["", f":{rng.randint(1024, 65535)}"])
            url = f"{scheme}://{en.user_name()}:{en.password(length=rng.randint(8, 16), special_chars=False)}" \
                  f"@{en.domain_name()}{port}/{en.word()}"
            return [(url, URL_CREDENTIALS)]
        if slot == "dob":
            return [(self._date(1935, 2006, rng.choice(DOB_FORMATS)), DATE_OF_BIRTH)]
        return [(self._negative(slot, f, words), None)]

    def _negative(self, slot: str, f: Faker, words: Faker) -> str:
        rng = self.rng
        values = {
            "company": lambda: rng.choice(BRANDS) if rng.random() < 0.3 else f.company(),
            "city": lambda: rng.choice(CITIES) if rng.random() < 0.3 else f.city(), "country": f.country,
            "month": lambda: rng.choice(_calendar(words, "MONTH_NAMES")),
            "weekday": lambda: rng.choice(_calendar(words, "DAY_NAMES")), "job": words.job,
            "product": lambda: rng.choice(PRODUCTS), "num": lambda: str(rng.randint(2, 9999)),
            "order": lambda: rng.choice(["#", "ORD-", "No. ", ""]) + str(rng.randint(10000, 999999)),
            "amount": lambda: rng.choice(["$", "€", "£"]) + f"{rng.randint(5, 5000)}.{rng.randint(0, 99):02d}",
            "date": lambda: self._date(1990, 2030, rng.choice(["%d %B %Y", "%Y-%m-%d", "%d/%m/%Y", "%B %d"])),
            "time": lambda: f"{rng.randint(1, 12)}:{rng.choice(['00', '15', '30', '45'])} {rng.choice(['am', 'pm'])}",
        }
        return values[slot]()

    def _date(self, first: int, last: int, fmt: str) -> str:
        """A date from the seeded generator (Faker's date providers depend on today's date)."""
        day = datetime.date(self.rng.randint(first, last), self.rng.randint(1, 12), self.rng.randint(1, 28))
        return day.strftime(fmt)

    def _phone(self, f: Faker) -> str:
        loc = next(k for k, v in self.fakers.items() if v is f)
        if self.rng.random() < 0.35 and loc in CALLING:
            digits = "".join(self.rng.choice(string.digits) for _ in range(self.rng.choice([9, 10])))
            groups = [digits[:3], digits[3:6], digits[6:]] if self.rng.random() < 0.5 else [digits[:2], digits[2:]]
            return f"+{CALLING[loc]} " + self.rng.choice([" ", "-"]).join(groups)
        return f.phone_number()

    def _card(self, f: Faker) -> str:
        card = f.credit_card_number()
        if len(card) == 16 and self.rng.random() < 0.5:
            card = self.rng.choice([" ", "-"]).join(card[i:i + 4] for i in range(0, 16, 4))
        return card

    # -- samples -------------------------------------------------------------------------------------
    def sentence(self) -> Sample:
        lang, template = self.rng.choice(self.templates)
        if lang == "en":
            pool = [loc for loc in self.locales]
            loc = self.rng.choices(pool, [EN_WEIGHTS.get(p, 1) for p in pool])[0]
        else:
            loc = LANG_LOCALE[lang] if LANG_LOCALE[lang] in self.locales else self.rng.choice(self.locales)
        f = self.fakers[loc]
        text, spans = "", []
        for i, part in enumerate(_SLOT.split(template)):
            pieces = [(part, None)] if i % 2 == 0 else self._fill(part, lang, f)
            for piece, kind in pieces:
                if kind:
                    spans.append((len(text), len(text) + len(piece), kind))
                text += piece
        if lang == "en" and self.rng.random() < 0.06 and len(text.lower()) == len(text):
            keep = [(a, b) for a, b, kind in spans if kind not in NER_KINDS]  # keys, IBANs... keep their case
            text = "".join(text[a:b] if (a, b) in keep else text[a:b].lower() for a, b in _pieces(len(text), keep))
        return Sample(text, spans)

    def document(self, min_chars: int = 0, max_sentences: int = 3) -> Sample:
        """One to max_sentences sentences, then more until the text reaches min_chars."""
        doc = Sample("")
        n = self.rng.randint(1, max_sentences)
        while n > 0 or len(doc.text) < min_chars:
            s = self.sentence()
            sep = self.rng.choice([" ", " ", "\n", "\n\n"]) if doc.text else ""
            if sep == " " and doc.text[-1] not in ".!?":
                sep = "\n"  # no run-on between a sentence without a full stop and the next
            offset = len(doc.text) + len(sep)
            doc.text += sep + s.text
            doc.spans += [(a + offset, b + offset, k) for a, b, k in s.spans]
            n -= 1
        return doc

    def documents(self, count: int, min_chars: int = 0, max_sentences: int = 3) -> list[Sample]:
        return [self.document(min_chars, max_sentences) for _ in range(count)]


def _pieces(length: int, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) of the spans and of the gaps around them, in order, covering 0..length."""
    out, at = [], 0
    for a, b in spans:
        out += [(at, a), (a, b)]
        at = b
    return [*out, (at, length)]
