"""Word lists the tagger looks words up in: first and last names, street words, cities, titles...

`build()` collects them from Faker's provider data at training time (Faker is imported only
there); the lists are then stored inside the model file, so the gateway needs no Faker."""

from __future__ import annotations

import importlib
import zlib

from .tokens import tokens

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_PT", "pl_PL", "sv_SE", "da_DK")
# Name particles and very short tokens would make every "de" or "la" a name hit.
PARTICLES = {"de", "da", "del", "della", "di", "van", "von", "der", "den", "du", "le", "la", "y", "e", "of", "the",
             "and", "zu", "ten", "ter", "het", "des", "dos", "das", "st", "saint", "sainte", "los", "las", "el", "'t"}
STREET_WORDS = [
    "street", "st", "road", "rd", "avenue", "ave", "av", "lane", "ln", "drive", "dr", "boulevard", "blvd", "court",
    "ct", "place", "pl", "square", "sq", "terrace", "close", "crescent", "way", "highway", "hwy", "parkway", "pkwy",
    "circle", "row", "mews", "grove", "gardens", "walk", "hill", "strasse", "straße", "str", "gasse", "weg", "platz",
    "allee", "ring", "damm", "ufer", "chaussee", "rue", "chemin", "impasse", "allée", "quai", "route", "calle",
    "avenida", "paseo", "plaza", "camino", "carretera", "carrer", "via", "viale", "piazza", "corso", "vicolo",
    "largo", "strada", "straat", "laan", "weg", "plein", "gracht", "singel", "kade", "dreef", "steeg", "rua",
    "travessa", "praça", "estrada", "ul", "ulica", "al", "aleja", "plac", "os", "gatan", "vägen", "gränd", "torget",
    "vej", "gade", "allé", "stræde", "plads"
]
STREET_ENDINGS = ("straße", "strasse", "str.", "gasse", "weg", "platz", "allee", "ring", "damm", "ufer", "straat",
                  "laan", "plein", "gracht", "singel", "kade", "dreef", "steeg", "hof", "pad", "baan", "markt",
                  "gatan", "vägen", "gränd", "torget", "stigen", "vej", "gade", "stræde", "plads")
UNIT_WORDS = [
    "apt", "apartment", "suite", "ste", "unit", "flat", "floor", "fl", "room", "bldg", "building", "po", "box",
    "piso", "puerta", "planta", "escalera", "piano", "appartamento", "interno", "scala", "wohnung", "etage", "stock",
    "bus", "étage", "appt", "bâtiment"
]
TITLE_WORDS = [
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "professor", "sir", "madam", "lady", "lord", "herr", "frau",
    "herrn", "fräulein", "m", "mme", "mlle", "monsieur", "madame", "sr", "sra", "srta", "don", "doña", "dra", "sig",
    "signor", "signora", "sig.ra", "dott", "dott.ssa", "avv", "ing", "dhr", "mevr", "meneer", "mevrouw"
]
CALENDAR = [
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon", "tue", "wed", "thu", "fri", "sat", "sun"
]
COMMON = [
    "the", "a", "an", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "from", "as", "is",
    "are", "was", "were", "be", "been", "it", "this", "that", "these", "those", "i", "you", "he", "she", "we", "they",
    "me", "him", "her", "us", "them", "my", "your", "his", "our", "their", "not", "no", "yes", "hi", "hello", "hey",
    "dear", "thanks", "thank", "please", "ich", "du", "er", "sie", "wir", "ihr", "der", "die", "das", "und", "oder",
    "mit", "von", "für", "bitte", "je", "tu", "il", "elle", "nous", "vous", "le", "la", "les", "et", "ou", "avec",
    "pour", "merci", "yo", "tú", "él", "ella", "nosotros", "el", "los", "las", "y", "con", "para", "gracias", "io",
    "lui", "lei", "noi", "il", "gli", "e", "o", "con", "per", "grazie", "ik", "jij", "hij", "zij", "wij", "de", "het",
    "een", "en", "of", "met", "voor", "bedankt", "yesterday", "today", "tomorrow", "tonight", "morning", "evening",
    "gestern", "heute", "morgen", "hier", "aujourd'hui", "demain", "ayer", "hoy", "mañana", "ieri", "oggi", "domani",
    "gisteren", "vandaag", "morgen"
]


def build(locales: tuple[str, ...] = LOCALES) -> dict[str, list[str]]:
    """Sorted word lists (lowercased tokens) from Faker's providers for the given locales."""
    sets: dict[str, set[str]] = {k: set() for k in ("first", "last", "street", "city", "country", "calendar", "common")}

    def add(kind: str, values) -> None:
        for value in values or ():
            for s, e in tokens(str(value)):
                word = str(value)[s:e].lower()
                if len(word) > 1 and word not in PARTICLES and not word.isdigit():
                    sets[kind].add(word)

    for loc in locales:
        person = _provider("person", loc)
        address = _provider("address", loc)
        for attr in ("first_names", "first_names_male", "first_names_female"):
            add("first", getattr(person, attr, None))
        for attr in ("last_names",):
            add("last", getattr(person, attr, None))
        for attr in ("street_suffixes", "street_suffixes_long", "street_prefixes"):
            add("street", [s for s in getattr(address, attr, None) or () if s != "Street" or loc.startswith("en")])
        add("city", getattr(address, "cities", None))
        add("country", getattr(address, "countries", None))
        date_time, lorem = _provider("date_time", loc), _provider("lorem", loc)
        for attr in ("MONTH_NAMES", "DAY_NAMES"):
            add("calendar", (getattr(date_time, attr, None) or {}).values())
        add("common", getattr(lorem, "word_list", None))
    add("street", STREET_WORDS)
    add("calendar", CALENDAR)
    add("common", COMMON)
    return {k: sorted(v) for k, v in sets.items()}


def _provider(kind: str, locale: str):
    try:
        return importlib.import_module(f"faker.providers.{kind}.{locale}").Provider
    except ImportError:
        return None


class Gazetteer:
    """Membership flags of a lowercased word, as short feature names ("gF" = known first name...)."""

    FLAGS = {"first": "gF", "last": "gL", "street": "gS", "city": "gC", "country": "gK", "calendar": "gM",
             "common": "gW"}

    def __init__(self, lists: dict[str, list[str]], drop: float = 0.0):
        """drop: leave out this fraction of names, cities and street words (chosen by a hash of the
        word), so a model trained with it also learns names and addresses from context and shape,
        not only from the lists."""
        self.lists = lists
        cut = int(drop * 1000)
        self.sets = {}
        for kind, words in lists.items():
            droppable = kind in ("first", "last", "city", "street")
            self.sets[self.FLAGS[kind]] = {w for w in words if not droppable or zlib.crc32(w.encode()) % 1000 >= cut}
        self.units, self.titles = set(UNIT_WORDS), {t.rstrip(".") for t in TITLE_WORDS}

    def flags(self, word: str) -> list[str]:
        low = word.lower()
        out = [flag for flag, words in self.sets.items() if low in words]
        if low.endswith(STREET_ENDINGS) and len(low) > 5:
            out.append("gSX")
        if low in self.units:
            out.append("gU")
        if low in self.titles:
            out.append("gT")
        return out
