from __future__ import annotations

from .base import Router

_ALPHA = 0.2  # weight of the newest observation in the moving average
_FAILURE_PENALTY_S = 30.0  # a failure counts as a very slow answer, so healthy targets go first


class LeastLatencyRouter(Router):
    """Fastest target first by an exponentially weighted moving average of
    attempt latency. Targets never tried go first, so each gets measured."""

    def __init__(self, targets):
        super().__init__(targets)
        self.ewma: dict[int, float] = {}

    def order(self):
        return sorted(self.targets, key=lambda t: self.ewma.get(id(t), -1.0))

    def observe(self, target, latency_s, ok):
        sample = latency_s if ok else _FAILURE_PENALTY_S
        old = self.ewma.get(id(target))
        self.ewma[id(target)] = sample if old is None else (1 - _ALPHA) * old + _ALPHA * sample
