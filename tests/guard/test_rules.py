"""Rule-based recognizers: positives in several formats, hard negatives, offsets, and overlap resolution."""

from __future__ import annotations

import random
import re
import string
import time

import pytest

from switchyard.guard.detector import Detector
from switchyard.guard.findings import (
    API_KEY,
    CREDIT_CARD,
    DATE_OF_BIRTH,
    EMAIL,
    IBAN,
    IP_ADDRESS,
    PHONE,
    SSN,
    URL_CREDENTIALS,
    Finding,
)
from switchyard.guard.rules import (
    ApiKeyRecognizer,
    CreditCardRecognizer,
    DateOfBirthRecognizer,
    DenyListRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpAddressRecognizer,
    PatternRecognizer,
    PhoneRecognizer,
    SsnRecognizer,
    UrlCredentialsRecognizer,
    rule_recognizers,
)
from switchyard.guard.rules.checksums import iban_valid, luhn_valid, shannon_entropy

_rng = random.Random(1234)


def tok(prefix: str, n: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    """A random-looking token, built at run time so no secret scanner mistakes this file for a leak."""
    body = "".join(_rng.choice(alphabet) for _ in range(n - 2))
    return prefix + body[: n // 2] + "7" + "Q" + body[n // 2 :]


def found(recognizer, text: str) -> list[str]:
    findings = recognizer.find(text)
    for f in findings:
        assert isinstance(f, Finding)
        assert f.kind in recognizer.kinds
        assert 0 <= f.start < f.end <= len(text)
        assert text[f.start : f.end] == f.text, f
        assert 0 < f.score <= 1
    return [f.text for f in findings]


# --- EMAIL ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe@example.com today", "jane.doe@example.com"),
        ("John.Smith+newsletter@mail.example.co.uk.", "John.Smith+newsletter@mail.example.co.uk"),
        ("<ops_team-1@sub-domain.example.org>", "ops_team-1@sub-domain.example.org"),
        ('"email": "a.b%c@example.io",', "a.b%c@example.io"),
        ("mailto:support@example.net?subject=hi", "support@example.net"),
        ("(x@y.travel)", "x@y.travel"),
    ],
)
def test_email_positives(text, expected):
    assert found(EmailRecognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "user@localhost",
        "@decorator above def f()",
        "icon@2x.png and logo@3x.webp",
        "npm i @types/node@18.11.9",
        "git@github.com:org/repo.git",
        "a..b@example.com",
        "name.@example.com",
        "pkg@1.2.3",
        "no at sign here",
    ],
)
def test_email_negatives(text):
    assert found(EmailRecognizer(), text) == []


