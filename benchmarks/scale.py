"""How data preparation and the start of training scale with the corpus: 40k, 400k and 4M pairs.

    python benchmarks/scale.py --sizes 40000 400000 4000000 [--work DIR] [--sample-cap N]

For each size it builds a corpus in the Hugging Face hub's own layout (parquet shards with a
`translation` column, as `cfilt/iitb-english-hindi` is stored) inside a copy of the mirror
(`<work>/mirror/hub/cfilt/iitb-english-hindi/`, the rest of the mirror linked), then measures
- `python -m data_prep hi-en --extra-train iitb` (what `make data` runs, with the IIT Bombay
  corpus added): wall time, peak memory, disk of the prepared folder and the datasets cache;
- `seq2seq train` on the result for 200 updates (fp32 named, so no precision probe): time to the
  first update, time to the 200th, peak memory.
The pairs are the mirror's training pairs of hi-en (37,689) with a marker naming the copy
(x0, x1, ...) put at a seeded place in both sides, so every pair is distinct and none equals
a recipe pair: the corpus survives de-duplication at every size. This measures cost, not quality.
Results: benchmarks/results/scale.json (rows appended per run), benchmarks/scale.png.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from machine import ROOT, cpu_name, run_stamped

from data_prep.parts import resident_now

MIRROR = ROOT.parent / "shared" / "corpora"
BASE = (
    "hindi-visual-genome-1.1",
    "tatoeba-manythings-anki",
    "hindencorp-tides-sample",
    "post2012-mturk-wikipedia-train-partial",
)
HUB = Path("hub/cfilt/iitb-english-hindi")
SHARD = 250_000


def base_pairs(mirror: Path) -> list[tuple[str, str]]:
    """The training pairs of the mirror's hi-en corpora (none of their held-out splits)."""
    pairs = []
    for folder in BASE:
        hi = (mirror / "hi-en" / folder / "train.hi").read_text(encoding="utf-8").splitlines()
        en = (mirror / "hi-en" / folder / "train.en").read_text(encoding="utf-8").splitlines()
        pairs += zip(hi, en)
    return pairs


def _mark(text: str, marker: str, rng: random.Random) -> str:
    words = text.split()
    words.insert(rng.randint(0, len(words)), marker)
    return " ".join(words)


def build_corpus(size: int, mirror: Path, out: Path, seed: int = 1) -> None:
    """`size` distinct pairs in the hub layout under `out/hub/...`; the mirror's pair folders
    are linked beside it."""
    if out.exists():
        shutil.rmtree(out)
    (out / HUB / "data").mkdir(parents=True)
    for pair in ("hi-en",):
        (out / pair).symlink_to((mirror / pair).resolve())
    base = base_pairs(mirror)
    shards = (size + SHARD - 1) // SHARD
    for s in range(shards):
        rows = []
        for j in range(s * SHARD, min(size, (s + 1) * SHARD)):
            hi, en = base[j % len(base)]
            copy = j // len(base)
            rng = random.Random(f"{seed}:{j}")
            marker = f"x{copy}"  # one token per copy: distinct across copies
            rows.append({"hi": _mark(hi, marker, rng), "en": _mark(en, marker, rng)})
        table = pa.table({"translation": rows})
        pq.write_table(table, out / HUB / "data" / f"train-{s:05d}-of-{shards:05d}.parquet")


def _measured(
    python: str, module_args: list[str], log: Path, env: dict
) -> tuple[float, list[tuple], dict]:
    """`python -m MODULE ARGS` under a small Python parent of its own (`--child`), so that
    RUSAGE_CHILDREN gives that command's peak memory and not an earlier one's."""
    wall, lines = run_stamped([python, __file__, "--child", python, "-m", *module_args], log, env)
    return wall, lines, json.loads(lines[-1][1].split(" ", 1)[1])


