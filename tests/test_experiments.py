"""Experiments: sticky weighted assignment, the feedback endpoint, and the
per-variant report (library and `switchyard experiments report`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

import openai
import pytest

from switchyard.config.schema import Experiment, Variant
from switchyard.experiments import assign, bucket, sticky_unit
from switchyard.experiments.report import mean_interval, summarize, t95, wilson
from switchyard.store import SQLiteStore
from switchyard.types import RequestRecord
from tests.conftest import Served

USERS = [f"user-{i}" for i in range(10_000)]


def experiment(name: str, *weights: float) -> Experiment:
    return Experiment(name=name, variants=[Variant(name=f"v{i}", weight=w) for i, w in enumerate(weights)])


# -- assignment ---------------------------------------------------------------------


@pytest.mark.parametrize("weights", [(50, 50), (70, 20, 10)])
def test_split_is_within_3_percent_of_the_weights_over_10k_users(weights):
    exp = experiment("split-test", *weights)
    counts = Counter(assign(exp, user).name for user in USERS)
    total = sum(weights)
    for i, weight in enumerate(weights):
        share = counts[f"v{i}"] / len(USERS)
        assert abs(share - weight / total) <= 0.03, (weights, dict(counts))


def test_assignment_is_sticky_within_a_process():
    exp = experiment("sticky", 70, 20, 10)
    first = [assign(exp, user).name for user in USERS[:2000]]
    for _ in range(3):
        assert [assign(exp, user).name for user in USERS[:2000]] == first
    # a copy of the experiment (a config reload) assigns the same way
    again = Experiment.model_validate(exp.model_dump())
    assert [assign(again, user).name for user in USERS[:2000]] == first


def test_assignment_is_sticky_across_processes_and_hash_seeds():
    exp = experiment("sticky", 70, 20, 10)
    units = [*USERS[:500], "", "ünïcode-user", "a" * 500]
    here = [assign(exp, u).name for u in units]
    script = (
        "import json, sys\n"
        "from switchyard.config.schema import Experiment\n"
        "from switchyard.experiments import assign\n"
        "exp = Experiment.model_validate_json(sys.argv[1])\n"
        "print(json.dumps([assign(exp, u).name for u in json.loads(sys.stdin.read())]))\n")
    for seed in ("0", "1", "12345", "random"):
        out = subprocess.run([sys.executable, "-c", script, exp.model_dump_json()], input=json.dumps(units),
                             capture_output=True, text=True, check=True, timeout=60,
                             env={**os.environ, "PYTHONHASHSEED": seed})
        assert json.loads(out.stdout) == here, seed


def test_bucket_is_uniform_and_stable():
    assert bucket("exp", "user-1") == bucket("exp", "user-1")
    assert bucket("exp", "user-1") != bucket("exp2", "user-1")
    # the separator keeps name/unit boundaries apart
    assert bucket("ab", "c") != bucket("a", "bc")
    points = [bucket("uniform", u) for u in USERS]
    assert all(0.0 <= p < 1.0 for p in points)
    deciles = Counter(int(p * 10) for p in points)
    assert all(abs(deciles[d] - 1000) < 150 for d in range(10)), deciles


def test_different_experiments_assign_independently():
    a, b = experiment("exp-a", 50, 50), experiment("exp-b", 50, 50)
    pairs = Counter((assign(a, u).name, assign(b, u).name) for u in USERS)
    # each of the four combinations holds about a quarter of the users
    for combo in [("v0", "v0"), ("v0", "v1"), ("v1", "v0"), ("v1", "v1")]:
        assert abs(pairs[combo] / len(USERS) - 0.25) <= 0.03, pairs


def test_without_a_unit_the_draw_is_random_but_weighted():
    exp = experiment("anonymous", 70, 20, 10)
    counts = Counter(assign(exp, None).name for _ in range(10_000))
    assert len(counts) == 3  # not sticky: every arm is drawn
    for i, weight in enumerate((0.7, 0.2, 0.1)):
        assert abs(counts[f"v{i}"] / 10_000 - weight) <= 0.03, counts


def test_weights_need_not_sum_to_one_and_order_is_respected():
    exp = experiment("fractions", 0.25, 0.75)
    counts = Counter(assign(exp, u).name for u in USERS)
    assert abs(counts["v0"] / len(USERS) - 0.25) <= 0.03


def test_sticky_unit_prefers_the_configured_kind():
    by_user = experiment("u", 1, 1)
    by_session = Experiment(name="s", variants=by_user.variants, sticky="session")
    assert sticky_unit(by_user, "alice", "sess-1") == "alice"
    assert sticky_unit(by_session, "alice", "sess-1") == "sess-1"
    assert sticky_unit(by_user, None, "sess-1") == "sess-1"
    assert sticky_unit(by_session, "alice", None) == "alice"
    assert sticky_unit(by_user, None, None) is None
    assert sticky_unit(by_user, "", "") is None


def test_assignment_is_fast():
    exp = experiment("fast", 70, 20, 10)
    started = time.perf_counter()
    for user in USERS:
        assign(exp, user)
    per_call_us = (time.perf_counter() - started) / len(USERS) * 1e6
    assert per_call_us < 50, per_call_us  # about 1 µs on a laptop


# -- statistics ---------------------------------------------------------------------


def test_wilson_interval_on_known_values():
    def close(got, want):
        assert got is not None
        assert got[0] == pytest.approx(want[0], abs=1e-4) and got[1] == pytest.approx(want[1], abs=1e-4)

    close(wilson(8, 10), (0.4902, 0.9433))
    close(wilson(5, 10), (0.2366, 0.7634))
    close(wilson(0, 10), (0.0, 0.2775))
    close(wilson(10, 10), (0.7225, 1.0))
    # Newcombe (1998), "Two-sided confidence intervals for the single proportion", method 3
    close(wilson(81, 263), (0.2553, 0.3662))
    close(wilson(15, 148), (0.0624, 0.1605))
    close(wilson(0, 20), (0.0, 0.1611))
    close(wilson(1, 29), (0.0061, 0.1718))
    assert wilson(0, 0) is None
    low, high = wilson(500, 1000)
    assert high - low == pytest.approx(2 * 1.96 * (0.25 / 1000) ** 0.5, rel=0.01)  # near the normal one at large n


def test_t_quantiles_and_mean_interval():
    assert t95(1) == pytest.approx(12.706)
    assert t95(30) == pytest.approx(2.042)
    assert t95(40) == pytest.approx(2.0211, abs=5e-4)
    assert t95(120) == pytest.approx(1.9799, abs=5e-4)
    assert t95(10**6) == pytest.approx(1.95996, abs=1e-4)
    low, high = mean_interval([1, 2, 3, 4, 5])
    assert (low, high) == (pytest.approx(3 - 2.776 * 0.70711, abs=1e-3), pytest.approx(3 + 2.776 * 0.70711, abs=1e-3))
    assert mean_interval([4.0]) is None
    assert mean_interval([]) is None


# -- the report over a store ---------------------------------------------------------


def write_requests(store: SQLiteStore, rows: list[tuple], *, experiment_name: str = "tone") -> None:
    """rows: (id, variant, status, latency_ms, cost_usd, ts_offset_s)."""
    now = time.time()
    for rid, variant, status, latency, cost, offset in rows:
        store.write(RequestRecord(id=rid, ts=now - offset, endpoint="chat", alias="support", status=status,
                                  latency_ms=latency, cost_usd=cost, experiment=experiment_name, variant=variant))
    store.flush()


REPORT_ROWS = [
    ("r1", "formal", 200, 100.0, 0.001, 10),
    ("r2", "formal", 200, 200.0, 0.001, 10),
    ("r3", "formal", 500, 300.0, 0.0, 10),
    ("r4", "formal", 200, 400.0, 0.002, 10),
    ("r5", "casual", 200, 50.0, 0.0005, 10),
    ("r6", "casual", 200, 70.0, 0.0005, 10),
    ("old", "casual", 200, 1.0, 1.0, 90 * 86400),  # outside a 30-day window
]
TONE = Experiment(name="tone", variants=[Variant(name="formal", weight=1), Variant(name="casual", weight=1),
                                         Variant(name="pirate", weight=2)])


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(str(tmp_path / "exp.db"))
    s.open()
    yield s
    s.close()


def filled(store: SQLiteStore) -> SQLiteStore:
    write_requests(store, REPORT_ROWS)
    write_requests(store, [("other-exp", "formal", 200, 1.0, 1.0, 10)], experiment_name="length")
    store.add_feedback("r1", 5, "good", "great answer")
    store.add_feedback("r1", 3, None, None)
    store.add_feedback("r2", 4, "BAD", None)
    store.add_feedback("r4", None, "Thumbs_Up", None)
    store.add_feedback("r5", 2, "up", None)
    store.add_feedback("other-exp", 1, "bad", None)
    return store


def test_store_feedback_and_rows(store):
    filled(store)
    assert store.request_exists("r1")
    assert not store.request_exists("nope")
    assert store.request_exists("r1", key_name=None)
    assert not store.request_exists("r1", key_name="someone")
    first = store.add_feedback("r6", 1.5, None, "meh")
    assert isinstance(first, int) and store.add_feedback("r6", 2.5, None, None) == first + 1

    rows = {r["id"]: r for r in store.experiment_rows("tone", time.time() - 30 * 86400)}
    assert set(rows) == {"r1", "r2", "r3", "r4", "r5", "r6"}
    assert rows["r1"]["feedback"] == 2 and rows["r1"]["scores"] == [5.0, 3.0] and rows["r1"]["score"] == 4.0
    assert rows["r1"]["labels"] == {"good": 1}
    assert rows["r3"]["feedback"] == 0 and rows["r3"]["score"] is None and rows["r3"]["labels"] == {}
    assert rows["r6"]["score"] == 2.0
    assert (rows["r3"]["variant"], rows["r3"]["status"], rows["r3"]["latency_ms"]) == ("formal", 500, 300.0)
    assert {r["id"] for r in store.experiment_rows("tone")} == {*rows, "old"}
    assert store.experiment_rows("missing") == []


def test_report_per_variant(store):
    filled(store)
    stats = {s.variant: s for s in summarize(store.experiment_rows("tone", time.time() - 30 * 86400), TONE)}
    assert list(stats) == ["formal", "casual", "pirate"]  # configured order, also with no requests

    formal = stats["formal"]
    assert (formal.requests, formal.successes, formal.success_rate) == (4, 3, 0.75)
    assert formal.success_ci == pytest.approx(wilson(3, 4))
    assert formal.share == pytest.approx(4 / 6) and formal.weight_share == pytest.approx(0.25)
    assert (formal.feedback, formal.feedback_rate) == (3, 0.75)
    assert (formal.scores, formal.score_mean) == (3, 4.0)  # 5, 3 and 4: every score counts
    assert formal.score_ci == pytest.approx(mean_interval([5, 3, 4]))
    # labels: good and Thumbs_Up are positive, BAD is not (case does not matter)
    assert (formal.labels, formal.positive) == (3, 2)
    assert formal.positive_rate == pytest.approx(2 / 3) and formal.positive_ci == pytest.approx(wilson(2, 3))
    assert formal.label_counts == {"good": 1, "BAD": 1, "Thumbs_Up": 1}
    assert formal.latency_p50_ms == 250.0 and formal.latency_mean_ms == 250.0
    assert formal.cost_total_usd == pytest.approx(0.004) and formal.cost_mean_usd == pytest.approx(0.001)

    casual = stats["casual"]
    assert (casual.requests, casual.success_rate, casual.success_ci[1]) == (2, 1.0, 1.0)
    assert (casual.scores, casual.score_mean, casual.score_ci) == (1, 2.0, None)  # one score: no interval
    assert (casual.labels, casual.positive_rate) == (1, 1.0)
    assert casual.latency_p50_ms == 60.0 and casual.cost_total_usd == pytest.approx(0.001)

    pirate = stats["pirate"]
    assert (pirate.requests, pirate.share, pirate.weight_share) == (0, 0.0, 0.5)
    assert pirate.success_rate is None and pirate.success_ci is None and pirate.latency_p50_ms is None

    # without the config, only the variants the log holds, by name
    assert [s.variant for s in summarize(store.experiment_rows("tone"))] == ["casual", "formal"]


def test_report_without_labels_leaves_the_positive_rate_empty(store):
    write_requests(store, [("a", "x", 200, 1.0, 0.0, 1), ("b", "y", 429, 1.0, 0.0, 1)], experiment_name="nolabel")
    store.add_feedback("a", 1.0, None, None)
    stats = {s.variant: s for s in summarize(store.experiment_rows("nolabel"))}
    assert stats["x"].positive_rate is None and stats["x"].labels == 0
    assert stats["y"].success_rate == 0.0 and stats["y"].success_ci[0] == 0.0


# -- the feedback endpoint, end to end -----------------------------------------------

ALICE, BOB, ADMIN = "sk-exp-alice-5d1a9c", "sk-exp-bob-7e2f0b", "sk-exp-admin-3c8d4a"
KEY_ENV = {"K_ALICE": ALICE, "K_BOB": BOB, "K_ADMIN": ADMIN}
KEYS = """keys:
  - {name: alice, key_env: K_ALICE}
  - {name: bob, key_env: K_BOB}
