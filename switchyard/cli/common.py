"""What the commands share: finding and loading the config, opening the store,
reading durations, and printing tables."""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from ..config import LoadedConfig, load_config
from ..errors import ConfigError
from ..store import Store, open_store

DEFAULT_CONFIG = "switchyard.yaml"

config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False), envvar="SWITCHYARD_CONFIG",
    help=f"Config file (default: $SWITCHYARD_CONFIG or ./{DEFAULT_CONFIG}).")


def load(config_path: str | None, *, require_env: bool = True) -> LoadedConfig:
    """Load the config or exit with one readable line.

    Commands that only read the log or list aliases pass require_env=False, so
    they work without the providers' secrets in the environment."""
    path = config_path or DEFAULT_CONFIG
    if config_path is None and not Path(path).exists():
        raise click.ClickException(f"no config file: pass --config FILE or create ./{DEFAULT_CONFIG} "
                                   "(see docs/configuration.md)")
    try:
        return load_config(path, require_env=require_env)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def opening_log(config: LoadedConfig) -> Iterator[None]:
    """A request log that cannot be opened (its folder missing, a file that is no
    database) as one readable line rather than a traceback."""
    try:
        yield
    except sqlite3.Error as exc:  # the store is SQLite (store.kind)
        raise click.ClickException(f"{config.store.path}: cannot open the request log: {exc}") from None


def open_log(config: LoadedConfig) -> Store:
    store = open_store(config)
    with opening_log(config):
        store.open()
    return store


def store_for(config_path: str | None) -> Store:
    return open_log(load(config_path, require_env=False))


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def since_timestamp(value: str | None) -> float | None:
    """'7d', '12h', '30m' → the Unix time that long ago."""
    if not value:
        return None
    m = _DURATION.match(value.strip())
    if not m:
        raise click.ClickException(f"--since: {value!r} is not a duration such as 30m, 12h or 7d")
    return time.time() - float(m.group(1)) * _UNIT_S[m.group(2)]


def table(rows: list[dict], columns: list[str]) -> str:
    if not rows:
        return "(nothing)"
    cells = [[_fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    for row in cells:
        lines.append("  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6f}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def _numeric(value: str) -> bool:
    return value.replace(".", "", 1).replace("-", "", 1).isdigit()


def server_url(config: LoadedConfig | None) -> str:
    if os.environ.get("SWITCHYARD_URL"):
        return os.environ["SWITCHYARD_URL"].rstrip("/")
    if config is None:
        return "http://127.0.0.1:4000"
    host = config.server.host if config.server.host not in ("0.0.0.0", "::") else "127.0.0.1"
    return f"http://{host}:{config.server.port}"
