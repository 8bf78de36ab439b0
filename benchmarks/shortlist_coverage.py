"""How large a batch's vocabulary shortlist is, and what a sentence's own leaves out.

    python benchmarks/shortlist_coverage.py --model benchmarks/work/ours/models/bench \\
        --data-root data --sets dev test-vg --batch-sizes 1 8 16 32 64 128

The shortlist (seq2seq/decode/shortlist.py) is built from the model's training pairs as
`seq2seq speedup` builds it. Search computes the output layer over the union of a batch's
shortlists (the cost) and lets each sentence produce only its own (the quality). For each set:
the share of the reference's pieces outside their sentence's own shortlist (pieces search
cannot produce), the mean size of a sentence's own, and for each batch size the mean and
largest union (batches cut in order, without the Translator's sorting by length).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name  # noqa: E402

from seq2seq.data.prepared import PreparedPair  # noqa: E402
from seq2seq.decode.shortlist import FREQUENT, PER_PIECE  # noqa: E402
from seq2seq.evaluate.speedup import build_shortlist  # noqa: E402
from seq2seq.model.bundle import load_bundle  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", type=Path, required=True)
    p.add_argument("--data-root", type=Path, default=Path("data"))
    p.add_argument("--sets", nargs="+", default=["dev", "test-vg"])
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 16, 32, 64, 128])
    p.add_argument("--per-piece", type=int, default=PER_PIECE)
    p.add_argument("--frequent", type=int, default=FREQUENT)
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    bundle = load_bundle(args.model)
    cfg = bundle.cfg.data
    prepared = PreparedPair(args.data_root / cfg.folder(cfg.direction))
    shortlist, pairs = build_shortlist(bundle, prepared, args.per_piece, args.frequent)
    rows = []
    for name in args.sets:
        src = [bundle.src_vocab.encode(s) for s in prepared.read(name, cfg.src_lang)]
        ref = [bundle.tgt_vocab.encode(s) for s in prepared.references(name, cfg.tgt_lang)[0]]
        own, outside, total = [], 0, 0
        for s, r in zip(src, ref):
            kept = set(shortlist.rows(torch.tensor(s or [0])).tolist())
            own.append(len(kept))
            total += len(r)
            outside += sum(x not in kept for x in r)
        unions = {}
        for size in args.batch_sizes:
            sizes = [
                len(shortlist.rows(torch.tensor([x for s in src[i : i + size] for x in s] or [0])))
                for i in range(0, len(src), size)
            ]
            unions[size] = {"mean": round(sum(sizes) / len(sizes)), "max": max(sizes)}
        rows.append(
            {
                "set": name,
                "sentences": len(src),
                "reference_pieces_outside": round(100 * outside / total, 2),
                "own_rows_mean": round(sum(own) / len(own)),
                "union_rows_by_batch_size": unions,
            }
        )
        print(rows[-1], flush=True)
    result = {
        "model": str(args.model),
        "cpu": cpu_name(),
        "vocabulary": len(bundle.tgt_vocab),
        "shortlist": {"per_piece": args.per_piece, "frequent": args.frequent, "pairs": pairs},
        "rows": rows,
        "command": "python benchmarks/shortlist_coverage.py " + " ".join(sys.argv[1:]),
    }
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
