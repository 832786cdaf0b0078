"""Hardware advisor: will a model fit in this machine's memory, and how fast will it decode?

Memory for a model at context length n_ctx (all sizes in bytes):

    weights  = the GGUF file's size                      (a file on disk)
             = parameters x bits_per_weight / 8           (a model not on disk; BITS_PER_WEIGHT)
    kv_cache = 2 x n_layers x n_ctx x n_head_kv x head_dim x bytes_per_element
               (K and V for every layer and position; head_dim = n_embd / n_head;
                bytes_per_element = 2 for the default f16 cache)
    overhead = OVERHEAD_FIXED (256 MiB: compute buffers for a 512-token batch, logits,
               the runtime) + OVERHEAD_FRACTION (5 %) of the weights (per-tensor
               buffers, alignment, page-cache slack)
    total    = weights + kv_cache + overhead

A model "fits" (`yes`) when total <= the memory available now (MemAvailable, or a
GPU's VRAM when one is found); `tight` when total <= total RAM (it would need other
programs to give memory back); `no` otherwise.

Decoding one token on a CPU streams every weight from memory once, so it is
memory-bandwidth-bound:

    tokens/s = DECODE_EFFICIENCY x bandwidth / bytes_per_token

where bytes_per_token is the weights' size (for a mixture-of-experts GGUF, the
shared tensors plus expert_used/expert_count of the expert tensors) and bandwidth
is measured by copying 48 MiB buffers with numpy (one thread per physical core,
~0.2 s, counting bytes read and written); without numpy a single-threaded bytearray
copy is used, and DEFAULT_BANDWIDTH (10 GB/s) when measuring is turned off.
DECODE_EFFICIENCY (0.6) is the share of copy bandwidth llama.cpp-style decoding
typically reaches. Expect the estimate to be right within about a factor of two;
prompt processing (prefill) is compute-bound and not estimated.

RAM comes from /proc/meminfo (MemTotal, MemAvailable), lowered to a cgroup memory
limit when one is set, else os.sysconf; cores from os.sched_getaffinity /
os.cpu_count, physical cores from /proc/cpuinfo; GPUs from `nvidia-smi` when present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .gguf import GGUFInfo

GiB = 1 << 30
MiB = 1 << 20
OVERHEAD_FIXED = 256 * MiB
OVERHEAD_FRACTION = 0.05
DECODE_EFFICIENCY = 0.6
DEFAULT_BANDWIDTH = 10e9  # bytes/s
KV_BYTES_F16 = 2
_BENCH_BYTES = 48 * MiB

# Average bits per weight of whole GGUF files (llama.cpp's mixes keep some tensors at
# higher precision), as measured on Llama-3.1-8B.
BITS_PER_WEIGHT: dict[str, float] = {
    "Q2_K": 3.16, "Q3_K_M": 4.00, "Q4_0": 4.64, "Q4_K_S": 4.67, "Q4_K_M": 4.89, "IQ4_XS": 4.42,
    "Q5_K_M": 5.70, "Q6_K": 6.56, "Q8_0": 8.50, "F16": 16.0, "BF16": 16.0, "F32": 32.0,
}
TABLE_QUANTS = ("Q4_K_M", "Q5_K_M", "Q8_0", "F16")


@dataclass(frozen=True)
class ModelShape:
    """The numbers the estimate needs for a model that is not on disk."""

    parameters: int
    n_layers: int
    n_head_kv: int
    head_dim: int
    reference: str  # the public model the shape is taken from


REFERENCE_MODELS: dict[str, ModelShape] = {
    "1B": ModelShape(1_236_000_000, 16, 8, 64, "Llama-3.2-1B"),
    "3B": ModelShape(3_213_000_000, 28, 8, 128, "Llama-3.2-3B"),
    "8B": ModelShape(8_030_000_000, 32, 8, 128, "Llama-3.1-8B"),
    "14B": ModelShape(14_770_000_000, 48, 8, 128, "Qwen2.5-14B"),
    "32B": ModelShape(32_760_000_000, 64, 8, 128, "Qwen2.5-32B"),
    "70B": ModelShape(70_550_000_000, 80, 8, 128, "Llama-3.1-70B"),
}


@dataclass
class GPU:
    name: str
    vram_bytes: int


@dataclass
class Hardware:
    ram_total: int
    ram_available: int
    cpu_logical: int
    cpu_physical: int | None
    gpus: list[GPU] = field(default_factory=list)
    bandwidth: float = DEFAULT_BANDWIDTH  # bytes/s
    bandwidth_source: str = "default"

    @property
    def vram_total(self) -> int:
        return max((g.vram_bytes for g in self.gpus), default=0)

    def describe(self) -> list[str]:
        cores = f"{self.cpu_physical} physical, " if self.cpu_physical else ""
        gpus = (", ".join(f"{g.name} ({g.vram_bytes / GiB:.1f} GiB)" for g in self.gpus)
                if self.gpus else "none found (CPU only)")
        return [f"RAM:       {self.ram_available / GiB:.1f} GiB available of {self.ram_total / GiB:.1f} GiB",
                f"CPU:       {cores}{self.cpu_logical} logical cores",
                f"GPU:       {gpus}",
                f"Bandwidth: {self.bandwidth / 1e9:.1f} GB/s ({self.bandwidth_source})"]


@dataclass
class Estimate:
    label: str
    quantization: str
    parameters: int | None
    bits_per_weight: float | None
    n_ctx: int
    weights: int
    kv_cache: int
    overhead: int
    tokens_per_s: float
    fit: str

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.overhead


# -- the formulae -------------------------------------------------------------------------

def weights_bytes(parameters: int, bits_per_weight: float) -> int:
    return int(parameters * bits_per_weight / 8)


def kv_cache_bytes(n_layers: int, n_ctx: int, n_head_kv: int, head_dim: int,
                   bytes_per_element: int = KV_BYTES_F16) -> int:
    return 2 * n_layers * n_ctx * n_head_kv * head_dim * bytes_per_element


def overhead_bytes(weights: int) -> int:
    return OVERHEAD_FIXED + int(OVERHEAD_FRACTION * weights)


def tokens_per_second(bytes_per_token: int, bandwidth: float) -> float:
    return DECODE_EFFICIENCY * bandwidth / max(bytes_per_token, 1)


def fit_verdict(total: int, hw: Hardware) -> str:
    if hw.gpus and total <= hw.vram_total:
        return "yes (GPU)"
    if total <= hw.ram_available:
        return "yes"
    if total <= hw.ram_total:
        return "tight"
    return "no"


def estimate_reference(size: str, quantization: str, n_ctx: int, hw: Hardware) -> Estimate:
    """A common model size (REFERENCE_MODELS) at a quantization (BITS_PER_WEIGHT)."""
    shape = REFERENCE_MODELS[size]
    bpw = BITS_PER_WEIGHT[quantization]
    weights = weights_bytes(shape.parameters, bpw)
    kv = kv_cache_bytes(shape.n_layers, n_ctx, shape.n_head_kv, shape.head_dim)
    overhead = overhead_bytes(weights)
    return Estimate(size, quantization, shape.parameters, bpw, n_ctx, weights, kv, overhead,
                    tokens_per_second(weights, hw.bandwidth), fit_verdict(weights + kv + overhead, hw))


def estimate_file(info: GGUFInfo, n_ctx: int, hw: Hardware) -> Estimate:
    """A GGUF file: weights = its size; n_ctx is capped at the context it was trained for."""
    if info.context_length:
        n_ctx = min(n_ctx, info.context_length)
    weights = info.size_bytes
    kv = 0
    if info.n_layers and info.n_head_kv and info.head_dim:
        kv = kv_cache_bytes(info.n_layers, n_ctx, info.n_head_kv, info.head_dim)
    overhead = overhead_bytes(weights)
    return Estimate(info.name, info.quantization, info.parameters, info.bits_per_weight, n_ctx, weights, kv,
                    overhead, tokens_per_second(info.bytes_per_token(), hw.bandwidth),
                    fit_verdict(weights + kv + overhead, hw))


def reference_table(n_ctx: int, hw: Hardware, quants: tuple[str, ...] = TABLE_QUANTS) -> list[Estimate]:
    return [estimate_reference(size, q, n_ctx, hw) for size in REFERENCE_MODELS for q in quants]


# -- this machine ---------------------------------------------------------------------------

def detect_hardware(*, measure: bool = True) -> Hardware:
    total, available = memory_info()
    logical, physical = cpu_counts()
    hw = Hardware(ram_total=total, ram_available=available, cpu_logical=logical, cpu_physical=physical,
                  gpus=detect_gpus())
    if measure:
        measured = measure_bandwidth(threads=physical or logical)
        if measured:
            hw.bandwidth, hw.bandwidth_source = measured
    return hw


def memory_info() -> tuple[int, int]:
    """(total, available) bytes of RAM, lowered to the cgroup's memory limit if any."""
    total = available = 0
    try:
        fields = {}
        for line in Path("/proc/meminfo").read_text().splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts and parts[0].isdigit():
                fields[key] = int(parts[0]) * (1024 if parts[1:2] == ["kB"] else 1)
        total = fields.get("MemTotal", 0)
        available = fields.get("MemAvailable", fields.get("MemFree", 0))
    except OSError:
        pass
    if not total:
        try:
            page = os.sysconf("SC_PAGE_SIZE")
            total = os.sysconf("SC_PHYS_PAGES") * page
            available = os.sysconf("SC_AVPHYS_PAGES") * page
        except (ValueError, OSError, AttributeError):
            return 0, 0
    limit, used = _cgroup_memory()
    if limit and limit < total:
        total = limit
        available = min(available, max(limit - (used or 0), 0))
    return total, available


