"""Gateway overhead side by side: Switchyard, a bare Python relay, LiteLLM and Portkey.

    python -m bench.gateway [--duration 10] [--connections 64] [--only switchyard,relay] [--quick]
    python -m bench.gateway --soak 600 [--soak-rate 200]

On 127.0.0.1: a fake OpenAI upstream (bench/upstream.py) measured directly, then each
gateway in front of it, pinned to one core (taskset) with the load generator on another:
max req/s with N connections (wrk, or Python when wrk is absent), latency added over the
direct upstream at open-loop 100 and 500 rps, streaming time to first byte added, CPU ms
per request (/proc, over a fixed number of requests), RSS before and after. Prints a
markdown table and writes JSON to bench/results/gateway-<timestamp>.json. Peers that are
not installed are skipped with how to install them. --soak drives Switchyard at a steady
rate and reports its RSS every 30 s."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import uvloop

from . import load, peers
from .load import closed_loop, open_loop
from .peers import cpu_seconds, rss_mb, settle

RESULTS = peers.ROOT / "bench" / "results"
GATEWAYS = ("relay", "switchyard", "portkey", "litellm")


@dataclass
class Options:
    duration: float = 10.0  # seconds per measurement
    connections: int = 64
    rates: tuple[int, ...] = (100, 500)
    stream_rate: int = 25
    cpu_requests: int = 5000  # fixed count for CPU per request (capped at 3 x duration)
    warmup: float = 2.0
    only: tuple[str, ...] = GATEWAYS
    loadgen: str = "auto"  # wrk | python | auto
    delay_ms: float = 0.0
    chunks: int = 8
    chunk_gap_ms: float = 1.0
    settle_max: float = 30.0  # seconds to wait for the process to go idle between runs
    settle_window: float = 0.3
    out: Path = RESULTS
    cpus: dict = field(default_factory=dict)  # gateway / load / upstream, filled by pick_cpus


def pick_cpus() -> dict:
    """Gateway on its own core, the load generator on another; the upstream on a third if there is one."""
    if shutil.which("taskset") is None:
        print("taskset not found (util-linux): processes are not pinned", file=sys.stderr)
        return {"gateway": None, "load": None, "upstream": None}
    cores = sorted(os.sched_getaffinity(0))
    return {"gateway": cores[-1], "load": cores[0], "upstream": cores[1] if len(cores) > 2 else cores[0]}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _with_cpu(pid: int, run) -> dict:
    """Run a measurement; add the process's CPU use: share of one core, and ms per answered request."""
    before, t0 = cpu_seconds(pid), time.perf_counter()
    result = run()
    used = cpu_seconds(pid) - before
    return {**result, "cpu_util": round(used / (time.perf_counter() - t0), 2),
            "cpu_ms_per_request": round(used * 1000 / max(1, result["ok"]), 3)}


def measure(service: peers.Service, o: Options, use_wrk: bool, direct: load.Endpoint | None = None) -> dict:
    ep, pid = service.endpoint, service.pid
    r = {"name": service.name, "version": service.version, "rss_before_mb": rss_mb(pid)}
    uvloop.run(closed_loop(ep, min(o.connections, 16), o.warmup))
    settle(pid, o.settle_max, o.settle_window)
    log(f"  {service.name}: throughput, {o.connections} connections, {o.duration:g}s")
    r["throughput"] = _with_cpu(pid, lambda: load.wrk_throughput(ep, o.connections, o.duration, o.cpus["load"])
                                if use_wrk else uvloop.run(closed_loop(ep, o.connections, o.duration)))
    settle(pid, o.settle_max, o.settle_window)
    log(f"  {service.name}: CPU over {o.cpu_requests} requests")
    r["fixed"] = _with_cpu(pid, lambda: uvloop.run(closed_loop(ep, o.connections, 3 * o.duration,
                                                               count=o.cpu_requests)))
    r["cpu_ms_per_request"] = r["fixed"]["cpu_ms_per_request"]
    runs = [("stream", o.stream_rate, True), *((f"open_{rate}", rate, False) for rate in o.rates)]
    for key, rate, stream in runs:  # each right after the same run straight to the upstream, if given
        settle(pid, o.settle_max, o.settle_window)
        log(f"  {service.name}: open loop at {rate} rps{', streaming' if stream else ''}")
        if direct is not None:
            r.setdefault("direct", {})[key] = uvloop.run(open_loop(direct, rate, o.duration, stream=stream))
        r[key] = _with_cpu(pid, lambda rate=rate, stream=stream: uvloop.run(
            open_loop(ep, rate, o.duration, stream=stream)))
    r["rss_after_mb"] = rss_mb(pid)
    return r