def _peak_mb() -> float:
    """Peak resident memory of the largest child so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def _du_mb(*paths: Path) -> float:
    total = 0
    for path in paths:
        for p in path.rglob("*"):
            if p.is_file() and not p.is_symlink():
                total += p.stat().st_size
    return total / 2**20


def measure(size: int, work: Path, python: str, prep_args: list[str]) -> dict:
    """Build, prepare and train at one size; each step in a fresh process, measured apart.
    `prep_args` go to `data_prep` after the fixed ones (e.g. --sample-cap 1000000)."""
    mirror, data, cache = work / f"mirror-{size}", work / f"data-{size}", work / f"cache-{size}"
    for path in (data, cache):
        shutil.rmtree(path, ignore_errors=True)
    began = time.monotonic()
    build_corpus(size, MIRROR, mirror)
    row: dict = {"pairs": size, "build_s": round(time.monotonic() - began, 1)}
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", PYTHONUNBUFFERED="1")
    wall, lines, peak = _measured(
        python,
        ["data_prep", "hi-en", "--mirror", str(mirror), "--out", str(data)]
        + ["--cache-dir", str(cache), "--extra-train", "iitb", "-v", *prep_args],
        work / f"data-{size}.log",
        env,
    )
    stats = json.loads((data / "hi-en" / "stats.json").read_text(encoding="utf-8"))
    # The pipeline's "<stage>: peak memory so far N MB" lines: where the memory is taken.
    stages = [
        re.search(
            r"INFO data_prep\.\w+: (.+): peak memory so far (\d+) MB"
            r"(?: \(now: anonymous (\d+) MB, file-backed (\d+) MB\))?",
            line,
        )
        for _, line in lines
    ]
    row |= {
        "data_s": round(wall, 1),
        "data_peak_mb": round(peak["peak_mb"]),
        "data_peak_anon_mb": round(peak["peak_anon_mb"]),
        "data_disk_mb": round(_du_mb(data)),
        "cache_disk_mb": round(_du_mb(cache)),
        "train_pairs": stats["train"]["pairs"],
        "data_peak_mb_after": {m[1]: int(m[2]) for m in stages if m},
        # and the resident memory at that moment: [anonymous, file-backed] MB
        "data_now_mb_after": {m[1]: [int(m[3]), int(m[4])] for m in stages if m and m[3]},
    }
    run = work / f"runs-{size}"
    shutil.rmtree(run, ignore_errors=True)
    wall, lines, peak = _measured(
        python,
        [
            "seq2seq.cli.main",
            "-v",
            "train",
            "--config",
            "configs/hi-en.yaml",
            "--overwrite",
            f"data.root={data}",
            "train.max_steps=200",
            "train.val_every_steps=200",
            "data.dev_max_sents=100",
            "train.precision=32-true",
            "train.max_time_minutes=null",
            f"train.run_dir={run}",
            f"train.output_dir={run}/models",
        ],
        work / f"train-{size}.log",
        env,
    )
    first = next(t for t, line in lines if re.search(r"step 1/", line))
    last = next(t for t, line in lines if re.search(r"step 200 +val/loss", line))
    row |= {
        "first_update_s": round(first, 1),
        "update_200_s": round(last, 1),
        "train_wall_s": round(wall, 1),
        "train_peak_mb": round(peak["peak_mb"]),
        "train_peak_anon_mb": round(peak["peak_anon_mb"]),
    }
    shutil.rmtree(mirror)
    return row


def _child(cmd: list[str]) -> int:
    """Run `cmd` and print its peak memory as the last line (for `measure`): the peak resident
    memory, and the peak of its anonymous part alone, sampled every 50 ms. The kernel's peak
    counts the pages of memory-mapped Arrow files too, which it can drop when memory is
    short; the anonymous part is what the process cannot give back."""
    proc = subprocess.Popen(cmd)
    anon = 0.0
    while proc.poll() is None:
        if now := resident_now(proc.pid):
            anon = max(anon, now["RssAnon"])
        time.sleep(0.05)
    peaks = {"peak_mb": _peak_mb(), "peak_anon_mb": anon}
    print("PEAK", json.dumps(peaks), flush=True)
    return proc.returncode


def plot(rows: list[dict], out: Path) -> None:
    """Time and peak memory against corpus size, log-log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pairs = [r["pairs"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.loglog(pairs, [r["data_s"] for r in rows], "o-", label="prepare (python -m data_prep)")
    a.loglog(pairs, [r["first_update_s"] for r in rows], "s-", label="train: first update")
    a.set_xlabel("pairs in the added corpus")
    a.set_ylabel("seconds")
    a.legend()
    b.semilogx(pairs, [r["data_peak_mb"] for r in rows], "o-", label="prepare")
    b.semilogx(pairs, [r["train_peak_mb"] for r in rows], "s-", label="train (200 updates)")
    if all("data_peak_anon_mb" in r for r in rows):  # rows that measured it
        anon = [r["data_peak_anon_mb"] for r in rows]
        b.semilogx(pairs, anon, "o--", label="prepare, anonymous only")
    b.set_xlabel("pairs in the added corpus")
    b.set_ylabel("peak resident memory, MB")
    b.set_ylim(bottom=0)
    b.legend()
    fig.suptitle(rows[0]["cpu"])
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main() -> int:
    if sys.argv[1:2] == ["--child"]:
        return _child(sys.argv[2:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[40_000, 400_000, 4_000_000])
    p.add_argument("--work", type=Path, default=ROOT / "benchmarks" / "work" / "scale")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scale.json")
    p.add_argument("--plot", type=Path, default=ROOT / "benchmarks" / "scale.png")
    p.add_argument(
        "--sample-cap",
        type=int,
        help="data_prep's --sample-cap (sentences SentencePiece trains on); its default if unset",
    )
    args = p.parse_args()
    prep_args = [] if args.sample_cap is None else ["--sample-cap", str(args.sample_cap)]
    args.work.mkdir(parents=True, exist_ok=True)
    cpu = cpu_name()
    rows = []
    for size in args.sizes:
        row = measure(size, args.work, sys.executable, prep_args) | {
            "cpu": f"{cpu}, {os.cpu_count()} cores",
            "date": time.strftime("%Y-%m-%d"),
            "data_prep_args": prep_args,
        }
        print(json.dumps(row), flush=True)
        rows.append(row)
    command = " ".join(["python benchmarks/scale.py --sizes", *map(str, args.sizes), *prep_args])
    args.out.write_text(json.dumps({"command": command, "rows": rows}, indent=1) + "\n")
    plot(rows, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