# --- PHONE ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # US / CA
        ("Call (415) 555-0132 now", "(415) 555-0132"),
        ("office: 415-555-0132.", "415-555-0132"),
        ("415.555.0132", "415.555.0132"),
        ("+1.415.555.0132", "+1.415.555.0132"),
        ("She said 415-555-0132 is her preferred number", "415-555-0132"),
        ("+1 (415) 555-0132", "+1 (415) 555-0132"),
        ("toll free 1-800-555-0199", "1-800-555-0199"),
        ("+14155550132", "+14155550132"),
        # UK
        ("ring 020 7946 0958", "020 7946 0958"),
        ("mobile 07700 900123", "07700 900123"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("+44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
        ("0044 20 7946 0958", "0044 20 7946 0958"),
        # DE
        ("Tel.: 030/1234567", "030/1234567"),
        ("0170 1234567", "0170 1234567"),
        ("+49 30 1234567", "+49 30 1234567"),
        ("+49 (0)89 1234 5678", "+49 (0)89 1234 5678"),
        # FR
        ("06 12 34 56 78", "06 12 34 56 78"),
        ("06.12.34.56.78", "06.12.34.56.78"),
        ("+33 6 12 34 56 78", "+33 6 12 34 56 78"),
        ("01\u00a042\u00a068\u00a053\u00a000", "01\u00a042\u00a068\u00a053\u00a000"),
        # NL
        ("020-1234567", "020-1234567"),
        ("06-12345678", "06-12345678"),
        ("+31 6 12345678", "+31 6 12345678"),
        # ES
        ("612 34 56 78", "612 34 56 78"),
        ("91 234 56 78", "91 234 56 78"),
        ("+34 612 34 56 78", "+34 612 34 56 78"),
        # IT
        ("02 1234 5678", "02 1234 5678"),
        ("333 123 4567", "333 123 4567"),
        ("+39 333 123 4567", "+39 333 123 4567"),
        # IN
        ("98765 43210", "98765 43210"),
        ("+91 98765 43210", "+91 98765 43210"),
        ("+91-98765-43210", "+91-98765-43210"),
        ("022 2345 6789", "022 2345 6789"),
        # bare digit runs with a context word
        ("phone: 5550132", "5550132"),
        ("mobile: 0612345678", "0612345678"),
        ("☎ 4155550132", "4155550132"),
        ("call me at 5550132 tonight", "5550132"),
        ("tel:+14155550132", "+14155550132"),
        ("Tel. 5550132", "5550132"),
        ("5550132 (mobile)", "5550132"),
        # extensions are left out of the span
        ("Phone 883-237-8876x232 belongs to Ann", "883-237-8876"),
        ("call +1-912-490-4047x96669", "+1-912-490-4047"),
        ("(710)827-3464x686", "(710)827-3464"),
        ("NL: (0251)-027346", "(0251)-027346"),
    ],
)
def test_phone_positives(text, expected):
    assert found(PhoneRecognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "In 2023 we sold 1500000 units",
        "Total: $1,234,567.89 (EUR 1.234.567,89)",
        "population 67 390 000 and 912 345 678 people",
        "1 000 000 requests",
        "The years 1999 2000 2001 2002",
        "call it 2023-2024",
        "Order #123-456-7890 shipped",
        "order 415-555-0132",
        "invoice no. 020 7946 0958",
        "version 1.2.3.4 and 10.0.19041.1",
        "date 2023-01-15, 01.02.2023 and 12/25/2023",
        "01.02.2023 1430",
        "ISBN 978-3-16-148410-0",
        "timestamp 1709645696123",
        "4111 1111 1111 1111",
        "IBAN DE89 3704 0044 0532 0130 00",
        "ratio 3.14159265",
        "coordinates 48.8566, 2.3522",
        "+1500",
        "SSN 123-45-6789",
        "id 4155550132",
        "1234567",
        "Call it 2023-2024. Timestamp 1709645696123.",
        "We will call. 5550132 is the order.",
    ],
)
def test_phone_negatives(text):
    assert found(PhoneRecognizer(), text) == []


def test_phone_lists_and_extensions():
    assert found(PhoneRecognizer(), "415-555-0132, 415-555-0133 ext. 12") == ["415-555-0132", "415-555-0133"]


