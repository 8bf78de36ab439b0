"""Time to a dev BLEU: the quickstart config as shipped against variants of it, on this machine.

    python benchmarks/time_to_bleu.py --variant shipped \\
        --variant lr3 train.lr=0.003 --seeds 1 2 [--threshold 40]

Each variant is a name and `seq2seq train` overrides of configs/quickstart.yaml. Every run
validates every 100 updates to see when the threshold is crossed, with the patience counted
in validations scaled to match (early stopping 12, learning-rate plateau 6: the shipped 4 and
2 at every 300 updates): the protocol is the same for every variant, and the validations' own
time counts. The clock starts when the command is launched, so data loading
and the precision probe count too. Printed and appended to benchmarks/results/time-to-bleu.json:
per run, each validation (update, dev BLEU, seconds), the seconds to the first dev BLEU at or
above the threshold (null if never), and the best dev BLEU within the budget. One run at a time:
nothing else may run beside it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time
from pathlib import Path

from machine import ROOT, cpu_name, run_stamped

from indic_common.atomic import write_text

VALIDATION = re.compile(r"step (\d+)  val/loss [\d.]+  val/bleu ([\d.]+)")
PROTOCOL = [
    "train.val_every_steps=100",
    "train.early_stopping_patience=12",
    "train.plateau_patience=6",
]


def run(name: str, overrides: list[str], seed: int, work: Path, config: str) -> dict:
    """One training run; its validations and when the threshold was crossed."""
    out = work / f"{name}-seed{seed}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [
        sys.executable,
        "-m",
        "seq2seq.cli.main",
        "-v",
        "train",
        "--config",
        config,
        "--overwrite",
    ]
    cmd += [f"train.seed={seed}", f"train.run_dir={out}/runs", f"train.output_dir={out}/models"]
    cmd += PROTOCOL + overrides
    wall, lines = run_stamped(cmd, out / "train.log", dict(os.environ, PYTHONUNBUFFERED="1"))
    validations = [
        {"step": int(m[1]), "dev_bleu": float(m[2]), "s": round(t, 1)}
        for t, line in lines
        if (m := VALIDATION.search(line))
    ]
    if not validations:
        sys.exit(f"time_to_bleu: no validation line in {out / 'train.log'}")
    best = max(validations, key=lambda v: v["dev_bleu"])
    return {
        "variant": name,
        "overrides": overrides,
        "seed": seed,
        "wall_s": round(wall, 1),
        "validations": validations,
        "best_dev_bleu": best["dev_bleu"],
        "best_at_s": best["s"],
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--variant",
        nargs="+",
        action="append",
        required=True,
        metavar=("NAME", "KEY=VALUE"),
        help="a name and its config overrides; repeat for each variant",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=[1])
    p.add_argument("--threshold", type=float, default=40.0)
    p.add_argument("--config", default="configs/quickstart.yaml")
    p.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "time-to-bleu")
    p.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "time-to-bleu.json"
    )
    args = p.parse_args()
    for name, *overrides in args.variant:
        if bad := [o for o in overrides if "=" not in o]:
            p.error(f"--variant {name}: {bad[0]!r} is not KEY=VALUE (e.g. train.lr=0.003)")
    cpu = f"{cpu_name()}, {os.cpu_count()} cores"
    rows = []
    for seed in args.seeds:  # seeds outermost: a variant's runs are spread over the whole run
        for name, *overrides in args.variant:
            row = run(name, overrides, seed, args.work, args.config)
            crossed = [v["s"] for v in row["validations"] if v["dev_bleu"] >= args.threshold]
            row |= {
                "threshold": args.threshold,
                "s_to_threshold": crossed[0] if crossed else None,
                "cpu": cpu,
                "date": time.strftime("%Y-%m-%d %H:%M"),
                "command": " ".join(["python benchmarks/time_to_bleu.py", *sys.argv[1:]]),
            }
            print(json.dumps({k: v for k, v in row.items() if k != "validations"}), flush=True)
            rows.append(row)
    old = json.loads(args.out.read_text())["rows"] if args.out.is_file() else []
    write_text(args.out, json.dumps({"rows": old + rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
