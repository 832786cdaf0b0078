"""The SQLite store: batched writes from many threads, queries, keys, migrations."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time

import pytest

from switchyard.store import SQLiteStore
from switchyard.store.base import KeyExists, KeyRecord
from switchyard.store.migrations import MIGRATIONS
from switchyard.types import Attempt, RequestRecord


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(str(tmp_path / "s.db"))
    s.open()
    yield s
    s.close()


def record(i: int, ts: float | None = None, **fields) -> RequestRecord:
    return RequestRecord(id=f"req-{i:05d}", ts=time.time() if ts is None else ts, endpoint="chat", **fields)


def count_rows(path) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    finally:
        db.close()


def write_threaded(store: SQLiteStore, total: int, threads: int) -> None:
    per = total // threads

    def work(t: int) -> None:
        for i in range(per):
            store.write(record(t * per + i, prompt_tokens=1, completion_tokens=2, cost_usd=0.001))

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_threaded_writes_all_land_after_flush(tmp_path):
    path = tmp_path / "w.db"
    store = SQLiteStore(str(path))
    store.open()
    try:
        write_threaded(store, 1000, 8)
        store.flush()
        # flush means written: visible from another connection before close
        assert count_rows(path) == 1000
        assert len(store.requests(limit=5000)) == 1000
    finally:
        store.close()
    assert count_rows(path) == 1000


def test_threaded_writes_all_land_after_close(tmp_path):
    path = tmp_path / "c.db"
    store = SQLiteStore(str(path))
    store.open()
    write_threaded(store, 1000, 5)
    store.close()  # no flush: close writes what is queued
    assert count_rows(path) == 1000


def test_write_returns_without_waiting_for_the_disk(store):
    start = time.monotonic()
    for i in range(200):
        store.write(record(i))
    assert time.monotonic() - start < 0.5
    store.flush()
    assert len(store.requests(limit=500)) == 200


def test_record_fields_round_trip(store):
    rec = record(1, ts=1000.0, key_name="k", team="t", alias="chat", target="up/m", status=502,
                 error="all failed", latency_ms=12.3456, ttft_ms=4.0, prompt_tokens=7, completion_tokens=9,
                 cost_usd=0.25, stream=True,
                 attempts=[Attempt(target="up/m", error="boom", status=500, latency_ms=3.0, cost_usd=0.01)],
                 request_body=b'{"a":1}', response_body=None)
    store.write(rec)
    store.flush()
    (row,) = store.requests(limit=5)
    assert row["id"] == "req-00001" and row["ts"] == 1000.0 and row["endpoint"] == "chat"
    assert (row["key_name"], row["team"], row["alias"], row["target"]) == ("k", "t", "chat", "up/m")
    assert (row["status"], row["error"], row["stream"]) == (502, "all failed", 1)
    assert row["latency_ms"] == pytest.approx(12.346) and row["ttft_ms"] == 4.0
    assert (row["prompt_tokens"], row["completion_tokens"], row["cost_usd"]) == (7, 9, 0.25)
    assert row["attempts"] == [{"target": "up/m", "error": "boom", "status": 500, "latency_ms": 3.0,
                                "cost_usd": 0.01}]
    assert row["request_body"] == b'{"a":1}' and row["response_body"] is None
    assert isinstance(row["rowid"], int)


def test_requests_order_and_filters(store):
    base = 1_000_000.0
    for i in range(10):
        store.write(record(i, ts=base + i))
    store.flush()

    rows = store.requests(limit=50)
    assert [r["id"] for r in rows] == [f"req-{i:05d}" for i in range(10)]  # oldest first
    rowids = [r["rowid"] for r in rows]
    assert rowids == sorted(rowids)
    assert all(r["attempts"] == [] for r in rows)

    # limit keeps the newest, still printed oldest first
    assert [r["id"] for r in store.requests(limit=3)] == ["req-00007", "req-00008", "req-00009"]
    # since: ts >= since
    assert [r["id"] for r in store.requests(since=base + 8)] == ["req-00008", "req-00009"]
    assert store.requests(since=base + 100) == []
    # after_rowid: strictly after, for `logs -f`
    after = rowids[5]
    assert [r["id"] for r in store.requests(after_rowid=after)] == [f"req-{i:05d}" for i in range(6, 10)]
    assert store.requests(after_rowid=rowids[-1]) == []
    # filters combine
    assert [r["id"] for r in store.requests(since=base + 2, after_rowid=rowids[6], limit=2)] == [
        "req-00008", "req-00009"]


def test_costs_by_each_dimension(store):
    now = time.time()
    rows = [
        dict(key_name="alice", team="red", alias="chat", target="up/a", prompt_tokens=10, completion_tokens=5,
             cost_usd=1.0),
        dict(key_name="alice", team="red", alias="chat", target="up/b", prompt_tokens=20, completion_tokens=10,
             cost_usd=2.0),
        dict(key_name="bob", team="blue", alias="embed", target="up/a", prompt_tokens=100, completion_tokens=0,
             cost_usd=0.5),
        dict(key_name="bob", team="blue", alias="chat", target="up/a", status=502, prompt_tokens=0,
             completion_tokens=0, cost_usd=0.0),
        dict(key_name=None, team=None, alias="chat", target="up/b", prompt_tokens=1, completion_tokens=1,
             cost_usd=0.25),
    ]
    for i, fields in enumerate(rows):
        store.write(record(i, ts=now, **fields))
    store.write(record(99, ts=now - 10 * 86400, key_name="alice", team="red", alias="chat", target="up/a",
                       prompt_tokens=1000, completion_tokens=1000, cost_usd=100.0))  # old
    store.flush()
    since = now - 86400

    def table(by):
        return {r[by]: r for r in store.costs(by=by, since=since)}

    by_key = table("key")
    assert set(by_key) == {"alice", "bob", "-"}
    assert by_key["alice"]["cost_usd"] == pytest.approx(3.0)
    assert (by_key["alice"]["requests"], by_key["alice"]["prompt_tokens"], by_key["alice"]["completion_tokens"]) == (
        2, 30, 15)
    assert (by_key["bob"]["requests"], by_key["bob"]["errors"]) == (2, 1)
    assert by_key["bob"]["cost_usd"] == pytest.approx(0.5)
    assert by_key["-"]["cost_usd"] == pytest.approx(0.25)

    by_team = table("team")
    assert by_team["red"]["cost_usd"] == pytest.approx(3.0) and by_team["blue"]["requests"] == 2

    by_model = table("model")
    assert set(by_model) == {"chat", "embed"}
    assert by_model["chat"]["requests"] == 4 and by_model["chat"]["errors"] == 1
    assert by_model["chat"]["cost_usd"] == pytest.approx(3.25)
    assert by_model["embed"]["prompt_tokens"] == 100

    by_target = table("target")
    assert by_target["up/a"]["cost_usd"] == pytest.approx(1.5) and by_target["up/a"]["requests"] == 3
    assert by_target["up/b"]["cost_usd"] == pytest.approx(2.25)

    # most expensive first
    costs = [r["cost_usd"] for r in store.costs(by="key", since=since)]
    assert costs == sorted(costs, reverse=True)
    # without since, the old row counts too
    assert {r["key"]: r for r in store.costs(by="key")}["alice"]["cost_usd"] == pytest.approx(103.0)


def test_keys_add_find_list_revoke(store):
    store.add_key(KeyRecord("one", "hash-1", ["chat"], team="t", rpm=10, created=100.0))
    store.add_key(KeyRecord("two", "hash-2", ["*"], created=200.0))
    with pytest.raises(KeyExists):
        store.add_key(KeyRecord("one", "hash-3", ["chat"]))

    found = store.find_key("hash-1")
    assert found == KeyRecord("one", "hash-1", ["chat"], "t", 10, 100.0, False)
    assert store.find_key("hash-none") is None
    assert [k.name for k in store.list_keys()] == ["one", "two"]

    assert store.revoke_key("one") is True
    assert store.revoke_key("one") is False  # already revoked
    assert store.revoke_key("ghost") is False
    assert store.find_key("hash-1") is None
    listed = {k.name: k for k in store.list_keys()}
    assert listed["one"].revoked is True and listed["two"].revoked is False
    assert store.find_key("hash-2").name == "two"


def test_keys_survive_reopen(tmp_path):
    path = str(tmp_path / "k.db")
    a = SQLiteStore(path)
    a.open()
    a.add_key(KeyRecord("persist", "h", ["chat", "embed"], created=1.0))
    a.close()
    b = SQLiteStore(path)
    b.open()
    try:
        assert b.find_key("h").models == ["chat", "embed"]
        with pytest.raises(KeyExists):
            b.add_key(KeyRecord("persist", "h2", ["*"]))
    finally:
        b.close()


def test_migrations_run_once_and_wal_is_on(tmp_path):
    path = tmp_path / "m.db"
    for _ in range(2):
        s = SQLiteStore(str(path))
        s.open()
        s.write(record(1))
        s.close()
    # two stores open at once also migrate once
    a, b = SQLiteStore(str(path)), SQLiteStore(str(path))
    a.open()
    b.open()
    a.close()
    b.close()

    db = sqlite3.connect(path)
    try:
        names = [r[0] for r in db.execute("SELECT name FROM _migrations ORDER BY name")]
        assert names == sorted(fn.__name__ for fn in MIGRATIONS)
        assert len(names) == len(set(names)) == len(MIGRATIONS)
        assert db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        assert db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 1  # INSERT OR REPLACE by id
    finally:
        db.close()


def test_close_without_writes_and_twice(tmp_path):
    s = SQLiteStore(str(tmp_path / "n.db"))
    s.open()
    s.flush()  # nothing queued: returns at once
    s.close()
    s.close()


def test_concurrent_first_writes_start_one_writer(tmp_path):
    # Several threads writing the very first records at once must share one writer thread:
    # a second writer would be left blocked after close() (or make close() wait out its join timeout).
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible to expose the race
    try:
        for trial in range(20):
            before = {t for t in threading.enumerate() if t.name == "switchyard-log"}
            store = SQLiteStore(str(tmp_path / f"race-{trial}.db"))
            store.open()
            barrier = threading.Barrier(16)

            def first_write(i: int, store=store, barrier=barrier, trial=trial) -> None:
                barrier.wait()
                store.write(record(trial * 100 + i))

            workers = [threading.Thread(target=first_write, args=(i,)) for i in range(16)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            writers = {t for t in threading.enumerate() if t.name == "switchyard-log"} - before
            start = time.monotonic()
            store.close()
            assert time.monotonic() - start < 5
            assert len(writers) == 1, f"trial {trial}: {len(writers)} writer threads"
            assert not any(t.is_alive() for t in writers)
            assert count_rows(tmp_path / f"race-{trial}.db") == 16
    finally:
        sys.setswitchinterval(old_interval)
