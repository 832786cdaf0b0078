"""Registers the built-in cascade checks."""

from ..hookspecs import hookimpl
from .confidence import ConfidenceCheck
from .judge import JudgeCheck
from .length import LengthCheck
from .refusal import RefusalCheck
from .regex import RegexCheck
from .schema import SchemaCheck


@hookimpl
def register_checks(register):
    for check in (SchemaCheck, RegexCheck, RefusalCheck, LengthCheck, ConfidenceCheck, JudgeCheck):
        register(check)
