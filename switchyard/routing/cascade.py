from __future__ import annotations

from .fallback import FallbackRouter


class CascadeRouter(FallbackRouter):
    """Targets in the order listed, cheapest first: each answer must pass the alias's
    checks (switchyard/routing/checked.py) or the next, stronger target is asked."""