# --- CREDIT_CARD ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 exp 12/26", "4111 1111 1111 1111"),
        ("4111-1111-1111-1111", "4111-1111-1111-1111"),
        ("visa:4111111111111111.", "4111111111111111"),
        ("4222222222222", "4222222222222"),  # 13-digit Visa
        ("mc 5555 5555 5555 4444", "5555 5555 5555 4444"),
        ("mastercard 2223003122003222", "2223003122003222"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
        ("amex 371449635398431", "371449635398431"),
        ("discover 6011 1111 1111 1117", "6011 1111 1111 1117"),
        ("jcb 3530111333300000", "3530111333300000"),
        ("diners 3056 930902 5904", "3056 930902 5904"),
        ("unionpay 6200000000000005", "6200000000000005"),
        ("19 digits 4111 1111 1111 1111 003", "4111 1111 1111 1111 003"),
        ("maestro 5018 0080 6363", "5018 0080 6363"),  # 12-digit Maestro
        ("debit 675900000000", "675900000000"),
        ("jcb 213112345678904", "213112345678904"),  # JCB's older 15-digit range
        ("card 3511123456789011", "3511123456789011"),  # 16 digits in the card industries, outside known ranges
    ],
)
def test_credit_card_positives(text, expected):
    assert luhn_valid(re.sub(r"\D", "", expected))
    assert found(CreditCardRecognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # Luhn fails
        "4111111111111112",
        "9999999999999995",  # Luhn ok, no issuer
        "1234567812345670",  # Luhn ok, no issuer
        "123456789015",  # Luhn ok, 12 digits but no Maestro prefix
        "512345678902",  # Luhn ok, Mastercard prefix is 16 digits only
        "4006381333931",  # an EAN-13 barcode that fails Luhn
        "3782 822463 10005 9",  # runs on
        "4111 1111 1111 1111 1234 5678",  # part of a longer digit run
        "4111-1111 1111-1111",  # mixed separators
        "41 11 11 11 11 11 11 11",  # not 4-grouped
        "x4111111111111111",
        "timestamp 1709645696123",
        "v4111111111111111.2",
    ],
)
def test_credit_card_negatives(text):
    assert found(CreditCardRecognizer(), text) == []


# --- IBAN -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IBAN DE89 3704 0044 0532 0130 00 EUR", "DE89 3704 0044 0532 0130 00"),
        ("DE89370400440532013000", "DE89370400440532013000"),
        ("GB82 WEST 1234 5698 7654 32.", "GB82 WEST 1234 5698 7654 32"),
        ("pay to FR1420041010050500013M02606", "FR1420041010050500013M02606"),
        ("NL91ABNA0417164300", "NL91ABNA0417164300"),
        ("(NO9386011117947)", "NO9386011117947"),
        ("BE68 5390 0754 7034", "BE68 5390 0754 7034"),
        ("CH93 0076 2011 6238 5295 7", "CH93 0076 2011 6238 5295 7"),
    ],
)
def test_iban_positives(text, expected):
    assert iban_valid(expected.replace(" ", ""))
    assert found(IbanRecognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "DE89370400440532013001",  # wrong checksum
        "DE88 3704 0044 0532 0130 00",  # wrong check digits
        "DE8937040044053201300012",  # too long for DE
        "DE89 3704 0044 0532 0130",  # too short for DE
        "DE89 37040 044 0532 0130 00",  # not 4-grouped
        "ZZ89370400440532013000",  # no such country
        "xDE89370400440532013000",
        "ORDER12345678901234567",
    ],
)
def test_iban_negatives(text):
    assert found(IbanRecognizer(), text) == []


# --- SSN --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 123-45-6789", "123-45-6789"),
        ("ssn: 078 05 1120", "078 05 1120"),
        ("my social security number is 219099999.", "219099999"),
        ("SSN#:536221234", "536221234"),
        ("id 665-12-3456 on file", "665-12-3456"),
    ],
)
def test_ssn_positives(text, expected):
    assert found(SsnRecognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "999-12-3456",
        "900-12-3456",
        "666-12-3456",
        "000-12-3456",
        "123-00-4567",
        "123-45-0000",
        "123-45 6789",  # mixed separators
        "order 123456789",  # bare digits need a context word
        "SSN 999123456",
        "123-45-6789-1",
        "tel 0123-45-6789",
    ],
)
def test_ssn_negatives(text):
    assert found(SsnRecognizer(), text) == []


def test_ssn_dashed_scores_higher_with_context():
    (plain,) = SsnRecognizer().find("ref 123-45-6789")
    (ctx,) = SsnRecognizer().find("SSN 123-45-6789")
    assert ctx.score > plain.score


