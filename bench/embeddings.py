"""Sentences/s of the in-process embeddings model (all-MiniLM-L6-v2 on ONNX Runtime).

    python -m bench.embeddings [--sentences 384] [--threads 1] [--batch-sizes 1 32] [--repeat 3]

Generated English-like sentences of 5 to 40 words (seeded, so every run embeds
the same text), embedded by `MiniLM.embed` in one thread (ONNX Runtime intra-op
threads = --threads) at each batch size. Reports the best of --repeat runs
after one warm-up pass, and the one-time load (hash check + graph build +
session) separately. Prints a markdown table."""

from __future__ import annotations

import argparse
import os
import platform
import random
import time

import onnxruntime

from switchyard.engine.minilm import MiniLM

SUBJECTS = ["The gateway", "A small team", "My neighbour", "The new model", "Our server", "A tired engineer",
            "The river", "An old library", "The city council", "A curious cat", "The weather service", "She"]
VERBS = ["routes", "writes", "reads", "measures", "ignores", "rebuilds", "watches", "answers", "explains",
         "carries", "compares", "sends", "forgets", "repairs", "describes"]
OBJECTS = ["every request", "the long report", "a quiet song", "the morning traffic", "three tired horses",
           "the embedding vectors", "a bowl of soup", "the broken bridge", "all of the invoices", "a letter home",
           "the latest benchmark", "the mountain road", "a list of questions"]
TAILS = ["before dawn", "without a word", "in the rain", "after the meeting", "for the second time",
         "because nobody else would", "with surprising care", "near the old station", "as fast as possible",
         "while the others slept", "under a grey sky", "on behalf of the whole village"]


def sentences(count: int, seed: int = 0) -> list[str]:
    """Sentences of 5 to 40 words: one to four clauses joined by commas and 'and'."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        clauses = []
        for _ in range(rng.choice([1, 1, 2, 2, 3, 4])):
            clause = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
            if rng.random() < 0.6:
                clause += " " + rng.choice(TAILS)
            clauses.append(clause)
        text = ", and ".join([clauses[0]] + [c[0].lower() + c[1:] for c in clauses[1:]])
        out.append(" ".join(text.split()[:40]) + ".")
    return out


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=384)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    texts = sentences(args.sentences)
    started = time.perf_counter()
    model = MiniLM.load(threads=args.threads)
    load_s = time.perf_counter() - started
    ids = model.encode(texts)
    tokens = sum(len(x) for x in ids)
    model.embed(texts[:64], batch_size=32)  # warm-up

    rows = []
    for batch_size in args.batch_sizes:
        best = min(_timed(model, texts, batch_size) for _ in range(max(1, args.repeat)))
        rows.append((batch_size, best))

    print(f"all-MiniLM-L6-v2, onnxruntime {onnxruntime.__version__}, {args.threads} thread(s); "
          f"{cpu_model()}, {os.cpu_count()} cores")
    print(f"{len(texts)} sentences, {tokens} tokens ({tokens / len(texts):.1f} per sentence with [CLS]/[SEP]); "
          f"load {load_s:.2f} s; best of {args.repeat}\n")
    print("| batch | seconds | sentences/s | tokens/s | ms/sentence |")
    print("|------:|--------:|------------:|---------:|------------:|")
    for batch_size, seconds in rows:
        print(f"| {batch_size} | {seconds:.2f} | {len(texts) / seconds:.0f} | {tokens / seconds:.0f} "
              f"| {seconds * 1000 / len(texts):.2f} |")


def _timed(model: MiniLM, texts: list[str], batch_size: int) -> float:
    started = time.perf_counter()
    model.embed(texts, batch_size=batch_size)  # tokenizing included
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
