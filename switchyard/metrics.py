"""Prometheus metrics, one registry per app (no import-time global state)."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from .types import RequestRecord

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Metrics:
    def __init__(self, aliases: Iterable[str] = ()):
        self.registry = CollectorRegistry()
        # label values come from the config only: a client naming unknown models must not grow the series
        self.aliases = frozenset(aliases)
        labels = ("endpoint", "alias", "target", "status")
        self.requests = Counter("switchyard_requests", "Requests answered", labels, registry=self.registry)
        self.latency = Histogram("switchyard_request_duration_seconds", "Time to the whole answer",
                                 ("endpoint", "alias"), buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.ttft = Histogram("switchyard_time_to_first_token_seconds", "Streams: time to the first chunk",
                              ("alias",), buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.tokens = Counter("switchyard_tokens", "Tokens used", ("alias", "target", "kind"),
                              registry=self.registry)
        self.cost = Counter("switchyard_cost_usd", "Cost in USD", ("alias", "target", "team"),
                            registry=self.registry)
        self.upstream_errors = Counter("switchyard_upstream_errors", "Failed upstream attempts",
                                       ("target", "status"), registry=self.registry)
        self._children: dict[tuple, tuple] = {}

    def observe(self, r: RequestRecord) -> None:
        key = (r.endpoint, r.alias if r.alias in self.aliases else "-", r.target or "-", r.status, r.team or "-")
        children = self._children.get(key)
        if children is None:  # label lookups are slow; keep the children per label set
            endpoint, alias, target, status, team = key
            children = (self.requests.labels(endpoint, alias, target, str(status)),
                        self.latency.labels(endpoint, alias),
                        self.tokens.labels(alias, target, "prompt"),
                        self.tokens.labels(alias, target, "completion"),
                        self.cost.labels(alias, target, team),
                        self.ttft.labels(alias))
            self._children[key] = children
        requests, latency, prompt, completion, cost, ttft = children
        requests.inc()
        latency.observe(r.latency_ms / 1000)
        if r.prompt_tokens:
            prompt.inc(r.prompt_tokens)
        if r.completion_tokens:
            completion.inc(r.completion_tokens)
        if r.cost_usd:
            cost.inc(r.cost_usd)
        if r.ttft_ms is not None:
            ttft.observe(r.ttft_ms / 1000)
        for attempt in r.attempts:
            if attempt.error is not None and attempt.status is not None:  # a step skipped on purpose has none
                self.upstream_errors.labels(attempt.target, str(attempt.status or "-")).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