# --- IP_ADDRESS -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server 192.168.1.10:8080", ["192.168.1.10"]),
        ("route 10.0.0.0/8 via 10.0.0.1.", ["10.0.0.0", "10.0.0.1"]),
        ("client=203.0.113.77,", ["203.0.113.77"]),
        ("2001:db8::1", ["2001:db8::1"]),
        ("[2001:db8::8a2e:370:7334]:443", ["2001:db8::8a2e:370:7334"]),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", ["2001:0db8:85a3:0000:0000:8a2e:0370:7334"]),
        ("link-local fe80::1%eth0 up", ["fe80::1%eth0"]),
        ("mapped ::ffff:192.0.2.1", ["192.0.2.1", "::ffff:192.0.2.1"]),
    ],
)
def test_ip_positives(text, expected):
    assert sorted(found(IpAddressRecognizer(), text)) == sorted(expected)


@pytest.mark.parametrize(
    "text",
    [
        "version 1.2.3",
        "1.2.3.4.5",
        "release 4.1.2.0",
        "v1.2.3.4",
        "256.1.1.1",
        "01.02.03.04",
        "127.0.0.1 and 0.0.0.0 and 255.255.255.0",
        "::1",
        "time 12:30:45",
        "MAC 00:1A:2B:3C:4D:5E",
        "a[1::2] and arr[100::200]",
        "std::vector<int> Foo::bar dead::beef",
        "ratio 16:9",
    ],
)
def test_ip_negatives(text):
    assert found(IpAddressRecognizer(), text) == []


# --- URL_CREDENTIALS --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "DATABASE_URL=postgres://admin:s3cr3t@db.example.com:5432/app?sslmode=require.",
            "postgres://admin:s3cr3t@db.example.com:5432/app?sslmode=require",
        ),
        ("(mongodb+srv://u:p%40ss@cluster0.mongodb.net/test)", "mongodb+srv://u:p%40ss@cluster0.mongodb.net/test"),
        ("redis://:hunter2@cache:6379/0", "redis://:hunter2@cache:6379/0"),
        ("amqp://guest:gu@st@rabbit/vhost", "amqp://guest:gu@st@rabbit/vhost"),
        ("jdbc:mysql://root:pw@localhost/db", "mysql://root:pw@localhost/db"),
        ('"https://bob:tr0ub4dor@example.com"', "https://bob:tr0ub4dor@example.com"),
        ("ftp://anon:x@[2001:db8::1]:21/pub", "ftp://anon:x@[2001:db8::1]:21/pub"),
    ],
)
def test_url_credentials_positives(text, expected):
    assert found(UrlCredentialsRecognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "https://example.com/path?q=1",
        "https://user@example.com",
        "https://example.com:8443/x",
        "redis://:@cache:6379",
        "user:pass@host without a scheme",
    ],
)
def test_url_credentials_negatives(text):
    assert found(UrlCredentialsRecognizer(), text) == []


# --- API_KEY ----------------------------------------------------------------------------------------------------

OPENAI = tok("sk-", 48)
OPENAI_PROJ = tok("sk-" + "proj-", 120, string.ascii_letters + string.digits + "_-")
ANTHROPIC = tok("sk-" + "ant-api03-", 93, string.ascii_letters + string.digits + "_-")
AWS = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_STS = tok("AS" + "IA", 16, string.ascii_uppercase + "234567")
GITHUB = tok("gh" + "p_", 36)
GITHUB_FINE = tok("github" + "_pat_", 82, string.ascii_letters + string.digits + "_")
GITLAB = tok("gl" + "pat-", 20)
SLACK = "xox" + "b-123456789012-1234567890123-" + tok("", 24)
STRIPE = tok("sk" + "_live_", 24)
STRIPE_PK = tok("pk" + "_live_", 24)
GOOGLE = tok("AI" + "za", 35, string.ascii_letters + string.digits + "_-")
JWT = (
    "eyJ" + "hbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
_PK = " PRIVATE " + "KEY-----"
PEM = (
    "-----BEGIN RSA"
    + _PK
    + "\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw\n-----END RSA"
    + _PK
)
PEM_CUT = "-----BEGIN OPENSSH" + _PK + "\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\nAAAAAAAB"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"OPENAI_API_KEY={OPENAI}", OPENAI),
        (f"key: {OPENAI_PROJ}", OPENAI_PROJ),
        (f"x-api-key: {ANTHROPIC}\n", ANTHROPIC),
        (f"aws_access_key_id = {AWS}", AWS),
        (f"[{AWS_STS}]", AWS_STS),
        (f"git clone https://{GITHUB}@github.com/o/r", GITHUB),
        (f"GH_TOKEN={GITHUB_FINE}", GITHUB_FINE),
        (f"token {GITLAB}.", GITLAB),
        (f"slack: {SLACK}", SLACK),
        (f"stripe.api_key = '{STRIPE}'", STRIPE),
        (f"publishable {STRIPE_PK}", STRIPE_PK),
        (f"https://maps.googleapis.com/api?key={GOOGLE}&q=1", GOOGLE),
        (f"cookie: session={JWT}; path=/", JWT),
        (f"id_rsa:\n{PEM}\nend", PEM),
        (f"pasted {PEM_CUT}", PEM_CUT),
    ],
)
def test_api_key_prefixed(text, expected):
    assert found(ApiKeyRecognizer(), text) == [expected]


