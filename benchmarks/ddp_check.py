"""Two DDP processes against one on this machine's CPU cores: the same training samples.

    python benchmarks/ddp_check.py [--updates 600] [--config configs/quickstart.yaml]

One process with 2 threads makes `--updates` updates of one token batch each; two processes
(gloo, 1 thread each) make half as many updates of two batches each — every rank takes every
second batch of the same seeded list, so both runs read the same batches, in the same order.
Compared: wall-clock training time (hence target tokens/s: the tokens are the same), and greedy
dev BLEU at the end (`data.dev_set` of the config). Result: benchmarks/results/ddp.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

from machine import cpu_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEQ2SEQ = ROOT / ".venv" / "bin" / "seq2seq"


def run(name: str, config: Path, work: Path, updates: int, devices: int) -> dict:
    """Train one side; its step count, seconds, dev BLEU and rank 0's logged tokens/s."""
    overrides = [
        f"name={name}",
        f"train.max_steps={updates}",
        f"train.val_every_steps={updates}",
        "train.max_time_minutes=120",
        "train.early_stopping_patience=100",
        "train.precision=32-true",
        f"train.threads={2 // devices}",
        f"train.devices={devices}",
        f"train.strategy={'ddp' if devices > 1 else 'auto'}",
        f"train.run_dir={work / 'runs'}",
        f"train.output_dir={work / 'models'}",
    ]
    cmd = [str(SEQ2SEQ), "-v", "train", "--config", str(config), "--overwrite", *overrides]
    print("$", " ".join(cmd), flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": str(2 // devices)}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{name} failed:\n{done.stderr[-3000:]}")
    meta = json.loads((work / "models" / name / "metadata.json").read_text(encoding="utf-8"))
    rates = [float(r) for r in re.findall(r"  (\d+) target tokens/s", done.stderr)[1:]]
    return {
        "processes": devices,
        "threads_each": 2 // devices,
        "updates": meta["training_steps"],
        "train_seconds": meta["train_seconds_this_run"],
        "dev_bleu": meta["dev_bleu"],
        "rank0_tokens_per_s": round(sum(rates) / len(rates)) if rates else None,
        "command": " ".join(cmd).replace(str(ROOT) + "/", ""),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--config", type=Path, default=ROOT / "configs" / "quickstart.yaml")
    p.add_argument("--updates", type=int, default=600, help="of the one-process run")
    p.add_argument("--work", type=Path, default=HERE / "work" / "ddp")
    p.add_argument("--out", type=Path, default=HERE / "results" / "ddp.json")
    args = p.parse_args(argv)
    one = run("ddp-1", args.config, args.work, args.updates, 1)
    two = run("ddp-2", args.config, args.work, args.updates // 2, 2)
    cpu = cpu_name()
    result = {
        "date": date.today().isoformat(),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "config": str(args.config.resolve().relative_to(ROOT)),
        "one_process": one,
        "two_processes": two,
        "speed_two_over_one": round(one["train_seconds"] / two["train_seconds"], 3),
        "dev_bleu_two_minus_one": round(two["dev_bleu"] - one["dev_bleu"], 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, args.out)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
