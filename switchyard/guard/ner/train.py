"""Build the shipped name/address model (switchyard/guard/ner/model.bin).

    pip install -e '.[test]'        # Faker, the synthetic-data source, is a test extra
    python -m switchyard.guard.ner.train [--seed 0] [--out PATH] [--docs 20000] [--eval-docs 1500]

Generates --docs synthetic documents (1-3 sentences each) from the TRAIN templates in eleven
locales (synth.py), builds the gazetteer from Faker's provider data, trains a linear-chain CRF
(L-BFGS, L1+L2) with python-crfsuite, then scores it on documents from the disjoint EVAL
templates (another seed) and prints span-level precision/recall/F2 per kind (a prediction
counts when its kind matches and it overlaps a gold span). The same seed and options always
write the same bytes (the generator avoids Faker's clock-dependent providers and hash-ordered
lists). About a minute on one core for the default 20000 documents."""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterable, Sequence

from .model import DEFAULT_PARAMS, NERModel, train

DEFAULT_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.bin")


def overlap_counts(gold: Sequence[tuple[int, int, str]], pred: Sequence[tuple[int, int, str]],
                   kinds: Iterable[str]) -> dict[str, list[int]]:
    """Per kind [true-positive predictions, predictions, gold spans found, gold spans]: a prediction
    is correct, and a gold span found, when a span of the other side has the same kind and overlaps."""
    counts = {}
    for kind in kinds:
        g = [(s, e) for s, e, k in gold if k == kind]
        p = [(s, e) for s, e, k in pred if k == kind]
        tp = sum(any(s < ge and e > gs for gs, ge in g) for s, e in p)
        found = sum(any(s < pe and e > ps for ps, pe in p) for s, e in g)
        counts[kind] = [tp, len(p), found, len(g)]
    return counts


def scores(tp: int, npred: int, found: int, ngold: int) -> dict[str, float]:
    precision = tp / npred if npred else 1.0
    recall = found / ngold if ngold else 1.0
    f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f2": round(f2, 4), "support": ngold}


def evaluate(model: NERModel, samples) -> dict[str, dict[str, float]]:
    from .synth import NER_KINDS

    total = {k: [0, 0, 0, 0] for k in NER_KINDS}
    for sample in samples:
        pred = [(s, e, k) for s, e, k, _ in model.spans(sample.text)]
        for kind, c in overlap_counts(sample.spans, pred, NER_KINDS).items():
            total[kind] = [a + b for a, b in zip(total[kind], c, strict=True)]
    return {k: scores(*c) for k, c in total.items()}


def build(seed: int = 0, docs: int = 20000, params: dict | None = None, drop: float = 0.25) -> bytes:
    """Model file bytes: deterministic for (seed, docs, params, drop)."""
    from . import gazetteer
    from .synth import NER_KINDS, Generator

    samples = [s.only(NER_KINDS) for s in Generator(seed, "train").documents(docs)]
    meta = {"seed": seed, "docs": docs}
    return train(samples, gazetteer.build(), params=params, drop=drop, meta=meta)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m switchyard.guard.ner.train", description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--docs", type=int, default=20000, help="training documents")
    ap.add_argument("--eval-docs", type=int, default=1500, help="evaluation documents (0: skip)")
    ap.add_argument("--algorithm", default="lbfgs", help="crfsuite algorithm: lbfgs, ap, l2sgd, pa, arow")
    ap.add_argument("--c1", type=float, default=DEFAULT_PARAMS["c1"], help="L1 penalty (lbfgs)")
    ap.add_argument("--c2", type=float, default=DEFAULT_PARAMS["c2"], help="L2 penalty (lbfgs)")
    ap.add_argument("--iterations", type=int, default=DEFAULT_PARAMS["max_iterations"])
    ap.add_argument("--drop", type=float, default=0.25, help="fraction of gazetteer words hidden in training")
    args = ap.parse_args(argv)

    params: dict = {"algorithm": args.algorithm, "max_iterations": args.iterations}
    if args.algorithm == "lbfgs":
        params.update(c1=args.c1, c2=args.c2)
    t0 = time.perf_counter()
    data = build(args.seed, args.docs, params, args.drop)
    took = time.perf_counter() - t0
    with open(args.out, "wb") as f:
        f.write(data)
    print(f"wrote {args.out}: {len(data) / 1e6:.2f} MB, {args.docs} documents, seed {args.seed}, {took:.0f} s")
    if args.eval_docs:
        from .synth import NER_KINDS, Generator

        model = NERModel(data)
        samples = [s.only(NER_KINDS) for s in Generator(args.seed + 1, "eval").documents(args.eval_docs)]
        t0 = time.perf_counter()
        result = evaluate(model, samples)
        took = time.perf_counter() - t0
        chars = sum(len(s.text) for s in samples)
        print("| kind | precision | recall | F2 | support |\n|---|---|---|---|---|")
        for kind, r in result.items():
            print(f"| {kind} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f2']:.3f} | {r['support']} |")
        print(f"eval: {len(samples)} documents, {1000 * took / (chars / 1000):.2f} ms per 1 kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
