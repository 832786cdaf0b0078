from __future__ import annotations

import json
import time

import click

from .common import config_option, since_timestamp, store_for

_COLUMNS = ("time", "id", "key", "model", "target", "status", "ms", "ttft", "tokens", "cost", "note")


def _line(r: dict) -> str:
    failed = [a for a in r["attempts"] if a.get("error")]
    note = r["error"] or (f"{len(failed)} failed attempt(s): {failed[-1]['error']}" if failed else "")
    ttft = f"{r['ttft_ms']:.0f}" if r["ttft_ms"] is not None else "-"
    return (f"{time.strftime('%m-%d %H:%M:%S', time.localtime(r['ts']))}  {r['id']}  {r['key_name'] or '-'}  "
            f"{r['alias'] or '-'}  {r['target'] or '-'}  {r['status']}  {r['latency_ms']:.0f}ms  ttft={ttft}  "
            f"{r['prompt_tokens']}+{r['completion_tokens']}tok  ${r['cost_usd']:.6f}  {note}").rstrip()


@click.command()
@click.option("-n", "--count", default=20, show_default=True, help="How many recent requests.")
@click.option("--since", help="Only requests newer than this: 30m, 12h, 7d.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new requests as they are logged.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@config_option
def logs(count, since, follow, as_json, config_path) -> None:
    """Show the request log, newest last."""
    start = since_timestamp(since)  # a bad --since fails before the database is opened (or created)
    store = store_for(config_path)

    def show(rows: list[dict]) -> int:
        for r in rows:
            if as_json:
                r = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v) for k, v in r.items()}
                click.echo(json.dumps(r))
            else:
                click.echo(_line(r))
        return rows[-1]["rowid"] if rows else 0

    try:
        last = show(store.requests(since=start, limit=count))
        while follow:
            time.sleep(1)
            last = show(store.requests(after_rowid=last, limit=1000)) or last
    except KeyboardInterrupt:
        pass
    finally:
        store.close()
