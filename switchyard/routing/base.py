"""The router seam: a policy that orders an alias's targets for one request.

The gateway tries targets in the returned order (with retries per target) and
reports each outcome back through `observe`, which adaptive policies learn from."""

from __future__ import annotations

from ..config.schema import Target


class Router:
    def __init__(self, targets: list[Target]):
        self.targets = targets

    def order(self) -> list[Target]:
        raise NotImplementedError

    def observe(self, target: Target, latency_s: float, ok: bool) -> None:
        """Called after every attempt; the default policy ignores it."""