def run_bench(o: Options) -> dict:
    o.cpus = o.cpus or pick_cpus()
    use_wrk = o.loadgen != "python" and load.have_wrk()
    if o.loadgen != "python" and not use_wrk:
        log(load.WRK_HINT)
    results, skipped, loadavg = {}, {}, os.getloadavg()
    with (tempfile.TemporaryDirectory(prefix="switchyard-bench-") as tmp,
          peers.start_upstream(Path(tmp), o.cpus["upstream"], o.delay_ms, o.chunks, o.chunk_gap_ms) as upstream):
        log("upstream (direct)")
        results["upstream"] = measure(upstream, o, use_wrk)
        for name in o.only:
            if why := peers.missing(name):
                log(f"skipping {name}: {why}")
                skipped[name] = why
                continue
            log(name)
            try:
                service = peers.STARTERS[name](Path(tmp), o.cpus["gateway"], upstream.base_url)
            except RuntimeError as exc:
                log(f"skipping {name}: it did not start: {exc}")
                skipped[name] = f"did not start: {str(exc)[-500:]}"
                continue
            with service:
                results[name] = measure(service, o, use_wrk, upstream.endpoint)
    report = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), "command": command(),
              "options": {**asdict(o), "out": str(o.out)}, "loadgen": "wrk" if use_wrk else "python",
              "results": results, "skipped": skipped, "loadavg_start": loadavg}
    report |= compare(results)
    o.out.mkdir(parents=True, exist_ok=True)
    path = o.out / f"gateway-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    report["path"] = str(path)
    return report


def _sub(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 3)


def _ratios(values: dict) -> dict:
    relay, mine = values.get("relay"), values.get("switchyard")
    return {name: {"vs_relay": round(v / relay, 3) if relay and v is not None else None,
                   "switchyard_x": round(mine / v, 2) if mine and v else None} for name, v in values.items()}


def compare(results: dict) -> dict:
    """Latency added over the direct upstream; throughput ratios (measured, and per core of CPU time,
    which holds when other processes take part of the core); the issue's targets for Switchyard."""
    added = {}
    for name, r in results.items():
        if name == "upstream":
            continue
        direct = r.get("direct") or results["upstream"]  # the upstream measured just before, else at the start
        added[name] = {"ttfb_p50_ms": _sub(r["stream"].get("ttfb_p50_ms"), direct["stream"].get("ttfb_p50_ms"))}
        for key in (k for k in r if k.startswith("open_")):
            for q in ("p50_ms", "p99_ms"):
                added[name][f"{q}@{key[5:]}"] = _sub(r[key][q], direct[key][q])
    ratios = _ratios({name: r["throughput"]["rps"] for name, r in results.items()})
    per_core = _ratios({name: 1000 / r["cpu_ms_per_request"] if r["cpu_ms_per_request"] else None
                        for name, r in results.items()})
    targets = {}
    if "switchyard" in results:
        sy, mine = results["switchyard"], added["switchyard"]
        for peer, need in (("portkey", 3.0), ("litellm", 30.0)):
            if peer in results:
                targets[f"throughput >= {need:g}x {peer}"] = (ratios[peer]["switchyard_x"] or 0) >= need
        if "relay" in results:
            targets["throughput >= 70% of the relay"] = (ratios["switchyard"]["vs_relay"] or 0) >= 0.7
        targets["no errors at max throughput"] = sy["throughput"]["errors"] == 0
        if "open_100" in sy:
            targets["added p50 <= 1 ms at 100 rps"] = (mine["p50_ms@100"] or 0) <= 1.0
            targets["added p99 <= 5 ms at 100 rps"] = (mine["p99_ms@100"] or 0) <= 5.0
        if "open_500" in sy:
            targets["holds 500 rps without errors"] = sy["open_500"]["errors"] == 0
        targets["streaming TTFB added p50 <= 1 ms"] = (mine["ttfb_p50_ms"] or 0) <= 1.0
    return {"added": added, "ratios": ratios, "ratios_per_core": per_core, "targets": targets}


