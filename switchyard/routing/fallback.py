from __future__ import annotations

from .base import Router


class FallbackRouter(Router):
    """Targets in the order the config lists them."""

    def order(self):
        return self.targets
