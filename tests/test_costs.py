"""Price resolution and cost arithmetic."""

from __future__ import annotations

import pytest

from switchyard.config import parse_config
from switchyard.config.schema import Price, Target
from switchyard.costs import FREE, PriceTable, shipped_prices
from switchyard.types import Usage

CONFIG = """\
providers:
  openai: {kind: openai}
  azure: {kind: openai, base_url: "http://127.0.0.1:1/v1"}
  claude: {kind: anthropic}
  ollama: {kind: openai, base_url: "http://127.0.0.1:11434/v1", local: true}
models:
  - name: chat
    targets:
      - {provider: openai, model: gpt-4o}
      - {provider: azure, model: gpt-4o}
      - {provider: openai, model: gpt-4o-2024-08-06}
      - {provider: openai, model: gpt-4o-mini}
      - {provider: openai, model: gpt-4o-mini-2024-07-18}
      - {provider: claude, model: claude-sonnet-4-5}
      - {provider: ollama, model: llama3.2:3b}
      - {provider: ollama, model: llama-3.1-8b}
      - {provider: openai, model: my-finetune}
      - {provider: openai, model: gpt-4o-minibus}
prices:
  azure/gpt-4o: {input: 1.0, output: 2.0}
  claude-sonnet-4-5: {input: 30.0, output: 150.0}
  llama-3.1-8b: {input: 0.05, output: 0.05}
"""


@pytest.fixture
def table() -> PriceTable:
    return PriceTable(parse_config(CONFIG, "f.yaml"))


def price(table: PriceTable, label: str) -> Price:
    provider, model = label.split("/", 1)
    return table.price(Target(provider=provider, model=model))


def test_shipped_table_loads():
    shipped = shipped_prices()
    assert shipped["gpt-4o"] == Price(input=2.5, output=10.0)
    assert shipped["gpt-4o-mini"] == Price(input=0.15, output=0.6)
    assert all(p.input >= 0 and p.output >= 0 for p in shipped.values())


def test_config_provider_model_beats_config_model_beats_shipped(table):
    # "provider/model" in config
    assert price(table, "azure/gpt-4o") == Price(input=1.0, output=2.0)
    # the same model on another provider is not affected by that entry: shipped price
    assert price(table, "openai/gpt-4o") == shipped_prices()["gpt-4o"]
    # "model" in config beats the shipped table
    assert price(table, "claude/claude-sonnet-4-5") == Price(input=30.0, output=150.0)


def test_provider_model_beats_model():
    config = parse_config(CONFIG + "  claude/claude-sonnet-4-5: {input: 7.0, output: 8.0}\n", "f.yaml")
    t = PriceTable(config)
    assert price(t, "claude/claude-sonnet-4-5") == Price(input=7.0, output=8.0)


def test_dated_variant_priced_as_base_model_not_as_longer_sibling(table):
    assert price(table, "openai/gpt-4o-2024-08-06") == shipped_prices()["gpt-4o"]
    assert price(table, "openai/gpt-4o-2024-08-06") != shipped_prices()["gpt-4o-mini"]
    assert price(table, "openai/gpt-4o-mini") == shipped_prices()["gpt-4o-mini"]
    # the longest matching prefix wins: a dated mini is a mini
    assert price(table, "openai/gpt-4o-mini-2024-07-18") == shipped_prices()["gpt-4o-mini"]
    # a prefix only matches at a "-" boundary
    assert price(table, "openai/gpt-4o-minibus") == shipped_prices()["gpt-4o"]


def test_local_providers_free_unless_priced(table):
    assert price(table, "ollama/llama3.2:3b") == FREE
    assert price(table, "ollama/llama-3.1-8b") == Price(input=0.05, output=0.05)


def test_local_provider_is_free_even_for_a_shipped_model_name():
    config = parse_config("providers:\n  vllm: {kind: openai, local: true}\n"
                          "models:\n  - name: m\n    targets: [{provider: vllm, model: gpt-4o}]\n", "f.yaml")
    assert PriceTable(config).price(Target(provider="vllm", model="gpt-4o")) == FREE


def test_unknown_remote_model_is_free(table):
    assert price(table, "openai/my-finetune") == FREE


def test_targets_outside_the_config_resolve_too(table):
    assert price(table, "openai/gpt-4.1-mini-2025-04-14") == shipped_prices()["gpt-4.1-mini"]
    assert price(table, "unknown-provider/gpt-4o") == shipped_prices()["gpt-4o"]


def test_cost_arithmetic(table):
    target = Target(provider="azure", model="gpt-4o")  # 1.0 in, 2.0 out per 1M
    usage = Usage(prompt_tokens=1_000, completion_tokens=500, total_tokens=1_500)
    assert table.cost(target, usage) == pytest.approx((1_000 * 1.0 + 500 * 2.0) / 1_000_000)
    big = Usage(prompt_tokens=2_000_000, completion_tokens=1_000_000, total_tokens=3_000_000)
    assert table.cost(Target(provider="openai", model="gpt-4o"), big) == pytest.approx(2 * 2.5 + 1 * 10.0)
    assert table.cost(target, None) == 0.0
    assert table.cost(target, Usage()) == 0.0
    assert table.cost(Target(provider="ollama", model="llama3.2:3b"), big) == 0.0
