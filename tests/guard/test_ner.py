"""The name/address tagger: shipped model, hand-written sentences, hard negatives, offsets, determinism."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from switchyard.guard.detector import Detector
from switchyard.guard.findings import EMAIL, PERSON, STREET_ADDRESS
from switchyard.guard.ner import MODEL_PATH, NERRecognizer, chunks, load

P, A = PERSON, STREET_ADDRESS

# Written for these tests (not produced by the generator): (text, [(kind, value that must be found)]).
POSITIVE = [
    ("Hi, I am Priya Raghunathan and I need to change my delivery address.", [(P, "Priya Raghunathan")]),
    ("Please call Dr. Okonkwo tomorrow about the test results.", [(P, "Okonkwo")]),
    ("Can you summarize this email from Sarah Connor about the Q3 budget?", [(P, "Sarah Connor")]),
    ("Our new tenant, Marcus Whitfield, moves in next week.", [(P, "Marcus Whitfield")]),
    ("I forwarded the complaint to Mrs. Halvorsen and to Tomasz Nowicki.", [(P, "Halvorsen"), (P, "Tomasz Nowicki")]),
    ("Is this Emily's laptop or Daniel's?", [(P, "Emily"), (P, "Daniel")]),
    ("talked to maria lopez yesterday, she wants a refund", [(P, "maria lopez")]),
    ("The contract was signed by J. R. Hartley and witnessed by Ana Beltrán.", [(P, "Hartley"), (P, "Ana Beltrán")]),
    ("My address is 1600 Pennsylvania Avenue NW, Washington, DC 20500.", [(A, "1600 Pennsylvania Avenue NW")]),
    ("Please ship it to 4821 Maple Grove Lane, Apt 12B, Portland, OR 97205.", [(A, "4821 Maple Grove Lane")]),
    ("Ship to:\nAnna Kowalski\n42 Elm Road, Flat 3\nBristol BS1 4DJ", [(P, "Anna Kowalski"), (A, "42 Elm Road")]),
    ("We moved to 17 Harbour View Terrace, Cork last spring.", [(A, "17 Harbour View Terrace")]),
    ("Bitte schicken Sie die Rechnung an Jürgen Schäfer, Lindenstraße 14, 10969 Berlin.",
     [(P, "Jürgen Schäfer"), (A, "Lindenstraße 14")]),
    ("Je m'appelle Camille Durand et j'habite au 12 rue des Lilas, 75011 Paris.",
     [(P, "Camille Durand"), (A, "12 rue des Lilas")]),
    ("Hola, me llamo Lucía Fernández y vivo en Calle Mayor 10, 28013 Madrid.",
     [(P, "Lucía Fernández"), (A, "Calle Mayor 10")]),
    ("Mi chiamo Giulia Bianchi e abito in Via Garibaldi 25, 10122 Torino.",
     [(P, "Giulia Bianchi"), (A, "Via Garibaldi 25")]),
    ("Mijn naam is Pieter de Vries en ik woon aan de Keizersgracht 123, 1015 CJ Amsterdam.",
     [(P, "Pieter de Vries"), (A, "Keizersgracht 123")]),
    ("Dear Mr. Abernathy,\nthank you for your patience.\nKind regards,\nKevin O'Brien",
     [(P, "Abernathy"), (P, "Kevin O'Brien")]),
]

NEGATIVE = [
    "I read the Wall Street Journal every Monday in May.",
    "Our brand stands for Main Street values.",
    "Apple, Google and Netflix are hiring in London and Berlin.",
    "The Software Engineer will report to the VP of Sales.",
    "Write a short poem about spring in April.",
    "Please explain how Python decorators work.",
    "The patient, a 45-year-old male, presented with chest pain.",
    "Flights to France, Spain and Italy resume in June.",
    "Microsoft released the Surface Pro on Tuesday.",
    "def get_user(name): return db.query(User).filter_by(name=name).first()",
    "Summarize the attached quarterly report in three bullet points.",
    "The Customer Success Team will reach out within two business days.",
    "We stayed in Paris for a week and then took the train to Amsterdam.",
    "Check the Terms of Service before you Sign Up.",
    "Sales grew in March and July, but fell in December.",
    "Lufthansa and Ryanair cancelled flights from Porto to Gdansk.",
    "We compared Postgres, Redis and Kafka for the queue.",
    "The Golden Gate Bridge was closed on Sunday.",
    "Kubernetes Deployment failed: ImagePullBackOff in namespace Billing.",
]


@pytest.fixture(scope="module")
def recognizer() -> NERRecognizer:
    return NERRecognizer()


def test_shipped_model_loads_once_and_is_small():
    assert os.path.getsize(MODEL_PATH) < 5_000_000
    model = load()
    assert model is load()
    assert model.meta["docs"] > 0 and "seed" in model.meta
    assert NERRecognizer.kinds == (PERSON, STREET_ADDRESS)


@pytest.mark.parametrize(("text", "expected"), POSITIVE, ids=[t[:40] for t, _ in POSITIVE])
def test_finds_names_and_addresses(recognizer, text, expected):
    found = recognizer.find(text)
    for kind, value in expected:
        start = text.index(value)
        end = start + len(value)
        assert any(f.kind == kind and f.start < end and f.end > start for f in found), (value, found)
    for f in found:  # nothing else is flagged
        assert any(f.kind == k and f.start < text.index(v) + len(v) and f.end > text.index(v) for k, v in expected), f


@pytest.mark.parametrize("text", NEGATIVE, ids=[t[:40] for t in NEGATIVE])
def test_hard_negatives_are_not_flagged(recognizer, text):
    assert recognizer.find(text) == []


def test_offsets_are_exact(recognizer):
    text = "Bitte schicken Sie die Rechnung an Jürgen Schäfer, Lindenstraße 14, 10969 Berlin."
    found = recognizer.find(text)
    assert [(f.kind, f.text) for f in found] == [(P, "Jürgen Schäfer"), (A, "Lindenstraße 14, 10969 Berlin")]
    for f in found:
        assert text[f.start:f.end] == f.text and 0 < f.score <= 1
    # titles, possessives and trailing punctuation stay outside the span
    assert [f.text for f in recognizer.find("Please call Dr. Okonkwo tomorrow.")] == ["Okonkwo"]
    assert [f.text for f in recognizer.find("Is this Emily's laptop?")] == ["Emily"]


def test_long_text_is_tagged_in_chunks_with_global_offsets(recognizer):
    filler = "The weather was fine and nothing happened that day.\n" * 120
    text = filler + "Please ship it to 4821 Maple Grove Lane, Portland, OR 97205, attention Sarah Connor.\n" + filler
    assert len(chunks(text)) > 1 and all(e - s <= 4096 for s, e in chunks(text))
    found = recognizer.find(text)
    assert {f.kind for f in found} == {P, A}
    assert all(text[f.start:f.end] == f.text for f in found)
    assert chunks("") == [(0, 0)] and chunks("x" * 5000, 4096) == [(0, 4096), (4096, 5000)]


def test_rules_win_over_names_inside_other_pii(recognizer):
    from switchyard.guard.rules import rule_recognizers

    text = "Write to sarah.connor@example.com or to Sarah Connor, 12 Elm Road, Leeds LS1 4AB."
    found = Detector([*rule_recognizers(), recognizer]).detect(text)
    kinds = [(f.kind, f.text) for f in found]
    assert (EMAIL, "sarah.connor@example.com") in kinds and (P, "Sarah Connor") in kinds
    assert any(k == A for k, _ in kinds)


def test_a_number_alone_is_never_an_address(recognizer):
    from switchyard.guard.rules import rule_recognizers

    text = "Contact person: Marit Weinhold\nTel: 01521 50601\nE-mail: rosel33@example.net"
    assert not [f for f in recognizer.find(text) if f.kind == A and not any(c.isalpha() for c in f.text)]
    found = Detector([*rule_recognizers(), recognizer]).detect(text)
    assert ("PHONE", "01521 50601") in [(f.kind, f.text) for f in found]


def test_runtime_does_not_import_faker():
    code = ("import sys; from switchyard.guard.ner import NERRecognizer; "
            "assert NERRecognizer().find('Call Anna Schmidt.'); assert 'faker' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_training_is_deterministic_for_a_seed():
    pytest.importorskip("faker")
    pytest.importorskip("pycrfsuite")
    from switchyard.guard.ner.model import NERModel
    from switchyard.guard.ner.train import build

    params = {"max_iterations": 25}
    first = build(seed=3, docs=300, params=params)
    assert first == build(seed=3, docs=300, params=params)
    assert first != build(seed=4, docs=300, params=params)
    assert NERModel(first).meta["seed"] == 3


def test_synthetic_samples_have_valid_spans_and_disjoint_templates():
    pytest.importorskip("faker")
    from switchyard.guard.ner.eval_templates import EVAL
    from switchyard.guard.ner.synth import Generator
    from switchyard.guard.ner.templates import TRAIN, parse

    assert not {t for _, t in parse(TRAIN)} & {t for _, t in parse(EVAL)}
    for split in ("train", "eval"):
        for sample in Generator(5, split).documents(200):
            ends = 0
            for start, end, _ in sample.spans:
                assert ends <= start < end <= len(sample.text)
                assert sample.text[start:end].strip() == sample.text[start:end]
                ends = end