admin: {key_env: K_ADMIN}
"""


def gateway_config(upstream_url: str, extra: str = "") -> str:
    return f"""
providers:
  up:
    kind: openai
    base_url: {upstream_url}/v1
    api_key: ${{OPENAI_UP_KEY}}
models:
  - name: chat
    targets: [{{provider: up, model: gpt-chat}}]
  - name: tone
    targets: [{{provider: up, model: gpt-chat}}]
    experiment:
      name: tone-test
      variants:
        - {{name: formal, weight: 1}}
        - {{name: casual, weight: 1, target: {{provider: up, model: gpt-casual}}}}
{extra}
"""


def http(served: Served, path: str, key: str | None, body, method: str = "POST") -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(served.url + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if key is not None:
        req.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(req, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def chat(served: Served, key: str, model: str = "chat", user: str | None = None, session: str | None = None) -> str:
    client = openai.OpenAI(base_url=served.base_url, api_key=key, max_retries=0, timeout=20,
                           default_headers={"x-switchyard-session": session} if session else None)
    extra = {"user": user} if user else {}
    reply = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "hello"}], **extra)
    assert reply.parse().choices[0].message.content == "echo: hello"
    return reply.headers["x-request-id"]


def test_feedback_endpoint(gateway, openai_upstream):
    served = gateway(gateway_config(openai_upstream.url, KEYS), env=KEY_ENV)
    request_id = chat(served, ALICE)
    # sent at once: the log is written in batches, the endpoint waits for it
    status, body = http(served, "/v1/feedback", ALICE,
                        {"request_id": request_id, "score": 4.5, "label": "good", "comment": "thanks"})
    assert status == 201, body
    assert body["object"] == "feedback" and body["request_id"] == request_id and isinstance(body["id"], int)
    status, second = http(served, "/v1/feedback", ALICE, {"request_id": request_id, "label": "up"})
    assert status == 201 and second["id"] != body["id"]
    status, _ = http(served, "/v1/feedback", ALICE, {"request_id": request_id, "score": 1})  # an int is fine
    assert status == 201

    # unknown request id: 404, OpenAI-style
    status, error = http(served, "/v1/feedback", ALICE, {"request_id": "req_nope", "score": 1})
    assert status == 404
    assert error["error"]["type"] == "invalid_request_error" and error["error"]["code"] == "request_not_found"
    # another key's request looks unknown; the admin key may rate any request
    status, error = http(served, "/v1/feedback", BOB, {"request_id": request_id, "score": 1})
    assert (status, error["error"]["code"]) == (404, "request_not_found")
    status, _ = http(served, "/v1/feedback", ADMIN, {"request_id": request_id, "label": "correct"})
    assert status == 201
    # authentication like the chat endpoints
    status, error = http(served, "/v1/feedback", None, {"request_id": request_id, "score": 1})
    assert (status, error["error"]["code"]) == (401, "missing_api_key")
    status, _ = http(served, "/v1/feedback", "sk-wrong", {"request_id": request_id, "score": 1})
    assert status == 401

    # bad bodies: 400 with a message
    for bad in ({}, {"request_id": request_id}, {"request_id": request_id, "comment": "only a comment"},
                {"request_id": request_id, "score": "high"}, {"request_id": request_id, "score": True},
                {"request_id": request_id, "label": 5}, {"request_id": "", "score": 1},
                {"request_id": request_id, "score": 1, "rating": 5}, [request_id], b"not json", b""):
        status, error = http(served, "/v1/feedback", ALICE, bad)
        assert status == 400, bad
        assert error["error"]["type"] == "invalid_request_error" and error["error"]["message"], bad
    status, _ = http(served, "/v1/feedback", ALICE, None, method="GET")
    assert status == 405

    served.stop()
    stored = served.rows("SELECT request_id, score, label, comment FROM feedback ORDER BY id")
    assert stored == [
        {"request_id": request_id, "score": 4.5, "label": "good", "comment": "thanks"},
        {"request_id": request_id, "score": None, "label": "up", "comment": None},
        {"request_id": request_id, "score": 1.0, "label": None, "comment": None},
        {"request_id": request_id, "score": None, "label": "correct", "comment": None},
    ]


def test_feedback_in_open_mode(gateway, openai_upstream):
    served = gateway(gateway_config(openai_upstream.url))
    request_id = chat(served, "anything")
    status, body = http(served, "/v1/feedback", None, {"request_id": request_id, "label": "good"})
    assert status == 201, body


def test_experiment_traffic_reaches_the_report(gateway, openai_upstream):
    """Through the real request path: needs assignment wired into the gateway."""
    served = gateway(gateway_config(openai_upstream.url))
    ids = [chat(served, "k", model="tone", user=f"user-{i}") for i in range(40)]
    # no `user`: the session header is the unit, and keeps its caller on one arm too
    session_ids = [chat(served, "k", model="tone", session="sess-7") for _ in range(3)]
    rows = {r["id"]: r for r in served.wait_rows(43)}
    for rid in ids[:10]:
        assert http(served, "/v1/feedback", None, {"request_id": rid, "score": 3})[0] == 201
    exp = Experiment(name="tone-test", variants=[Variant(name="formal", weight=1), Variant(name="casual", weight=1)])
    served_by = {"formal": "up/gpt-chat", "casual": "up/gpt-casual"}  # the casual arm has its own target
    for i, rid in enumerate(ids):
        assert rows[rid]["experiment"] == "tone-test"
        assert rows[rid]["variant"] == assign(exp, f"user-{i}").name  # the same hash as the library
        assert rows[rid]["target"] == served_by[rows[rid]["variant"]]
    assert {rows[rid]["variant"] for rid in ids} == {"formal", "casual"}
    assert [rows[rid]["variant"] for rid in session_ids] == [assign(exp, "sess-7").name] * 3
    served.stop()
    out = run_cli("experiments", "report", "tone-test", "--json", "--config", str(served.config_path))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["requests"] == 43
    assert sum(v["scores"] for v in report["variants"]) == 10


# -- the CLI -------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "switchyard", *args], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "SWITCHYARD_CONFIG"})


def cli_config(tmp_path: Path) -> Path:
    path = tmp_path / "switchyard.yaml"
    path.write_text(f"""