def _f(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def table(report: dict) -> str:
    results, added, ratios = report["results"], report["added"], report["ratios"]
    conns = report["options"]["connections"]
    rates = [k[5:] for k in results.get("upstream", {}) if k.startswith("open_")]
    head = ["", f"req/s, {conns} conns", "core used", "req/s per core", "x relay", "Switchyard / this"]
    head += [f"added p50 / p99 @{rate} rps (ms)" for rate in rates]
    head += ["stream TTFB added p50 (ms)", "CPU ms/req", "RSS MB before → after"]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for name, r in results.items():
        t = r["throughput"]
        row = [f"{name} {r['version']}".strip() if name != "upstream" else "upstream (direct)",
               f"{t['rps']:.0f}" + (f" ({t['errors']} err)" if t["errors"] else ""), f"{t['cpu_util']:.0%}",
               f"{1000 / r['cpu_ms_per_request']:.0f}" if r["cpu_ms_per_request"] else "-",
               *(("-", "-") if name == "upstream" else (_f(ratios[name]["vs_relay"]),
                                                        _f(ratios[name]["switchyard_x"])))]
        for rate in rates:
            o = r[f"open_{rate}"]
            err = f", {o['errors']} err" if o["errors"] else ""
            if name == "upstream":
                row.append(f"({_f(o['p50_ms'])} / {_f(o['p99_ms'])} abs.)")
            else:
                row.append(f"{_f(added[name][f'p50_ms@{rate}'])} / {_f(added[name][f'p99_ms@{rate}'])}{err}")
        row.append(f"({_f(r['stream']['ttfb_p50_ms'])} abs.)" if name == "upstream"
                   else _f(added[name]["ttfb_p50_ms"]))
        row += [_f(r["cpu_ms_per_request"], 3), f"{r['rss_before_mb']:.0f} → {r['rss_after_mb']:.0f}"]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def machine() -> dict:
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        model = next(x.split(":", 1)[1].strip() for x in lscpu.splitlines() if x.startswith("Model name"))
    except (OSError, StopIteration):
        model = platform.processor() or platform.machine()
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(),
            "kernel": platform.release(), "loadavg": os.getloadavg()}


def command() -> str:
    return " ".join(["python -m bench.gateway", *sys.argv[1:]])


def print_report(report: dict) -> None:
    m = report["machine"]
    print(f"\n`{report['command']}` — {m['cpu']}, {m['cores']} cores, Python {m['python']}, load generator "
          f"{report['loadgen']}, {report['options']['duration']:g}s per measurement; gateway on CPU "
          f"{report['options']['cpus']['gateway']}, load on CPU {report['options']['cpus']['load']}; load average "
          f"{report['loadavg_start'][0]:.2f} at the start, {m['loadavg'][0]:.2f} at the end\n")
    print(table(report))
    for name, why in report["skipped"].items():
        print(f"\n{name} skipped: {why}")
    if report["targets"]:
        print("\nSwitchyard targets (issue 7):")
        for what, ok in report["targets"].items():
            print(f"- {'PASS' if ok else 'FAIL'}: {what}")
    print(f"\nJSON: {report['path']}")


