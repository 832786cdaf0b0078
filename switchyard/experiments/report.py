"""Per-variant results of an experiment, from the request log and its feedback.

For each variant:

- requests, and their share of the experiment's traffic (next to the configured
  weight's share, when the experiment is in the config: a large gap means
  assignment or logging is broken, not that one arm is better);
- success rate: requests answered with a status below 400, with a 95% Wilson
  score interval (sound for small counts and rates near 0 or 1);
- feedback: how many requests received any feedback, and that as a rate;
- mean score over every score given (a request rated twice counts twice), with
  a 95% Student-t interval (no interval below two scores);
- positive rate over every label given, with a 95% Wilson interval: a label is
  positive when, lowercased, it is one of POSITIVE_LABELS; every other label
  counts as not positive. Shown only when some label was given;
- latency p50 and mean (ms), cost mean and total (USD).

Intervals describe each variant alone; that two intervals overlap does not
prove the variants equal, and peeking at a running experiment inflates false
positives. Treat the intervals as a guide, not a verdict."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field

from ..config.schema import Experiment

POSITIVE_LABELS = frozenset({"good", "positive", "thumbs_up", "up", "yes", "correct"})

Z95 = 1.959963984540054  # the normal distribution's 97.5% quantile
# Student t 97.5% quantiles for 1..30 degrees of freedom; beyond 30 a Cornish-Fisher expansion
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def is_positive(label: str) -> bool:
    return label.strip().lower() in POSITIVE_LABELS


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """The Wilson score interval for a proportion (95% by default); None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, center - half)
    high = 1.0 if successes >= n else min(1.0, center + half)
    return low, high


def t95(df: int) -> float:
    """Student t's 97.5% quantile for `df` degrees of freedom (two-sided 95%)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if df <= len(_T95):
        return _T95[df - 1]
    z = Z95
    return (z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * df**3))


def mean_interval(values: list[float]) -> tuple[float, float] | None:
    """A 95% t interval for the mean of `values`; None with fewer than two."""
    n = len(values)
    if n < 2:
        return None
    mean = statistics.fmean(values)
    half = t95(n - 1) * statistics.stdev(values) / math.sqrt(n)
    return mean - half, mean + half


@dataclass(slots=True)
class VariantStats:
    variant: str
    requests: int = 0
    share: float | None = None  # of the experiment's requests in the period
    weight_share: float | None = None  # the configured weight over the sum of weights
    successes: int = 0
    success_rate: float | None = None
    success_ci: tuple[float, float] | None = None
    feedback: int = 0  # requests with any feedback
    feedback_rate: float | None = None
    scores: int = 0  # scores given
    score_mean: float | None = None
    score_ci: tuple[float, float] | None = None
    labels: int = 0  # labels given
    positive: int = 0
    positive_rate: float | None = None
    positive_ci: tuple[float, float] | None = None
    latency_p50_ms: float | None = None
    latency_mean_ms: float | None = None
    cost_mean_usd: float | None = None
    cost_total_usd: float = 0.0
    label_counts: dict[str, int] = field(default_factory=dict)


def summarize(rows: list[dict], experiment: Experiment | None = None) -> list[VariantStats]:
    """Per-variant statistics of `experiment_rows` output: configured variants first, in
    their order (also when they have no requests), then any others the log holds, by name."""
    groups: dict[str, list[dict]] = {}
    weights: dict[str, float] = {}
    if experiment is not None:
        total_weight = sum(v.weight for v in experiment.variants)
        for v in experiment.variants:
            groups[v.name] = []
            weights[v.name] = v.weight / total_weight
    others: dict[str, list[dict]] = {}
    for row in rows:
        name = row["variant"] or "-"
        (groups if name in groups else others).setdefault(name, []).append(row)
    groups.update(sorted(others.items()))
    return [_stats(name, group, len(rows), weights.get(name)) for name, group in groups.items()]


def _stats(name: str, rows: list[dict], total: int, weight_share: float | None) -> VariantStats:
    s = VariantStats(name, requests=len(rows), weight_share=weight_share)
    if total:
        s.share = len(rows) / total
    s.cost_total_usd = math.fsum(r["cost_usd"] or 0.0 for r in rows)
    if not rows:
        return s
    n = len(rows)
    s.successes = sum(1 for r in rows if r["status"] < 400)
    s.success_rate, s.success_ci = s.successes / n, wilson(s.successes, n)
    s.feedback = sum(1 for r in rows if r["feedback"])
    s.feedback_rate = s.feedback / n
    scores = [x for r in rows for x in r["scores"]]
    s.scores = len(scores)
    if scores:
        s.score_mean, s.score_ci = statistics.fmean(scores), mean_interval(scores)
    for r in rows:
        for label, count in r["labels"].items():
            s.label_counts[label] = s.label_counts.get(label, 0) + count
    s.labels = sum(s.label_counts.values())
    s.positive = sum(c for label, c in s.label_counts.items() if is_positive(label))
    if s.labels:
        s.positive_rate, s.positive_ci = s.positive / s.labels, wilson(s.positive, s.labels)
    latencies = [r["latency_ms"] for r in rows if r["latency_ms"] is not None]
    if latencies:
        s.latency_p50_ms, s.latency_mean_ms = statistics.median(latencies), statistics.fmean(latencies)
    s.cost_mean_usd = s.cost_total_usd / n
    return s


def report(store, name: str, since: float | None = None, experiment: Experiment | None = None) -> dict:
    """The whole report as plain data (what `--json` prints)."""
    rows = store.experiment_rows(name, since)
    return {"experiment": name, "since": since, "requests": len(rows),
            "variants": [asdict(s) for s in summarize(rows, experiment)]}
