"""The shortlist's sizes, chosen on a dev set: speed and BLEU of beam 5 and greedy search with
the shortlist (and with int8) for several (pieces per source piece, frequent pieces), each
against exact search on the same sentences (paired bootstrap).

    python benchmarks/shortlist_sweep.py --model benchmarks/work/ours/models/bench \\
        --data-root data --dev dev-vg --out benchmarks/results/shortlist-sweep.json

Sentences/s: the median of three passes after an untimed one, 2 threads, 64 sentences a batch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name  # noqa: E402

from seq2seq.config import EXACT_SEARCH  # noqa: E402
from seq2seq.data.prepared import PreparedPair  # noqa: E402
from seq2seq.decode.translate import Translator  # noqa: E402
from seq2seq.evaluate.metrics import corpus_scores, paired_delta  # noqa: E402
from seq2seq.evaluate.speedup import build_shortlist  # noqa: E402

SIZES = ((50, 500), (30, 300), (20, 300), (20, 100), (10, 100))


def timed(translator: Translator, src: list[str]) -> tuple[list[str], float]:
    """Hypotheses and sentences/s (the median of three passes after a warm-up)."""
    translator.translate(src[:64])
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        hyps = translator.translate(src)
        seconds.append(time.perf_counter() - start)
    return hyps, len(src) / sorted(seconds)[1]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data-root", type=Path, default=Path("data"))
    p.add_argument("--dev", default="dev-vg", help="a dev set of the prepared hi-en folder")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    exact = Translator.load(args.model, **EXACT_SEARCH)
    bundle, prepared = exact.bundle, PreparedPair(args.data_root / "hi-en")
    src, refs = prepared.read(args.dev, "hi"), prepared.references(args.dev, "en")
    out = {"cpu": cpu_name(), "dev": args.dev, "sentences": len(src), "rows": []}
    for beam in (5, 1):
        base, base_speed = timed(exact.with_decode(beam_size=beam), src)
        bleu = corpus_scores(base, refs)[0].score
        out["rows"].append(
            {"beam": beam, "search": "exact", "BLEU": bleu, "sentences_per_s": round(base_speed, 1)}
        )
        print(out["rows"][-1], flush=True)
        for per, freq in SIZES:
            bundle.derived["shortlist"] = build_shortlist(bundle, prepared, per, freq)[0]
            for name, settings in (
                ("shortlist", {"shortlist": True}),
                ("shortlist+int8", {"shortlist": True, "precision": "int8"}),
            ):
                hyps, speed = timed(exact.with_decode(beam_size=beam, **settings), src)
                d = paired_delta(base, hyps, refs, "BLEU")
                out["rows"].append(
                    {
                        "beam": beam,
                        "search": name,
                        "per_piece": per,
                        "frequent": freq,
                        "BLEU": corpus_scores(hyps, refs)[0].score,
                        "delta": [d.score, d.low, d.high],
                        "sentences_per_s": round(speed, 1),
                        "x_exact": round(speed / base_speed, 2),
                    }
                )
                print(out["rows"][-1], flush=True)
    out["command"] = "python benchmarks/shortlist_sweep.py " + " ".join(sys.argv[1:])
    args.out.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
