from __future__ import annotations

import random

from .base import Router


class LoadBalanceRouter(Router):
    """Weighted random choice of the first target; the rest follow as fallbacks
    in weighted random order too, so one failing target does not pin traffic."""

    def __init__(self, targets, rng: random.Random | None = None):
        super().__init__(targets)
        self.rng = rng or random.Random()

    def order(self):
        # Efraimidis-Spirakis: sort by u^(1/w); a weighted sample without replacement in one pass.
        # Zero-weight targets only serve as last-resort fallbacks.
        def key(target):
            if target.weight <= 0:
                return -1.0
            return self.rng.random() ** (1.0 / target.weight)

        return sorted(self.targets, key=key, reverse=True)
