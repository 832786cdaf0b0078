"""Tokens/s of the embedded engine called directly vs through the gateway.

    python -m bench.local [--model PATH.gguf] [--tokens 400] [--requests 12] [--rounds 5]

Direct: the llama.cpp engine in this process, streaming to a callback.
Gateway: `switchyard serve` with the same engine settings, streamed over HTTP
(SSE) on 127.0.0.1 by a lean aiohttp client. Both at concurrency 1 and 4, rounds interleaved, with
the same prompt, greedy decoding and `ignore_eos` so every request produces
exactly --tokens tokens. Prints a markdown table; writes JSON to bench/results/."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import aiohttp

from switchyard.engine.llamacpp import EngineSettings, LlamaCppEngine

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT.parent / "shared" / "models" / "stories260K.gguf"
SETTINGS = EngineSettings(n_ctx=4096, slots=4, threads=1)


def request_body(tokens: int, stream: bool = True) -> dict:
    return {"model": "bench", "messages": [{"role": "user", "content": "Once upon a time"}], "temperature": 0,
            "max_tokens": tokens, "ignore_eos": True, "stream": stream, "stream_options": {"include_usage": True}}


def direct(engine: LlamaCppEngine, tokens: int, requests: int, concurrency: int) -> float:
    body = json.dumps(request_body(tokens)).encode()
    produced = [0]
    lock = threading.Lock()

    def one() -> None:
        def on_chunk(data: bytes) -> bool:
            if b'"content":"' in data:
                with lock:
                    produced[0] += 1
            return False
        engine.chat(body, on_chunk)

    one()  # warm-up
    produced[0] = 0
    started = time.perf_counter()
    per_worker = requests // concurrency
    workers = [threading.Thread(target=lambda: [one() for _ in range(per_worker)]) for _ in range(concurrency)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return produced[0] / (time.perf_counter() - started)


async def through_gateway(url: str, tokens: int, requests: int, concurrency: int) -> float:
    body = request_body(tokens)
    produced = 0

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal produced
        async with session.post(url + "/v1/chat/completions", json=body) as resp:
            resp.raise_for_status()
            async for line in resp.content:
                if line.startswith(b"data: ") and b'"content":"' in line:
                    produced += 1

    async with aiohttp.ClientSession() as session:
        await one(session)  # warm-up
        produced = 0
        started = time.perf_counter()
        per_worker = requests // concurrency

        async def worker():
            for _ in range(per_worker):
                await one(session)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return produced / (time.perf_counter() - started)


def start_gateway(model: Path, port: int, workdir: Path) -> subprocess.Popen:
    config = workdir / "switchyard.yaml"
    config.write_text(f"""
providers:
  local: {{kind: llamacpp, model_path: "{model}", n_ctx: {SETTINGS.n_ctx}, slots: {SETTINGS.slots},
          threads: {SETTINGS.threads}}}
models:
  - {{name: bench, targets: [{{provider: local, model: bench}}]}}
store: {{path: "{workdir / 'bench.db'}"}}
""")
    process = subprocess.Popen([sys.executable, "-m", "switchyard", "serve", "--config", str(config),
                                "--port", str(port), "--log-level", "warning"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the gateway did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--port", type=int, default=4099)
    parser.add_argument("--rounds", type=int, default=5, help="runs per figure; the median is reported")
    args = parser.parse_args()
    if not args.model.is_file():
        raise SystemExit(f"no model at {args.model}: pass --model PATH.gguf")

    rows = [{"concurrency": c, "gateway": [], "direct": []} for c in (1, 4)]
    engine = LlamaCppEngine(args.model, "bench", SETTINGS)
    with tempfile.TemporaryDirectory() as tmp:
        gateway = start_gateway(args.model, args.port, Path(tmp))
        try:
            # interleaved, so drift in the machine's speed touches both sides alike
            for _ in range(args.rounds):
                for row in rows:
                    row["gateway"].append(asyncio.run(through_gateway(
                        f"http://127.0.0.1:{args.port}", args.tokens, args.requests, row["concurrency"])))
                    row["direct"].append(direct(engine, args.tokens, args.requests, row["concurrency"]))
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.wait(30)
    engine.close()
    for row in rows:
        row["gateway_tok_s"] = statistics.median(row["gateway"])
        row["direct_tok_s"] = statistics.median(row["direct"])
        row["ratio"] = row["gateway_tok_s"] / row["direct_tok_s"]

    print(f"\nModel {args.model.name}, {args.tokens} tokens x {args.requests} requests, streaming, "
          f"median of {args.rounds} rounds, "
          f"engine threads={SETTINGS.threads} slots={SETTINGS.slots}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores\n")
    print("| concurrency | direct tok/s | gateway tok/s | gateway / direct |")
    print("|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['concurrency']} | {r['direct_tok_s']:.0f} | {r['gateway_tok_s']:.0f} | {r['ratio']:.1%} |")
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "local.json").write_text(json.dumps({"model": str(args.model), "tokens": args.tokens,
                                                "requests": args.requests, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
