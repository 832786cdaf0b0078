"""The detector built from the config's privacy section."""

from __future__ import annotations

from switchyard.config.schema import PrivacyConfig
from switchyard.guard.build import build_detector

TEXT = "Jane Smith lives at 12 Baker Street, London. Mail jane@x.org about project Nightjar, EMP-123456."
CUSTOM = {"patterns": [{"kind": "EMPLOYEE_ID", "regex": r"EMP-\d{6}"}],
          "deny_lists": [{"kind": "PROJECT", "words": ["nightjar"]}]}


def kinds(**config) -> list[str]:
    return [f.kind for f in build_detector(PrivacyConfig(**config, **CUSTOM)).detect(TEXT)]


def test_every_kind_by_default_plus_the_custom_ones():
    assert kinds() == ["PERSON", "STREET_ADDRESS", "EMAIL", "PROJECT", "EMPLOYEE_ID"]


def test_detect_limits_the_built_in_kinds_even_within_the_name_model():
    assert kinds(detect=["PERSON"]) == ["PERSON", "PROJECT", "EMPLOYEE_ID"]
    assert kinds(detect=["STREET_ADDRESS", "EMAIL"]) == ["STREET_ADDRESS", "EMAIL", "PROJECT", "EMPLOYEE_ID"]
    assert kinds(detect=[]) == ["PROJECT", "EMPLOYEE_ID"]
