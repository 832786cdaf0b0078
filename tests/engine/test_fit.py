"""The hardware advisor's formulae on known numbers, and its verdicts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from switchyard.engine import fit
from switchyard.engine.gguf import read_gguf_info

STORIES = Path(__file__).parents[2].parent / "shared/models/stories260K.gguf"
needs_stories = pytest.mark.skipif(not STORIES.exists(), reason=f"the test model {STORIES} is not here")
GiB, MiB = 1 << 30, 1 << 20


def machine(ram_gib: float = 24, available_gib: float | None = None, gpus=(), bandwidth=20e9) -> fit.Hardware:
    return fit.Hardware(ram_total=int(ram_gib * GiB), ram_available=int((available_gib or ram_gib) * GiB),
                        cpu_logical=2, cpu_physical=2, gpus=list(gpus), bandwidth=bandwidth,
                        bandwidth_source="test")


def test_kv_cache_formula():
    # Llama-3.1-8B: 32 layers, 8 KV heads of 128, f16: 128 KiB per token, 512 MiB at 4096 tokens
    assert fit.kv_cache_bytes(32, 1, 8, 128) == 128 * 1024
    assert fit.kv_cache_bytes(32, 4096, 8, 128) == 512 * MiB
    # Llama-3.1-70B at 8192: 80 layers -> 2.5 GiB; an 8-bit cache halves it
    assert fit.kv_cache_bytes(80, 8192, 8, 128) == int(2.5 * GiB)
    assert fit.kv_cache_bytes(80, 8192, 8, 128, bytes_per_element=1) == int(1.25 * GiB)


def test_weight_and_overhead_formulae():
    assert fit.weights_bytes(1_000_000_000, 16) == 2_000_000_000
    assert fit.weights_bytes(1_000_000_000, 4.5) == 562_500_000
    # an 8B Q4_K_M file is about 4.58 GiB
    assert fit.weights_bytes(8_030_000_000, fit.BITS_PER_WEIGHT["Q4_K_M"]) / GiB == pytest.approx(4.57, abs=0.02)
    assert fit.overhead_bytes(0) == 256 * MiB
    assert fit.overhead_bytes(10 * GiB) == 256 * MiB + int(0.05 * 10 * GiB)


def test_tokens_per_second_is_bandwidth_over_bytes_per_token():
    assert fit.tokens_per_second(5_000_000_000, 10e9) == pytest.approx(fit.DECODE_EFFICIENCY * 2)
    assert fit.tokens_per_second(0, 10e9) > 0  # no division by zero


def test_reference_estimate_adds_up():
    e = fit.estimate_reference("8B", "Q4_K_M", 4096, machine())
    assert e.weights == fit.weights_bytes(8_030_000_000, 4.89)
    assert e.kv_cache == 512 * MiB
    assert e.total == e.weights + e.kv_cache + e.overhead
    assert e.fit == "yes"
    assert e.tokens_per_s == pytest.approx(0.6 * 20e9 / e.weights)


def test_seventy_b_f16_does_not_fit_in_24_gib():
    hw = machine(24)
    assert fit.estimate_reference("70B", "F16", 4096, hw).fit == "no"
    assert fit.estimate_reference("70B", "Q4_K_M", 4096, hw).fit == "no"
    assert fit.estimate_reference("8B", "F16", 4096, hw).fit == "yes"


def test_verdicts():
    hw = machine(ram_gib=32, available_gib=8)
    assert fit.fit_verdict(4 * GiB, hw) == "yes"
    assert fit.fit_verdict(20 * GiB, hw) == "tight"
    assert fit.fit_verdict(40 * GiB, hw) == "no"
    gpu = machine(ram_gib=32, available_gib=8, gpus=[fit.GPU("RTX 4090", 24 * GiB)])
    assert fit.fit_verdict(20 * GiB, gpu) == "yes (GPU)"
    assert fit.fit_verdict(30 * GiB, gpu) == "tight"


def test_reference_table_covers_sizes_and_quantizations():
    rows = fit.reference_table(4096, machine(24))
    assert [(e.label, e.quantization) for e in rows] == [
        (size, q) for size in ("1B", "3B", "8B", "14B", "32B", "70B") for q in ("Q4_K_M", "Q5_K_M", "Q8_0", "F16")]
    assert [e.fit for e in rows if e.label == "1B"] == ["yes"] * 4
    assert [e.fit for e in rows if e.label == "70B"] == ["no"] * 4
    # more context, more memory
    assert fit.reference_table(32768, machine(24))[0].total > rows[0].total


@needs_stories
def test_stories260k_fits_this_machine():
    info = read_gguf_info(STORIES)
    hw = fit.detect_hardware(measure=False)
    e = fit.estimate_file(info, 4096, hw)
    assert e.n_ctx == 512  # capped at the trained context
    assert e.weights == STORIES.stat().st_size
    assert e.kv_cache == 2 * 5 * 512 * 4 * 8 * 2  # layers x ctx x kv heads x head dim x f16, for K and V
    assert e.fit == "yes"
    assert e.tokens_per_s == pytest.approx(fit.DECODE_EFFICIENCY * hw.bandwidth / info.bytes_per_token())
    assert fit.estimate_file(info, 256, hw).kv_cache == e.kv_cache // 2


def test_this_machine():
    total, available = fit.memory_info()
    assert 0 < available <= total
    logical, physical = fit.cpu_counts()
    assert logical >= 1 and (physical is None or 1 <= physical <= logical)
    hw = fit.detect_hardware(measure=False)
    assert hw.bandwidth == fit.DEFAULT_BANDWIDTH and hw.bandwidth_source == "default"
    lines = hw.describe()
    assert lines[0].startswith("RAM:") and "GiB available" in lines[0]
    if not hw.gpus:
        assert "none found (CPU only)" in lines[2]


def test_bandwidth_measurement_is_quick():
    t0 = time.perf_counter()
    measured = fit.measure_bandwidth(seconds=0.2, threads=2)
    assert time.perf_counter() - t0 < 3
    assert measured is not None
    bandwidth, how = measured
    assert 1e8 < bandwidth < 1e13 and how.startswith("measured")