def _cgroup_memory() -> tuple[int | None, int | None]:
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            raw = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if not raw.isdigit():
            return None, None  # "max": no limit
        try:
            used = int(Path(usage_file).read_text().strip())
        except (OSError, ValueError):
            used = None
        return int(raw), used
    return None, None


def cpu_counts() -> tuple[int, int | None]:
    """(logical CPUs this process may use, physical cores or None when unknown)."""
    try:
        logical = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        logical = os.cpu_count() or 1
    physical = None
    try:
        cores: set[tuple[str, str]] = set()
        phys_id = "0"
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = (s.strip() for s in line.partition(":"))
            if key == "physical id":
                phys_id = value
            elif key == "core id":
                cores.add((phys_id, value))
        if cores:
            physical = min(len(cores), logical)
    except OSError:
        pass
    return logical, physical


def detect_gpus() -> list[GPU]:
    """NVIDIA GPUs via nvidia-smi; [] when it is absent or fails."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run([exe, "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=5, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        name, _, mib = line.rpartition(",")
        if mib.strip().isdigit():
            gpus.append(GPU(name.strip(), int(mib.strip()) * MiB))
    return gpus


def measure_bandwidth(seconds: float = 0.2, threads: int = 1) -> tuple[float, str] | None:
    """(bytes/s, how) from copying buffers for about `seconds`; None if it cannot run."""
    try:
        import numpy as np
    except ImportError:
        np = None
    if np is None:
        try:
            src = bytearray(b"\1") * _BENCH_BYTES
            dst = bytearray(_BENCH_BYTES)
            dst[:] = src
            n, t0 = 0, time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                dst[:] = src
                n += 1
            return 2 * _BENCH_BYTES * n / (time.perf_counter() - t0), "measured, 1 thread"
        except MemoryError:
            return None

    threads = max(1, min(threads, 8))
    copied = [0] * threads
    start = threading.Barrier(threads + 1)

    def work(i: int) -> None:
        src = np.ones(_BENCH_BYTES, dtype=np.uint8)
        dst = np.empty_like(src)
        np.copyto(dst, src)  # fault the pages in before timing
        start.wait()
        stop = time.perf_counter() + seconds
        while time.perf_counter() < stop:
            np.copyto(dst, src)
            copied[i] += 2 * _BENCH_BYTES  # read + written

    try:
        workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
        for w in workers:
            w.start()
        start.wait(timeout=10)
        t0 = time.perf_counter()
        for w in workers:
            w.join(timeout=10)
        elapsed = time.perf_counter() - t0
    except (MemoryError, threading.BrokenBarrierError, RuntimeError):
        return None
    if not sum(copied) or elapsed <= 0:
        return None
    return sum(copied) / elapsed, f"measured, numpy copy x{threads} thread{'s' if threads > 1 else ''}"
