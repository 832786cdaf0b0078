"""Which arm of an experiment serves a request.

Assignment is a pure function of the experiment's name and the caller's unit
(the request's `user`, or its session id): hash them with BLAKE2b, read the
first 8 bytes as a number in [0, 1), and walk the variants' cumulative weights.
The same unit therefore lands on the same variant in every call, process and
gateway replica (no per-process hash seed is involved), and two experiments
split the same users independently because the name is part of the hash.

Without a unit there is nothing to stick to: the variant is drawn at random
(by weight) on every request, so such callers may see different arms."""

from __future__ import annotations

import random
from hashlib import blake2b

from ..config.schema import Experiment, Variant

_SCALE = 2.0**-64
_SEPARATOR = b"\x00"  # keeps ("ab", "c") and ("a", "bc") apart


def bucket(experiment_name: str, unit: str) -> float:
    """A uniform number in [0, 1), the same for the same (experiment, unit) everywhere."""
    digest = blake2b(experiment_name.encode() + _SEPARATOR + unit.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") * _SCALE


def assign(experiment: Experiment, unit: str | None) -> Variant:
    """The variant for `unit`: sticky when a unit is given, a weighted random draw when it is None."""
    point = random.random() if unit is None else bucket(experiment.name, unit)
    variants = experiment.variants
    threshold = point * sum(v.weight for v in variants)
    cumulative = 0.0
    for variant in variants:
        cumulative += variant.weight
        if threshold < cumulative:
            return variant
    return variants[-1]  # only reached through float rounding at the very top of the range


def sticky_unit(experiment: Experiment, user: str | None, session: str | None) -> str | None:
    """The unit to assign by: the one the experiment's `sticky` names, else the other one, else None.

    `user` is the request's `user` field, `session` the session id header. The
    API key is deliberately not a fallback: one key often serves every user of
    an application, which would put them all in one arm."""
    first, second = (user, session) if experiment.sticky == "user" else (session, user)
    return first or second or None