HEX32 = tok("", 32, "0123456789abcdef")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'api_key = "{HEX32}"', HEX32),
        (f"API-KEY: {HEX32}", HEX32),
        (f"client_secret={HEX32}&grant_type=x", HEX32),
        ("token: 123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000"),
        ('"password": "Hunter2!"', "Hunter2!"),
        ("password=hunter2", "hunter2"),
        ("DB_PASSWORD: p@ssw0rd.", "p@ssw0rd"),
        ("Authorization: Bearer abc123def456ghi789jkl", "abc123def456ghi789jkl"),
        ("-H 'Authorization: Basic dXNlcjpwYXNz'", "dXNlcjpwYXNz"),
        ("authorization: token 9f86d081884c7d659a2f", "9f86d081884c7d659a2f"),
    ],
)
def test_api_key_keyword(text, expected):
    assert found(ApiKeyRecognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "The password is required and must be strong.",
        "password: required",
        "Reset your password here",
        "password=self.password",
        "password=get_password()",
        "password=userPassword",
        'token = os.environ["GITHUB_TOKEN"]',
        "api_key=None",
        "secret: ${DB_SECRET}",
        "api_key: <your-api-key>",
        "api_key = 'sk-xxxxxxxxxxxxxxxxxxxxxxxx'",
        "max_tokens=4096",
        'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
        "commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
        "sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "request 550e8400-e29b-41d4-a716-446655440000 failed",
        "use sk-learn-compatible-estimators-here",
        "risk-" + tok("", 30),  # sk- inside a word
        "bearer of bad news tonight",
        "Tokens are counted per request; secrets are rotated.",
        "xoxb-not-a-token",
        "AKIA is a prefix",
    ],
)
def test_api_key_negatives(text):
    assert found(ApiKeyRecognizer(), text) == []


def test_api_key_reports_value_not_keyword():
    text = f'config = {{"api_key": "{HEX32}", "password": "Tr0ub4dor&3"}}'
    assert found(ApiKeyRecognizer(), text) == [HEX32, "Tr0ub4dor&3"]


# --- DATE_OF_BIRTH ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Born on 12 March 1985 in Paris", "12 March 1985"),
        ("DOB: 1985-03-12", "1985-03-12"),
        ("Date of birth: 03/12/1985", "03/12/1985"),
        ("D.O.B. 12.03.85", "12.03.85"),
        ("birthday: March 12th, 1985", "March 12th, 1985"),
        ("birthdate Sept. 3 1990", "Sept. 3 1990"),
        ("Né le 1er janvier 1990 à Lyon", "1er janvier 1990"),
        ("date de naissance : 14 juillet 1989", "14 juillet 1989"),
        ("geboren am 15. März 1990", "15. März 1990"),
        ("Geburtsdatum: 01.02.1975", "01.02.1975"),
        ("nacido el 12 de marzo de 1985", "12 de marzo de 1985"),
        ("nato il 3 maggio 1970", "3 maggio 1970"),
        ("geboortedatum 5 mei 1992", "5 mei 1992"),
        ("1985-03-12 (date of birth)", "1985-03-12"),
        ("born May 5", "May 5"),
    ],
)
def test_dob_positives(text, expected):
    assert found(DateOfBirthRecognizer(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "The meeting is on 2024-05-01 at noon",
        "Invoice date 12 March 1985",
        "born in 1985",
        "born 31/02/1985",  # no such day
        "born 12/13/14/15",
        "DOB: 2999-01-01",  # in the future
        "born to run, and then, much later and in a different story entirely: 12 March 1985",
        "Birthdays are fun",
    ],
)
def test_dob_negatives(text):
    assert found(DateOfBirthRecognizer(), text) == []


