"""Quality and speed of the full PII detector (rules + name/address model) on synthetic text.

    python -m bench.pii [--docs 600] [--seed 7] [--chars 1000] [--locales en_US,en_GB,...] [--misses 0]

Documents of about --chars characters are built from the EVAL templates only
(switchyard/guard/ner/eval_templates.py; the model never trained on them), filled by Faker in
several locales, with every PII value labelled: names, street addresses, e-mails, phones,
cards, IBANs, SSNs, IPs, API keys, URLs with credentials, dates of birth.
Detector = Detector([*rule_recognizers(), NERRecognizer()]).

Matching rule (span level): a finding is a true positive when a labelled span of the same
kind overlaps it by at least one character; a labelled span is found (recall) when a finding
of its kind overlaps it. F2 weighs recall twice as much as precision.
Latency: wall and CPU (thread) time of Detector.detect per document, divided by its size in
kB (1 kB = 1000 characters), pinned to one core, after a warm-up that loads the model; p50 and
p95 over all documents. Wall time includes waiting for the core when the machine is busy; CPU
time does not. Needs the `test` extra (Faker). Prints markdown tables; writes bench/results/pii.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from switchyard.guard import findings as F
from switchyard.guard.detector import Detector
from switchyard.guard.ner import NERRecognizer, load
from switchyard.guard.ner.synth import LOCALES, Generator
from switchyard.guard.ner.train import overlap_counts, scores
from switchyard.guard.rules import rule_recognizers

ROOT = Path(__file__).resolve().parents[1]
KINDS = (F.PERSON, F.STREET_ADDRESS, F.EMAIL, F.PHONE, F.CREDIT_CARD, F.IBAN, F.SSN, F.IP_ADDRESS, F.API_KEY,
         F.URL_CREDENTIALS, F.DATE_OF_BIRTH)
TARGETS = {F.PERSON: (0.85, 0.85), F.STREET_ADDRESS: (0.85, 0.85), F.DATE_OF_BIRTH: (None, None),
           F.URL_CREDENTIALS: (None, None)}  # (min precision, min recall); others: recall >= 0.95


def target(kind: str) -> tuple[float | None, float | None]:
    return TARGETS.get(kind, (None, 0.95))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def run(docs: int, seed: int, chars: int, locales: tuple[str, ...], misses: int) -> dict:
    samples = Generator(seed, "eval", locales=locales).documents(docs, min_chars=chars, max_sentences=1)
    rules, ner = rule_recognizers(), NERRecognizer()
    detector = Detector([*rules, ner])
    t0 = time.perf_counter()
    load()
    load_s = time.perf_counter() - t0
    for sample in samples[:20]:  # warm-up: caches, first tagger
        detector.detect(sample.text)
    totals = {k: [0, 0, 0, 0] for k in KINDS}
    wall, cpu, wrong = [], [], []
    for sample in samples:
        t0, c0 = time.perf_counter(), time.thread_time()
        found = detector.detect(sample.text)
        wall.append((time.perf_counter() - t0) * 1e6 / len(sample.text))  # ms per 1000 characters
        cpu.append((time.thread_time() - c0) * 1e6 / len(sample.text))
        pred = [(f.start, f.end, f.kind) for f in found]
        for kind, c in overlap_counts(sample.spans, pred, KINDS).items():
            totals[kind] = [a + b for a, b in zip(totals[kind], c, strict=True)]
        if misses:
            wrong += [("missed", k, sample.text[s:e]) for s, e, k in sample.spans
                      if not any(ps < e and pe > s and pk == k for ps, pe, pk in pred)]
            wrong += [("false", k, sample.text[s:e]) for s, e, k in pred
                      if not any(gs < e and ge > s and gk == k for gs, ge, gk in sample.spans)]
    parts: dict[str, list[float]] = {"cpu, rules only": [], "cpu, NER only": []}
    for sample in samples:  # the two halves of the detector, timed apart
        for name, recognizers in (("cpu, rules only", rules), ("cpu, NER only", [ner])):
            c0 = time.thread_time()
            for recognizer in recognizers:
                recognizer.find(sample.text)
            parts[name].append((time.thread_time() - c0) * 1e6 / len(sample.text))
    return {
        "docs": docs, "seed": seed, "locales": list(locales), "chars": sum(len(s.text) for s in samples),
        "kinds": {k: scores(*c) for k, c in totals.items()},
        "latency_ms_per_kb": {"wall": summary(wall), "cpu": summary(cpu),
                              **{k: summary(v) for k, v in parts.items()}},
        "model_load_s": round(load_s, 3), "examples": wrong[:misses],
    }


def summary(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {"p50": round(statistics.median(values), 3), "p95": round(values[int(0.95 * (len(values) - 1))], 3),
            "mean": round(statistics.fmean(values), 3)}


def table(result: dict) -> str:
    rows = ["| kind | precision | recall | F2 | support | target |", "|---|---|---|---|---|---|"]
    for kind, r in result["kinds"].items():
        p_min, r_min = target(kind)
        goal = " & ".join(x for x in (p_min and f"P ≥ {p_min}", r_min and f"R ≥ {r_min}") if x) or "-"
        met = (p_min is None or r["precision"] >= p_min) and (r_min is None or r["recall"] >= r_min)
        mark = "" if goal == "-" else (" ✓" if met else " ✗")
        rows.append(f"| {kind} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f2']:.3f} | {r['support']} "
                    f"| {goal}{mark} |")
    size = f"{result['docs']} docs of {result['chars'] / result['docs']:.0f} chars avg"
    rows += ["", f"| Detector (rules + NER) per 1 kB, one core, {size} | p50 | p95 | mean |", "|---|---|---|---|"]
    for clock, lat in result["latency_ms_per_kb"].items():
        rows.append(f"| {clock} | {lat['p50']:.2f} ms | {lat['p95']:.2f} ms | {lat['mean']:.2f} ms |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.pii", description=__doc__.split("\n")[0])
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--chars", type=int, default=1000, help="minimum characters per document")
    ap.add_argument("--locales", default=",".join(LOCALES))
    ap.add_argument("--misses", type=int, default=0, help="print this many missed/false findings")
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "pii.json"))
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    result = run(args.docs, args.seed, args.chars, tuple(args.locales.split(",")), args.misses)
    result["machine"] = {"cpu": cpu_model(), "python": platform.python_version()}
    print(table(result))
    print(f"\nmodel load: {result['model_load_s']:.2f} s; locales: {', '.join(result['locales'])}")
    for what, kind, text in result.pop("examples"):
        print(f"  {what:6} {kind:15} {text!r}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
