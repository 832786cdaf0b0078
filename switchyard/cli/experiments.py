from __future__ import annotations

import json
import time

import click

from ..config.schema import Experiment, LoadedConfig
from ..experiments.report import report as build_report
from .common import config_option, load, open_log, since_timestamp, table

COLUMNS = ["variant", "weight", "requests", "share", "success", "feedback", "score", "positive", "p50_ms",
           "mean_ms", "cost_mean", "cost_total"]


@click.group()
def experiments() -> None:
    """A/B experiments declared on aliases (`experiment:`) and their results."""


def _configured(config: LoadedConfig, name: str) -> Experiment | None:
    return next((a.experiment for a in config.models.values()
                 if a.experiment is not None and a.experiment.name == name), None)


@experiments.command()
@click.argument("name")
@click.option("--since", default="30d", show_default=True, help="How far back: 30m, 12h, 7d, 4w.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@config_option
def report(name: str, since: str, as_json: bool, config_path: str | None) -> None:
    """Per-variant requests, success and feedback rates, scores, latency and cost, with 95% intervals."""
    start = since_timestamp(since)
    config = load(config_path, require_env=False)
    experiment = _configured(config, name)
    store = open_log(config)
    try:
        result = build_report(store, name, start, experiment)
    finally:
        store.close()
    if experiment is None and not result["requests"]:
        raise click.ClickException(f"no experiment named {name!r} in {config.source} or in the request log")
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(table([_cells(v) for v in result["variants"]], COLUMNS))
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(start)) if start else "the start"
    click.echo(f"\n{result['requests']} requests since {when}. Intervals are 95% (Wilson for rates, t for "
               f"scores); positive = label in good/positive/thumbs_up/up/yes/correct.")
    if experiment is None:
        click.echo(f"(experiment {name!r} is no longer in {config.source}: weights unknown)")


def _pct(value: float | None) -> str | None:
    return None if value is None else f"{100 * value:.1f}%"


def _rate(rate: float | None, ci) -> str | None:
    if rate is None:
        return None
    return f"{_pct(rate)} [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def _cells(v: dict) -> dict:
    score = None
    if v["score_mean"] is not None:
        score = f"{v['score_mean']:.2f}" + (f" [{v['score_ci'][0]:.2f}, {v['score_ci'][1]:.2f}]"
                                            if v["score_ci"] else "") + f" n={v['scores']}"
    return {
        "variant": v["variant"], "weight": _pct(v["weight_share"]), "requests": v["requests"],
        "share": _pct(v["share"]), "success": _rate(v["success_rate"], v["success_ci"]),
        "feedback": None if v["feedback_rate"] is None else f"{v['feedback']} ({_pct(v['feedback_rate'])})",
        "score": score,
        "positive": None if v["positive_rate"] is None else f"{_rate(v['positive_rate'], v['positive_ci'])} "
                                                            f"n={v['labels']}",
        "p50_ms": None if v["latency_p50_ms"] is None else round(v["latency_p50_ms"], 1),
        "mean_ms": None if v["latency_mean_ms"] is None else round(v["latency_mean_ms"], 1),
        "cost_mean": v["cost_mean_usd"], "cost_total": v["cost_total_usd"],
    }