# --- custom patterns and deny-lists -----------------------------------------------------------------------------


def test_pattern_recognizer_whole_match_and_value_group():
    emp = PatternRecognizer("EMPLOYEE_ID", r"\bE\d{6}\b")
    assert emp.kinds == ("EMPLOYEE_ID",)
    assert found(emp, "ids E123456 and E654321, not E1234567") == ["E123456", "E654321"]
    tagged = PatternRecognizer("TICKET", r"ticket #(?P<value>\d+)", score=0.7, flags=re.IGNORECASE)
    (f,) = tagged.find("see Ticket #4521 please")
    assert (f.kind, f.text, f.score) == ("TICKET", "4521", 0.7)
    assert PatternRecognizer("X", re.compile(r"a*")).find("bbb") == []  # empty matches are not findings


def test_deny_list_whole_words_case_and_phrases():
    deny = DenyListRecognizer("PROJECT", ["Project Falcon", "Falcon", "falcon heavy", "C++", ".NET", ""])
    text = "project  falcon ships; FALCON heavy later; falcons and subfalcon no; C++ and .NET yes."
    assert found(deny, text) == ["project  falcon", "FALCON heavy", "C++", ".NET"]
    exact = DenyListRecognizer("CODENAME", ["Falcon"], case_sensitive=True)
    assert found(exact, "Falcon falcon FALCON") == ["Falcon"]
    assert DenyListRecognizer("EMPTY", []).find("anything") == []


def test_deny_list_thousands_of_entries_is_fast():
    rng = random.Random(5)
    words = {"".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(4, 12))) for _ in range(5000)}
    words |= {"acme corp", "zeppelin"}
    deny = DenyListRecognizer("CLIENT", words)
    text = ("We met ACME Corp about the Zeppelin deal; nothing else matters here. " * 15)[:1024]
    assert found(deny, text)[:2] == ["ACME Corp", "Zeppelin"]
    start = time.perf_counter()
    for _ in range(20):
        deny.find(text)
    assert (time.perf_counter() - start) / 20 < 0.005  # measured ~0.05 ms per kB


# --- the rule set and the Detector ------------------------------------------------------------------------------


def test_rule_recognizers_cover_every_builtin_kind():
    kinds = {k for r in rule_recognizers() for k in r.kinds}
    assert kinds == {EMAIL, PHONE, CREDIT_CARD, IBAN, SSN, IP_ADDRESS, URL_CREDENTIALS, API_KEY, DATE_OF_BIRTH}


def detect(text: str) -> list[tuple[str, str]]:
    findings = Detector(rule_recognizers()).detect(text)
    for f in findings:
        assert text[f.start : f.end] == f.text
    return [(f.kind, f.text) for f in findings]


