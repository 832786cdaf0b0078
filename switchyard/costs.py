"""Prices per target: the config's `prices` first (by "provider/model", then
"model"), then the table shipped in switchyard/data/prices.yaml for remote
targets. Local targets cost nothing unless the config prices them."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml

from .config.schema import LoadedConfig, Price, Target
from .types import Usage

FREE = Price(input=0.0, output=0.0)


@cache
def shipped_prices() -> dict[str, Price]:
    text = resources.files("switchyard").joinpath("data/prices.yaml").read_text()
    return {name: Price(**p) for name, p in yaml.safe_load(text).items()}


def _by_prefix(table: dict[str, Price], model: str) -> Price | None:
    if model in table:
        return table[model]
    # the longest name that the model starts with, at a "-" boundary: "gpt-4o-2024-08-06" → "gpt-4o"
    best = max((n for n in table if model.startswith(n + "-")), key=len, default=None)
    return table[best] if best else None


class PriceTable:
    """Resolved once at start-up; the request path only does a dict lookup."""

    def __init__(self, config: LoadedConfig):
        self.config = config
        self._cache: dict[str, Price] = {}
        for alias in config.models.values():
            for target in alias.targets:
                self._cache[target.label] = self._resolve(target)

    def _resolve(self, target: Target) -> Price:
        configured = self.config.prices
        found = _by_prefix(configured, target.label) or _by_prefix(configured, target.model)
        if found is not None:
            return found
        provider = self.config.providers.get(target.provider)
        if provider is not None and provider.local:
            return FREE
        return _by_prefix(shipped_prices(), target.model) or FREE

    def price(self, target: Target) -> Price:
        return self._cache.get(target.label) or self._resolve(target)

    def cost(self, target: Target, usage: Usage | None) -> float:
        if usage is None:
            return 0.0
        p = self.price(target)
        return (usage.prompt_tokens * p.input + usage.completion_tokens * p.output) / 1_000_000
