"""Smoke test of the gateway benchmark (bench/gateway.py) through its own functions: the
fake upstream, the bare relay and Switchyard, with very short measurements. It checks the
shape of the result, never a speed: the targets live in the bench."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bench import gateway

pytestmark = pytest.mark.skipif(shutil.which("taskset") is None, reason="the bench pins processes with taskset")

PER_RUN = ("ok", "errors", "rps", "p50_ms", "p99_ms")


def test_bench_quick_relay_and_switchyard(tmp_path):
    options = gateway.Options(duration=0.1, warmup=0.05, cpu_requests=50, only=("relay", "switchyard"),
                              loadgen="python", settle_max=1.0, settle_window=0.05, out=tmp_path,
                              rates=(100, 500), stream_rate=50)
    report = gateway.run_bench(options)

    saved = json.loads(Path(report["path"]).read_text())
    assert Path(report["path"]).parent == tmp_path
    assert set(saved) >= {"machine", "command", "options", "loadgen", "results", "skipped", "added", "ratios",
                          "targets"}
    assert set(saved["results"]) == {"upstream", "relay", "switchyard"}
    for name, result in saved["results"].items():
        assert result["throughput"]["rps"] > 0, name
        assert result["throughput"]["ok"] > 0, name
        assert result["cpu_ms_per_request"] >= 0, name
        assert result["rss_before_mb"] > 0 and result["rss_after_mb"] > 0, name
        for run in ("stream", "open_100", "open_500"):
            assert set(result[run]) >= set(PER_RUN), (name, run)
            assert result[run]["ok"] > 0, (name, run)
        assert result["stream"]["ttfb_p50_ms"] is not None, name
    for name in ("relay", "switchyard"):
        assert set(saved["results"][name]["direct"]) == {"stream", "open_100", "open_500"}
        assert set(saved["added"][name]) == {"ttfb_p50_ms", "p50_ms@100", "p99_ms@100", "p50_ms@500", "p99_ms@500"}
    assert saved["ratios"]["relay"]["vs_relay"] == 1.0
    assert saved["ratios"]["switchyard"]["switchyard_x"] == 1.0
    assert "throughput >= 70% of the relay" in saved["targets"]

    table = gateway.table(report)
    assert "| upstream (direct) |" in table and "| relay |" in table and "switchyard" in table


def test_ratios_when_a_cpu_reading_is_zero():
    # Short runs can read 0 CPU ticks for a process (10 ms clock resolution): no ratio, no crash.
    per_core = gateway._ratios({"upstream": None, "relay": 2000.0, "switchyard": 1500.0})
    assert per_core["upstream"] == {"vs_relay": None, "switchyard_x": None}
    assert per_core["switchyard"] == {"vs_relay": 0.75, "switchyard_x": 1.0}
    assert gateway._ratios({"relay": None, "switchyard": 10.0})["switchyard"]["vs_relay"] is None
