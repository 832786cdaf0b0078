from __future__ import annotations

import click

from .common import config_option, since_timestamp, store_for, table


@click.command()
@click.option("--by", type=click.Choice(["key", "team", "model", "target"]), default="model", show_default=True)
@click.option("--since", default="7d", show_default=True, help="How far back: 30m, 12h, 7d, 4w.")
@config_option
def costs(by: str, since: str, config_path: str | None) -> None:
    """Spend and tokens from the request log, grouped by key, team, model or target."""
    start = since_timestamp(since)  # a bad --since fails before the database is opened (or created)
    store = store_for(config_path)
    try:
        rows = store.costs(by=by, since=start)
    finally:
        store.close()
    total = {by: "TOTAL", **{c: sum(r[c] or 0 for r in rows) for c in
                             ("requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd")}}
    click.echo(table([*rows, total] if rows else rows,
                     [by, "requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd"]))
