"""Schema changes, append-only: add a new function, never edit an applied one.
Applied names are recorded in `_migrations`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = []


def migration(fn: Callable[[sqlite3.Connection], None]):
    MIGRATIONS.append(fn)
    return fn


@migration
def m001_requests(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE requests (
            id TEXT PRIMARY KEY,
            ts REAL NOT NULL,
            endpoint TEXT NOT NULL,
            key_name TEXT,
            team TEXT,
            alias TEXT,
            target TEXT,
            status INTEGER NOT NULL,
            error TEXT,
            latency_ms REAL,
            ttft_ms REAL,
            prompt_tokens INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            stream INTEGER NOT NULL DEFAULT 0,
            attempts TEXT,
            request_body BLOB,
            response_body BLOB
        )""")
    db.execute("CREATE INDEX requests_ts ON requests(ts)")


@migration
def m002_keys(db: sqlite3.Connection) -> None:
    db.execute("""
        CREATE TABLE keys (
            name TEXT PRIMARY KEY,
            key_hash TEXT NOT NULL UNIQUE,
            models TEXT NOT NULL,
            team TEXT,
            rpm INTEGER,
            created REAL NOT NULL,
            revoked INTEGER NOT NULL DEFAULT 0
        )""")


@migration
def m003_privacy_audit(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE requests ADD COLUMN pii TEXT")
    db.execute("ALTER TABLE requests ADD COLUMN privacy TEXT")


@migration
def m004_product_logic(db: sqlite3.Connection) -> None:
    for column in ("prompt TEXT", "prompt_version TEXT", "experiment TEXT", "variant TEXT", "structured TEXT"):
        db.execute(f"ALTER TABLE requests ADD COLUMN {column}")
    db.execute("""
        CREATE TABLE feedback (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            request_id TEXT NOT NULL,
            ts REAL NOT NULL,
            score REAL,
            label TEXT,
            comment TEXT
        )""")
    db.execute("CREATE INDEX feedback_request ON feedback(request_id)")
    db.execute("CREATE INDEX requests_experiment ON requests(experiment, variant)")


def migrate(db: sqlite3.Connection) -> None:
    """Apply what is missing in one write transaction, so concurrent processes migrate once."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied REAL NOT NULL)")
        done = {row[0] for row in db.execute("SELECT name FROM _migrations")}
        for fn in MIGRATIONS:
            if fn.__name__ not in done:
                fn(db)
                db.execute("INSERT INTO _migrations VALUES (?, strftime('%s','now'))", (fn.__name__,))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
