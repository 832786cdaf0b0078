"""SQLite store (the embedded default): WAL mode, and request records written
in batches by one background thread, so the request path only enqueues."""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time

import orjson

from ..types import RequestRecord
from .base import KeyExists, KeyRecord
from .cipher import BodyCipher
from .migrations import migrate

_BATCH = 512
_LINGER_S = 0.05  # how long the writer waits to fill a batch
_STOP = object()
_WRITE_TRIES = 12  # about 15 s of retries before a batch is given up

log = logging.getLogger("switchyard")

_INSERT = """INSERT OR REPLACE INTO requests (id, ts, endpoint, key_name, team, alias, target, status, error,
    latency_ms, ttft_ms, prompt_tokens, completion_tokens, cost_usd, stream, attempts, request_body, response_body,
    pii, privacy, prompt, prompt_version, experiment, variant, structured)
    VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"""

_GROUPS = {"key": "key_name", "team": "team", "model": "alias", "target": "target"}


def _row(r: RequestRecord, cipher: BodyCipher | None) -> tuple:
    attempts = orjson.dumps(r.attempts).decode() if r.attempts else None
    bodies = (r.request_body, r.response_body)
    if cipher is not None:
        bodies = tuple(None if b is None else cipher.seal(b) for b in bodies)
    return (r.id, r.ts, r.endpoint, r.key_name, r.team, r.alias, r.target, r.status, r.error,
            round(r.latency_ms, 3), None if r.ttft_ms is None else round(r.ttft_ms, 3),
            r.prompt_tokens, r.completion_tokens, r.cost_usd, int(r.stream), attempts, *bodies,
            json.dumps(r.pii) if r.pii else None, r.privacy, r.prompt, r.prompt_version, r.experiment, r.variant,
            r.structured)