providers:
  up: {{kind: openai, base_url: "http://127.0.0.1:1/v1", api_key: "${{NOT_SET_FOR_REPORTS}}"}}
models:
  - name: support
    targets: [{{provider: up, model: m}}]
    experiment:
      name: tone
      variants:
        - {{name: formal, weight: 1}}
        - {{name: casual, weight: 1}}
        - {{name: pirate, weight: 2}}
store: {{path: {tmp_path / "cli.db"}}}
""")
    store = SQLiteStore(str(tmp_path / "cli.db"))
    store.open()
    try:
        filled(store)
    finally:
        store.close()
    return path


def test_cli_report_table_and_json(tmp_path):
    config = cli_config(tmp_path)
    out = run_cli("experiments", "report", "tone", "--config", str(config))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split()[:4] == ["variant", "weight", "requests", "share"]
    formal = next(line for line in lines if line.startswith("formal"))
    assert "25.0%" in formal and "75.0% [" in formal and "4.00 [" in formal and "n=3" in formal
    assert next(line for line in lines if line.startswith("pirate")).split()[1:3] == ["50.0%", "0"]
    assert "6 requests since" in out.stdout  # the 90-day-old request is outside the default 30 days

    out = run_cli("experiments", "report", "tone", "--since", "365d", "--json", "--config", str(config))
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["experiment"] == "tone" and report["requests"] == 7
    variants = {v["variant"]: v for v in report["variants"]}
    assert variants["casual"]["requests"] == 3 and variants["formal"]["positive"] == 2
    assert variants["formal"]["success_ci"] == pytest.approx(list(wilson(3, 4)))


def test_cli_report_errors(tmp_path):
    config = cli_config(tmp_path)
    out = run_cli("experiments", "report", "nope", "--config", str(config))
    assert out.returncode == 1 and "no experiment named 'nope'" in out.stderr
    out = run_cli("experiments", "report", "tone", "--since", "soon", "--config", str(config))
    assert out.returncode == 1 and "--since" in out.stderr
    # an experiment gone from the config still reports from the log
    out = run_cli("experiments", "report", "length", "--json", "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert [v["variant"] for v in json.loads(out.stdout)["variants"]] == ["formal"]