def soak(o: Options, seconds: float, rate: int, interval: float, warmup: float | None) -> dict:
    """Switchyard at a steady open-loop rate for `seconds`; RSS every `interval`; growth after warm-up."""
    warmup = min(60.0, seconds / 5) if warmup is None else warmup
    samples = []
    with (tempfile.TemporaryDirectory(prefix="switchyard-soak-") as tmp,
          peers.start_upstream(Path(tmp), o.cpus["upstream"], o.delay_ms, o.chunks, o.chunk_gap_ms) as upstream,
          peers.start_switchyard(Path(tmp), o.cpus["gateway"], upstream.base_url) as service):
        samples.append({"t_s": 0, "rss_mb": rss_mb(service.pid)})
        print(f"Soak: Switchyard at {rate} rps for {seconds:g}s\n\n| t (s) | RSS MB | p50 ms | p99 ms | errors |\n"
              f"|---:|---:|---:|---:|---:|\n| 0 | {samples[0]['rss_mb']:.1f} | | | |", flush=True)
        start = time.monotonic()
        while (elapsed := time.monotonic() - start) < seconds - 0.5:
            r = uvloop.run(open_loop(service.endpoint, rate, min(interval, seconds - elapsed)))
            samples.append({"t_s": round(time.monotonic() - start, 1), "rss_mb": rss_mb(service.pid),
                            **{k: r[k] for k in ("p50_ms", "p99_ms", "errors", "error_kinds", "rps")}})
            s = samples[-1]
            print(f"| {s['t_s']:.0f} | {s['rss_mb']:.1f} | {_f(s['p50_ms'])} | {_f(s['p99_ms'])} | {s['errors']} |",
                  flush=True)
    base = next((s for s in samples[1:] if s["t_s"] >= warmup), samples[-1])
    growth = (samples[-1]["rss_mb"] - base["rss_mb"]) / base["rss_mb"]
    report = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), "command": command(),
              "seconds": seconds, "rate": rate, "interval_s": interval, "warmup_s": warmup, "samples": samples,
              "rss_growth_after_warmup": round(growth, 4), "errors": sum(s.get("errors", 0) for s in samples),
              "target_met": growth < 0.05}
    o.out.mkdir(parents=True, exist_ok=True)
    path = o.out / f"gateway-soak-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"\nRSS after warm-up (t={base['t_s']:.0f}s): {base['rss_mb']:.1f} MB → {samples[-1]['rss_mb']:.1f} MB at "
          f"the end: {growth:+.1%} ({'PASS' if growth < 0.05 else 'FAIL'}: target < 5%); "
          f"{report['errors']} errors\nJSON: {path}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--duration", type=float, help="seconds per measurement (default 10; 2 with --quick)")
    add("--connections", type=int, default=64, help="connections for max throughput")
    add("--only", help=f"comma-separated, from {','.join(GATEWAYS)}")
    add("--quick", action="store_true", help="short measurements: a smoke run")
    add("--loadgen", choices=["auto", "wrk", "python"], default="auto", help="closed-loop generator")
    add("--rates", default="100,500", help="open-loop rates (req/s)")
    add("--chunks", type=int, default=8, help="chunks per streamed answer of the fake upstream")
    add("--chunk-gap-ms", type=float, default=1.0, help="the fake upstream's pause between streamed chunks")
    add("--delay-ms", type=float, default=0.0, help="the fake upstream's delay before answering")
    add("--install-peers", action="store_true", help="install LiteLLM and Portkey under bench/peers/ first")
    add("--out", type=Path, default=RESULTS, help="folder for the JSON results")
    add("--soak", type=float, metavar="SECONDS", help="soak mode: Switchyard at --soak-rate for SECONDS")
    add("--soak-rate", type=int, default=200, help="req/s in soak mode")
    add("--soak-interval", type=float, default=30.0, help="seconds between RSS samples in soak mode")
    add("--soak-warmup", type=float, help="seconds before the baseline RSS sample (default min(60, SECONDS/5))")
    args = parser.parse_args()
    o = Options(connections=args.connections, loadgen=args.loadgen, delay_ms=args.delay_ms, chunks=args.chunks,
                chunk_gap_ms=args.chunk_gap_ms, out=args.out, rates=tuple(int(x) for x in args.rates.split(",")))
    if args.quick:
        o.duration, o.warmup, o.cpu_requests, o.settle_max = 2.0, 0.5, 1000, 10.0
    o.duration = args.duration or o.duration
    if args.only:
        o.only = tuple(x.strip() for x in args.only.split(",") if x.strip())
        if unknown := set(o.only) - set(GATEWAYS):
            parser.error(f"--only: unknown {', '.join(sorted(unknown))}; choose from {', '.join(GATEWAYS)}")
    o.cpus = pick_cpus()
    if o.cpus["load"] is not None:
        os.sched_setaffinity(0, {o.cpus["load"]})  # the Python generator runs in this process
    if args.install_peers:
        peers.install_peers()
    if args.soak:
        soak(o, args.soak, args.soak_rate, args.soak_interval, args.soak_warmup)
    else:
        print_report(run_bench(o))


if __name__ == "__main__":
    main()
