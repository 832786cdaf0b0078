from __future__ import annotations

import json
import time

import click

from .common import config_option, since_timestamp, store_for, table


@click.command()
@click.option("--since", default="1d", show_default=True, help="How far back: 30m, 12h, 1d, 4w.")
@click.option("-n", "--limit", default=1000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@config_option
def audit(since, limit, as_json, config_path) -> None:
    """Requests in which personal or secret data was found, and what the policy did."""
    start = since_timestamp(since)
    store = store_for(config_path)
    try:
        rows = store.audit(since=start, limit=limit)
    finally:
        store.close()
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    for row in rows:
        row["time"] = time.strftime("%m-%d %H:%M:%S", time.localtime(row["ts"]))
        row["found"] = ", ".join(f"{kind} {n}" for kind, n in row["pii"].items()) or "-"
        row["key"] = row["key_name"]
    click.echo(table(rows, ["time", "id", "key", "team", "alias", "target", "status", "privacy", "found"]))
