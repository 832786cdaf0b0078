from __future__ import annotations

import time

import click

from ..keys import hash_key, new_key
from ..store.base import KeyExists, KeyRecord
from .common import config_option, load, open_log, store_for, table


@click.group()
def keys() -> None:
    """Virtual keys stored in the gateway's database."""


@keys.command()
@click.option("--name", required=True, help="A unique name for the key (shown in logs and costs).")
@click.option("--models", default="*", show_default=True, help="Comma-separated aliases the key may use.")
@click.option("--team", help="Team to attribute costs to.")
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute allowed.")
@config_option
def create(name, models, team, rpm, config_path) -> None:
    """Create a key and print it once; only its hash is stored."""
    config = load(config_path, require_env=False)
    allowed = [m.strip() for m in models.split(",") if m.strip()]
    unknown = [m for m in allowed if m != "*" and m not in config.models]
    if unknown:
        raise click.ClickException(f"no alias named {', '.join(unknown)} in {config.source}")
    store = open_log(config)
    value = new_key()
    try:
        store.add_key(KeyRecord(name, hash_key(value), allowed, team, rpm, time.time()))
    except KeyExists:
        raise click.ClickException(f"a key named {name!r} exists already") from None
    finally:
        store.close()
    click.echo(value)
    click.echo(f"(key {name!r} created; it is not shown again)", err=True)


@keys.command("list")
@config_option
def list_keys(config_path) -> None:
    """List stored keys (never their values)."""
    store = store_for(config_path)
    try:
        rows = [{"name": k.name, "models": ",".join(k.models), "team": k.team, "rpm": k.rpm,
                 "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(k.created)),
                 "revoked": "yes" if k.revoked else ""} for k in store.list_keys()]
    finally:
        store.close()
    click.echo(table(rows, ["name", "models", "team", "rpm", "created", "revoked"]))


@keys.command()
@click.argument("name")
@config_option
def revoke(name, config_path) -> None:
    """Revoke a stored key by name."""
    store = store_for(config_path)
    try:
        if not store.revoke_key(name):
            raise click.ClickException(f"no active key named {name!r}")
    finally:
        store.close()
    click.echo(f"revoked {name!r}")
