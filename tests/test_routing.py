"""Routing policies: the order in which an alias's targets are tried."""

from __future__ import annotations

import random
from collections import Counter

from switchyard.config.schema import Target
from switchyard.plugins import router_classes
from switchyard.routing.fallback import FallbackRouter
from switchyard.routing.least_latency import LeastLatencyRouter
from switchyard.routing.loadbalance import LoadBalanceRouter


def targets(*spec: tuple[str, float]) -> list[Target]:
    return [Target(provider=p, model="m", weight=w) for p, w in spec]


def labels(order: list[Target]) -> list[str]:
    return [t.provider for t in order]


def test_builtin_strategies_are_registered():
    found = router_classes()
    assert found["fallback"] is FallbackRouter
    assert found["loadbalance"] is LoadBalanceRouter
    assert found["least-latency"] is LeastLatencyRouter


def test_fallback_keeps_config_order():
    ts = targets(("c", 1), ("a", 5), ("b", 0))
    router = FallbackRouter(ts)
    for _ in range(5):
        assert labels(router.order()) == ["c", "a", "b"]
        router.observe(ts[0], 0.1, False)  # outcomes do not change a fallback order
    assert labels(router.order()) == ["c", "a", "b"]


def test_loadbalance_weights_3_to_1():
    ts = targets(("a", 3), ("b", 1))
    router = LoadBalanceRouter(ts, rng=random.Random(1234))
    draws = 20_000
    first = Counter()
    for _ in range(draws):
        order = router.order()
        assert sorted(labels(order)) == ["a", "b"]
        first[order[0].provider] += 1
    assert abs(first["a"] / draws - 0.75) <= 0.02, first
    assert abs(first["b"] / draws - 0.25) <= 0.02, first


def test_loadbalance_three_targets_proportional_and_complete():
    ts = targets(("a", 2), ("b", 1), ("c", 1))
    router = LoadBalanceRouter(ts, rng=random.Random(7))
    draws = 20_000
    first = Counter()
    for _ in range(draws):
        order = router.order()
        assert sorted(labels(order)) == ["a", "b", "c"]
        first[order[0].provider] += 1
    assert abs(first["a"] / draws - 0.50) <= 0.02, first
    assert abs(first["b"] / draws - 0.25) <= 0.02, first
    assert abs(first["c"] / draws - 0.25) <= 0.02, first


def test_loadbalance_zero_weight_comes_last():
    ts = targets(("zero", 0), ("a", 1), ("b", 2))
    router = LoadBalanceRouter(ts, rng=random.Random(99))
    seen_first = set()
    for _ in range(2_000):
        order = labels(router.order())
        assert len(order) == 3 and set(order) == {"zero", "a", "b"}
        assert order[-1] == "zero"
        seen_first.add(order[0])
    assert seen_first == {"a", "b"}


def test_loadbalance_all_zero_weights_still_gives_every_target():
    ts = targets(("a", 0), ("b", 0))
    router = LoadBalanceRouter(ts, rng=random.Random(3))
    for _ in range(100):
        assert sorted(labels(router.order())) == ["a", "b"]


def test_loadbalance_does_not_mutate_config_order():
    ts = targets(("a", 1), ("b", 1), ("c", 1))
    router = LoadBalanceRouter(ts, rng=random.Random(5))
    for _ in range(50):
        router.order()
    assert labels(ts) == ["a", "b", "c"]
    assert labels(router.targets) == ["a", "b", "c"]


def test_least_latency_untried_first_then_fastest():
    ts = targets(("a", 1), ("b", 1), ("c", 1))
    router = LeastLatencyRouter(ts)
    # nothing measured: every target is untried, offered in config order
    assert labels(router.order()) == ["a", "b", "c"]

    router.observe(ts[0], 0.50, True)
    router.observe(ts[2], 0.10, True)
    # b was never tried, so it goes first to get measured; then the fastest
    assert labels(router.order()) == ["b", "c", "a"]

    router.observe(ts[1], 0.30, True)
    assert labels(router.order()) == ["c", "b", "a"]


def test_least_latency_ewma_moves_gradually():
    ts = targets(("a", 1), ("b", 1))
    router = LeastLatencyRouter(ts)
    router.observe(ts[0], 0.10, True)
    router.observe(ts[1], 0.20, True)
    assert labels(router.order()) == ["a", "b"]
    # one slow answer from a does not outweigh its history (0.8 * 0.10 + 0.2 * 0.40 = 0.16 < 0.20)
    router.observe(ts[0], 0.40, True)
    assert labels(router.order()) == ["a", "b"]
    # a few more do
    for _ in range(3):
        router.observe(ts[0], 0.40, True)
    assert labels(router.order()) == ["b", "a"]


def test_least_latency_failure_pushes_target_back():
    ts = targets(("a", 1), ("b", 1))
    router = LeastLatencyRouter(ts)
    router.observe(ts[0], 0.05, True)
    router.observe(ts[1], 1.00, True)
    assert labels(router.order()) == ["a", "b"]
    # a fails fast: a failure counts as very slow, however quick the error was
    router.observe(ts[0], 0.01, False)
    assert labels(router.order()) == ["b", "a"]


def test_least_latency_targets_with_equal_config_are_distinct():
    # two targets that compare equal (same provider, model, weight) are still measured apart
    ts = [Target(provider="p", model="m"), Target(provider="p", model="m")]
    router = LeastLatencyRouter(ts)
    router.observe(ts[1], 0.01, True)
    order = router.order()
    assert order[0] is ts[0] and order[1] is ts[1]