class SQLiteStore:
    def __init__(self, path: str, cipher: BodyCipher | None = None):
        self.path = path
        self.cipher = cipher  # seals bodies in the writer thread, off the request path
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        # each counter has one writer (the request path, the log thread), so neither needs a lock
        self._enqueued = 0
        self._written = 0
        self._idle = threading.Condition()  # the log thread says when it has written a batch

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        return db

    def open(self) -> None:
        db = self._connect()
        migrate(db)
        self._db = db
        self._lock = threading.Lock()  # guards self._db for reads from several threads

    # -- request log -------------------------------------------------------

    def write(self, record: RequestRecord) -> None:
        if self._writer is None:
            with self._idle:  # concurrent first writes start one log thread, not several
                if self._writer is None:
                    self._writer = threading.Thread(target=self._write_loop, name="switchyard-log", daemon=True)
                    self._writer.start()
        self._enqueued += 1
        self._queue.put(record)

    def _write_loop(self) -> None:
        db = self._connect()
        stop = False
        while not stop:
            batch = [self._queue.get()]
            time.sleep(_LINGER_S)  # let a batch gather: one transaction, and no wake-up, per record
            try:
                while len(batch) < _BATCH:
                    batch.append(self._queue.get_nowait())
            except queue.Empty:
                pass
            if _STOP in batch:
                stop = True
                batch = [r for r in batch if r is not _STOP]
            if batch:
                self._insert(db, batch)
            with self._idle:
                self._written += len(batch)
                self._idle.notify_all()
        db.close()

    def _insert(self, db: sqlite3.Connection, batch: list[RequestRecord]) -> None:
        rows = [_row(r, self.cipher) for r in batch]
        for attempt in range(_WRITE_TRIES):
            try:
                with db:
                    db.execute("BEGIN")
                    db.executemany(_INSERT, rows)
                return
            except sqlite3.Error as exc:
                # busy beyond busy_timeout (another process holds the lock), disk full, ...: wait and try again
                error = exc
                time.sleep(min(2.0, 0.1 * 2**attempt))
        # the thread must live on for later records; say loudly what could not be written
        log.error("request log: could not write %d records after %d tries: %s", len(rows), _WRITE_TRIES, error)

    def flush(self) -> None:
        enqueued = self._enqueued
        with self._idle:
            self._idle.wait_for(lambda: self._written >= enqueued, timeout=60)

    def close(self) -> None:
        if self._writer is not None:
            self._queue.put(_STOP)
            self._writer.join(60)
            self._writer = None
        if getattr(self, "_db", None) is not None:
            self._db.close()
            self._db = None

    def _query(self, sql: str, args: tuple = ()) -> list[dict]:
        with self._lock:
            cur = self._db.execute(sql, args)
            names = [c[0] for c in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def requests(self, *, since: float | None = None, limit: int = 50, after_rowid: int = 0) -> list[dict]:
        rows = self._query(
            "SELECT rowid, * FROM requests WHERE ts >= ? AND rowid > ? ORDER BY rowid DESC LIMIT ?",
            (since or 0.0, after_rowid, limit))
        for row in rows:
            row["attempts"] = json.loads(row["attempts"]) if row["attempts"] else []
            row["pii"] = json.loads(row["pii"]) if row["pii"] else {}
            if self.cipher is not None:
                for column in ("request_body", "response_body"):
                    if row[column] is not None:
                        row[column] = self.cipher.open(row[column])
        return rows[::-1]

    def audit(self, *, since: float | None = None, limit: int = 1000) -> list[dict]:
        """Requests where the privacy policy found something or acted: kinds and counts, never values."""
        rows = self._query(
            """SELECT id, ts, key_name, team, alias, target, status, pii, privacy FROM requests
               WHERE ts >= ? AND (pii IS NOT NULL OR privacy IN ('redacted', 'routed_local', 'blocked'))
               ORDER BY ts DESC LIMIT ?""", (since or 0.0, limit))
        for row in rows:
            row["pii"] = json.loads(row["pii"]) if row["pii"] else {}
        return rows[::-1]

    def costs(self, *, by: str, since: float | None = None) -> list[dict]:
        column = _GROUPS[by]
        return self._query(
            f"""SELECT COALESCE({column}, '-') AS {by}, COUNT(*) AS requests,
                   SUM(status >= 400) AS errors, SUM(prompt_tokens) AS prompt_tokens,
                   SUM(completion_tokens) AS completion_tokens, SUM(cost_usd) AS cost_usd
               FROM requests WHERE ts >= ? GROUP BY 1 ORDER BY cost_usd DESC, requests DESC""",
            (since or 0.0,))

    # -- virtual keys --------------------------------------------------------

    def add_key(self, key: KeyRecord) -> None:
        with self._lock, self._db:
            if self._db.execute("SELECT 1 FROM keys WHERE name = ?", (key.name,)).fetchone():
                raise KeyExists(key.name)
            self._db.execute("INSERT INTO keys VALUES (?,?,?,?,?,?,?)",
                             (key.name, key.key_hash, json.dumps(key.models), key.team, key.rpm,
                              key.created or time.time(), int(key.revoked)))

    def _key(self, row: dict) -> KeyRecord:
        return KeyRecord(row["name"], row["key_hash"], json.loads(row["models"]), row["team"], row["rpm"],
                         row["created"], bool(row["revoked"]))

    def find_key(self, key_hash: str) -> KeyRecord | None:
        rows = self._query("SELECT * FROM keys WHERE key_hash = ? AND revoked = 0", (key_hash,))
        return self._key(rows[0]) if rows else None

    def list_keys(self) -> list[KeyRecord]:
        return [self._key(r) for r in self._query("SELECT * FROM keys ORDER BY created")]

    def revoke_key(self, name: str) -> bool:
        with self._lock, self._db:
            return self._db.execute("UPDATE keys SET revoked = 1 WHERE name = ? AND revoked = 0",
                                    (name,)).rowcount > 0

    # -- experiments and feedback ----------------------------------------------

    def add_feedback(self, request_id: str, score: float | None, label: str | None,
                     comment: str | None) -> int:
        """Store one piece of feedback on a logged request; returns its id."""
        with self._lock, self._db:
            return self._db.execute("INSERT INTO feedback (request_id, ts, score, label, comment) VALUES (?,?,?,?,?)",
                                    (request_id, time.time(), score, label, comment)).lastrowid

    def request_exists(self, request_id: str, *, key_name: str | None = None) -> bool:
        """Whether the log holds that request (made with `key_name`, when given)."""
        if key_name is None:
            rows = self._query("SELECT 1 FROM requests WHERE id = ?", (request_id,))
        else:
            rows = self._query("SELECT 1 FROM requests WHERE id = ? AND key_name = ?", (request_id, key_name))
        return bool(rows)

    def experiment_rows(self, name: str, since: float | None = None) -> list[dict]:
        """One row per request of experiment `name`, oldest first: id, ts, variant, status,
        latency_ms, cost_usd, and its feedback: `feedback` (how many), `scores` (each given
        score), `score` (their mean, or None) and `labels` ({label: count})."""
        rows = self._query(
            """SELECT id, ts, variant, status, latency_ms, cost_usd FROM requests
               WHERE experiment = ? AND ts >= ? ORDER BY ts""", (name, since or 0.0))
        feedback = self._query(
            """SELECT f.request_id, f.score, f.label FROM feedback f JOIN requests r ON r.id = f.request_id
               WHERE r.experiment = ? AND r.ts >= ? ORDER BY f.id""", (name, since or 0.0))
        by_request: dict[str, list[dict]] = {}
        for f in feedback:
            by_request.setdefault(f["request_id"], []).append(f)
        for row in rows:
            given = by_request.get(row["id"], ())
            scores = [f["score"] for f in given if f["score"] is not None]
            labels: dict[str, int] = {}
            for f in given:
                if f["label"] is not None:
                    labels[f["label"]] = labels.get(f["label"], 0) + 1
            row.update(feedback=len(given), scores=scores, score=sum(scores) / len(scores) if scores else None,
                       labels=labels)
        return rows