def test_detector_mixed_text():
    text = (
        f"Hi, I'm reachable at jane.doe+work@example.co.uk or +44 20 7946 0958 (mobile 07700 900123).\n"
        f"Card 4111 1111 1111 1111, IBAN GB82 WEST 1234 5698 7654 32, SSN 123-45-6789, DOB: 12 March 1985.\n"
        f"Prod DB postgres://admin:s3cr3t@10.1.2.3:5432/app and host 2001:db8::1.\n"
        f"export OPENAI_API_KEY={OPENAI}\n"
        f"Version 1.2.3, order #4411, total $1,234.56 on 2024-05-01; commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b."
    )
    assert detect(text) == [
        (EMAIL, "jane.doe+work@example.co.uk"),
        (PHONE, "+44 20 7946 0958"),
        (PHONE, "07700 900123"),
        (CREDIT_CARD, "4111 1111 1111 1111"),
        (IBAN, "GB82 WEST 1234 5698 7654 32"),
        (SSN, "123-45-6789"),
        (DATE_OF_BIRTH, "12 March 1985"),
        (URL_CREDENTIALS, "postgres://admin:s3cr3t@10.1.2.3:5432/app"),
        (IP_ADDRESS, "2001:db8::1"),
        (API_KEY, OPENAI),
    ]


def test_detector_longest_span_wins_over_parts():
    # The URL contains an email-looking part and an IPv4 address; the IBAN's digits could pass for a phone run.
    assert detect("redis://user:pw@cache.example.com@192.168.0.5:6379") == [
        (URL_CREDENTIALS, "redis://user:pw@cache.example.com@192.168.0.5:6379")
    ]
    assert detect("IBAN: DE89370400440532013000") == [(IBAN, "DE89370400440532013000")]
    # An API key assigned to `password=` is one finding, not two.
    assert detect(f"password={GITHUB}") == [(API_KEY, GITHUB)]
    # IPv4-mapped IPv6: the whole address, not the embedded IPv4 part.
    assert detect("from ::ffff:192.0.2.1 today") == [(IP_ADDRESS, "::ffff:192.0.2.1")]


def test_ordinary_prose_code_and_numbers_have_no_findings():
    text = """
    2024-03-05 12:34:56,789 INFO request_id=7f3e2a1b-9c4d-4e5f-8a6b-1c2d3e4f5a6b took 123.45 ms
    Total: $1,234,567.89 for 12 345 678 units; the years 1999, 2000 and 2024; ISBN 978-3-16-148410-0.
    pip install numpy==1.26.4 torch==2.1.0 on python 3.11.7; color: #ff00aa; margin: 0 0 10px 20px;
    x = np.arange(0, 100, 0.5)[::2]; y = a[1::2]; std::vector<int> v; MAC 00:1A:2B:3C:4D:5E at 12:30:45.
    api_key = os.environ["OPENAI_API_KEY"]; token = get_token(); max_tokens = 4096; password = form["password"]
    The password must have 8 characters. He was born in 1985. Call it 2023-2024. Timestamp 1709645696123.
    UUID 550e8400-e29b-41d4-a716-446655440000, hash 5d41402abc4b2a76b9719d911017c592, user@localhost.
    Meeting on 12/03/2024 at 10:30 in room 4.2.1; see pp. 100-120; coordinates 48.8566, 2.3522.
    """
    assert detect(text) == []


def test_checksums():
    assert luhn_valid("79927398713") and not luhn_valid("79927398710")
    assert iban_valid("GB82WEST12345698765432") and not iban_valid("GB82WEST12345698765433")
    assert not iban_valid("GB82WEST1234569876543!")
    assert shannon_entropy("") == 0.0 and shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == pytest.approx(2.0)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 20000,
        "1 " * 10000,
        "1-2." * 5000,
        "a@" * 10000,
        "@a." * 10000,
        ":" * 20000,
        "1:" * 10000,
        "ab:" * 7000,
        "sk-" + "a" * 20000,
        "password=" * 2000,
        "://:" * 5000 + "@",
        "-----BEGIN RSA" + _PK + "A" * 20000,
        "DE89 " * 4000,
        "born " + "12 " * 5000,
    ],
    ids=lambda text: f"{text[:16]!r}..{len(text)}",
)
def test_pathological_inputs_stay_linear(text):
    start = time.perf_counter()
    for r in rule_recognizers():
        r.find(text)
    assert time.perf_counter() - start < 1.0
