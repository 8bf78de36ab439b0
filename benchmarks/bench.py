"""`make bench` / `make bench-quick`: indic-seq2seq against JoeyNMT 2.3.0, side by side.

    python benchmarks/bench.py [--quick] [--seconds 900] [--data-root data]

1. Exports one shared dataset from the prepared hi-en folder (`make data PAIR=hi-en`): the same
   train/dev/test text and the same joint 8k SentencePiece model for both toolkits.
2. Training throughput (target tokens/s over the same number of updates after a warm-up, peak
   memory): ours in fp32 and in bf16 mixed precision, JoeyNMT in fp32. Each run is its own
   process, one after the other, so they never share the two cores.
3. Unless --quick: both train for the same wall-clock budget, then decode the test set greedily
   and with beam 5 (sentences/s, BLEU, chrF++). Then JoeyNMT trains again, long enough
   (--equal-seconds) to reach about our budget model's test BLEU, and the two decode at
   near-equal quality: decoding speed compared where the translations are as good.
4. Each result is kept as benchmarks/results/<name>.json; benchmarks/RESULTS.md is rendered from
   all of them, so a quick run refreshes the throughput rows and keeps the last budget rows.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from machine import CAPS, bf16_unavailable, cpu_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
OURS_PYTHON = ROOT / ".venv" / "bin" / "python"
JOEY_PYTHON = HERE / ".venv-joeynmt" / "bin" / "python"
TEST_SET = "test-vg"
BEAMS = ["1", "2", "3", "4", "5"]
# Near-equal quality: our BLEU from 0.5 below to 2.5 above JoeyNMT's at the same beam.
NEAR = (-0.5, 2.5)


def export_shared(prepared: Path, out: Path) -> Path:
    """Write {train,dev,test}.{src,tgt} and spm.model/.vocab of hi->en for JoeyNMT's reader."""
    if not (prepared / "spm.model").exists():
        raise SystemExit(
            f"{prepared}: the benchmark needs a joint SentencePiece model "
            f"(spm.model); prepare it without --separate-vocab"
        )
    out.mkdir(parents=True, exist_ok=True)
    for split, name in (("train", "train"), ("dev", "dev"), ("test", TEST_SET)):
        for side, lang in (("src", "hi"), ("tgt", "en")):
            shutil.copyfile(prepared / f"{name}.{lang}", out / f"{split}.{side}")
    for suffix in ("model", "vocab"):
        shutil.copyfile(prepared / f"spm.{suffix}", out / f"spm.{suffix}")
    return out


def run(name: str, cmd: list[str]) -> dict:
    """Run one half of the benchmark in its own process; keep its JSON under results/."""
    out = RESULTS / f"{name}.json"
    tmp = out.with_suffix(".json.tmp")
    cmd = [*cmd, "--out", str(tmp)]
    print(f"\n=== {name}: {' '.join(cmd)}", flush=True)
    env = {**os.environ, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
    subprocess.run(cmd, check=True, cwd=ROOT, env=env)
    result = json.loads(tmp.read_text(encoding="utf-8"))
    result["date"] = date.today().isoformat()
    result["cpu"] = cpu_name()
    result["command"] = " ".join(str(c) for c in cmd[:-2])
    tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return result


def skip(name: str, cmd: list[str], reason: str) -> None:
    """Record that a row cannot be measured on this CPU, so no older row of another CPU
    stands in for it."""
    print(f"\n=== {name}: skipped: {reason}", flush=True)
    result = {
        "skipped": reason,
        "date": date.today().isoformat(),
        "cpu": cpu_name(),
        "command": " ".join(str(c) for c in cmd),
    }
    out = RESULTS / f"{name}.json"
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)


def machine() -> dict[str, str]:
    """Core count and library versions, for the results page (each row names its CPU)."""
    versions = subprocess.run(
        [
            str(OURS_PYTHON),
            "-c",
            "import torch, pytorch_lightning as pl; print(torch.__version__, pl.__version__)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    torch_v, pl_v = versions.stdout.split()
    joey = subprocess.run(
        [
            str(JOEY_PYTHON),
            "-c",
            "import importlib.metadata as m; print(m.version('joeynmt'), m.version('torch'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "ours": f"torch {torch_v}, pytorch-lightning {pl_v}",
        "joeynmt": f"joeynmt {joey[0]}, torch {joey[1]}",
    }


def _ratio(ours: float | None, theirs: float | None) -> str:
    return f"{ours / theirs:.2f}×" if ours and theirs else "–"


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def render(info: dict[str, str]) -> str:
    """RESULTS.md from the JSON results that exist."""
    lines = [
        "# Benchmarks: indic-seq2seq against JoeyNMT 2.3.0",
        "",
        "Made by `make bench` (or `make bench-quick` for the throughput rows only); each figure "
        "comes from `benchmarks/results/<run>.json`, which also holds the exact command. "
        "Ratios are ours ÷ JoeyNMT's, measured on the same CPU in the same run, one "
        "process after the other; every row names the CPU it was measured on (with the "
        "instruction sets that decide its speed), and a ratio is given only between rows of "
        "the same CPU.",
        "",
        f"Software of the last run: {info['cores']} cores, Python {info['python']}; "
        f"ours: {info['ours']}; JoeyNMT: {info['joeynmt']}.",
        "",
        "Both train the same model on the same data: hi→en, a 1-layer bidirectional LSTM encoder "
        "of 256, a 1-layer LSTM decoder of 256 with Bahdanau attention, embeddings of 256, no "
        "tied weights, dropout 0.2, the same joint 8k SentencePiece model, ~2000-token batches, "
        "Adam at a constant 1e-3, gradient norm clipped at 1, 2 threads. JoeyNMT's decoder uses "
        "input feeding (its attentional vector is fed to the next step); ours feeds the "
        "attention context into the LSTM input, as in Bahdanau et al. — the same sizes, within "
        "a few percent of the same parameter count. JoeyNMT's scheduler: its `plateau` passes "
        "`verbose=` to torch's ReduceLROnPlateau, which torch 2.13 rejects, so it runs "
        "`scheduling: exponential` with `decrease_factor: 1.0` — a constant rate, as ours; "
        "no JoeyNMT code is patched (see `setup_joeynmt.sh`).",
        "",
        "## Training throughput",
        "",
        "Target tokens (without BOS, with EOS, no padding) per second over the measured updates, "
        "after the warm-up updates; peak resident memory of the training process.",
        "",
        "| run | precision | updates (warm-up + measured) | target tokens/s | ratio to JoeyNMT "
        "| peak RSS MiB | CPU | date |",
        "|---|---|---|---|---|---|---|---|",
    ]
    joey = _load("throughput-joeynmt")
    for name in (
        "throughput-joeynmt",
        "throughput-ours-fp32",
        "throughput-ours-bf16",
        "throughput-ours-auto",
    ):
        r = _load(name)
        if r is None:
            continue
        cpu = r.get("cpu", "not recorded")
        if "skipped" in r:
            lines.append(
                f"| indic-seq2seq | {name.rsplit('-', 1)[1]} | – | – | – | – | {cpu} | "
                f"{r['date']} (skipped: {r['skipped']}) |"
            )
            continue
        precision = r["precision"]
        if precision == "auto":  # the default: what the probe chose, and the probe's cost
            chosen = r["precision_chosen"]
            why = f" ({chosen['bf16_unavailable']})" if chosen.get("bf16_unavailable") else ""
            precision = (
                f"auto (default): {chosen['chosen']}{why}, probe {chosen['probe_seconds']:.0f} s"
            )
        label = "JoeyNMT 2.3.0" if r["toolkit"] == "joeynmt" else "indic-seq2seq"
        same_cpu = joey is not None and joey.get("cpu", "?") == r.get("cpu")
        ratio = (
            "1.00×"
            if name == "throughput-joeynmt"
            else _ratio(r["tokens_per_s"], joey["tokens_per_s"])
            if same_cpu
            else "– (other CPU)"
        )
        lines.append(
            f"| {label} | {precision} | {r['warmup_updates']} + "
            f"{r['measured_updates']} | {r['tokens_per_s']:.0f} | {ratio} | "
            f"{r['peak_rss_mb']:.0f} | {cpu} | {r['date']} |"
        )
    ours_b, joey_b = _load("budget-ours"), _load("budget-joeynmt")
    if ours_b and joey_b:
        lines += [
            "",
            f"## Same wall-clock budget ({ours_b['budget_seconds'] / 60:.0f} minutes of training)",
            "",
            f"Test set: Hindi Visual Genome test ({ours_b['greedy']['sentences']} "
            "captions, one reference), sacrebleu defaults. Decoding: the best checkpoint by dev "
            "BLEU, 64 sentences a batch for both, greedy and beam 5; sentences/s count search "
            "with SentencePiece encoding, not model loading.",
            "",
            "| figure | JoeyNMT 2.3.0 | indic-seq2seq | ours against JoeyNMT |",
            "|---|---|---|---|",
        ]
        jm, om = joey_b["metadata"], ours_b["metadata"]
        rows = [
            ("training updates in the budget", jm["training_steps"], om.get("training_steps")),
            ("best dev BLEU (greedy, during training)", jm["dev_bleu"], om.get("dev_bleu")),
        ]
        for mode in ("greedy", "beam5"):
            for key in ("BLEU", "chrF++", "sentences_per_s"):
                rows.append(
                    (
                        f"{mode}: {'test ' + key if key != 'sentences_per_s' else 'sentences/s'}",
                        joey_b[mode][key],
                        ours_b[mode][key],
                    )
                )
        rows.append(
            ("peak RSS MiB (training and decoding)", joey_b["peak_rss_mb"], ours_b["peak_rss_mb"])
        )
        same_cpu = joey_b.get("cpu", "?") == ours_b.get("cpu")  # the budget is wall-clock
        for label, theirs, ours in rows:
            points = "BLEU" in label or "chrF" in label
            if not same_cpu:
                compare = "– (not the same CPU)"
            elif points and ours is not None and theirs is not None:
                compare = f"{ours - theirs:+.2f} points"
            else:
                compare = _ratio(ours, theirs)
            lines.append(f"| {label} | {_fmt(theirs)} | {_fmt(ours)} | {compare} |")
        lines += [
            "",
            f"Budget runs dated {joey_b['date']} (JoeyNMT; CPU "
            f"{joey_b.get('cpu', 'not recorded')}) and {ours_b['date']} (ours; CPU "
            f"{ours_b.get('cpu', 'not recorded')}).",
        ]
        again = _load("decode-ours")
        if again:
            lines += [
                "",
                f"The same model of ours decoded again with the current decoder "
                f"({again['date']}, CPU {again.get('cpu', 'not recorded')}, "
                f"`{again['command'].replace(str(ROOT) + '/', '')}`):",
                "",
                "| decoding | BLEU | chrF++ | sentences/s | ratio to JoeyNMT |",
                "|---|---|---|---|---|",
            ]
            for mode in ("greedy", "beam5"):
                g = again[mode]
                lines.append(
                    f"| {mode} | {g['BLEU']:.2f} | {g['chrF++']:.2f} | "
                    f"{g['sentences_per_s']:.1f} | "
                    f"{_ratio(g['sentences_per_s'], joey_b[mode]['sentences_per_s'])} |"
                )
    lines += _equal_quality()
    lines += _speedup_table()
    lines += [
        "",
        "## Commands",
        "",
        "```",
        "make bench-quick          # throughput only, a few minutes",
        "make bench                # throughput, the budget runs (BENCH_SECONDS=600 each), then "
        "the decoding table (beams 1-5, exact and with the speed-ups)",
        "```",
        "",
        "Each half on its own:",
        "",
        "```",
    ]
    for name in (
        "throughput-ours-fp32",
        "throughput-ours-bf16",
        "throughput-ours-auto",
        "throughput-joeynmt",
        "budget-ours",
        "budget-joeynmt",
        "decode-ours",
        "equal-joeynmt",
        "decode-table",
    ):
        r = _load(name)
        if r:
            lines.append(r["command"].replace(str(ROOT) + "/", ""))
    lines += ["```", ""]
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)


def _equal_quality() -> list[str]:
    """The section that compares decoding at near-equal test BLEU, when both halves exist."""
    theirs, model = _load("equal-joeynmt"), _load("budget-ours")
    if not (theirs and model):
        return []
    ours = _load("decode-ours") or model
    lines = [
        "",
        "## Decoding at near-equal quality",
        "",
        f"JoeyNMT trained {theirs['budget_seconds'] / 60:.0f} minutes "
        f"({theirs['metadata']['training_steps']:,} updates, {theirs['date']}, CPU "
        f"{theirs.get('cpu', 'not recorded')}) against our "
        f"{model['budget_seconds'] / 60:.0f}-minute budget model decoded with the "
        f"current decoder ({ours['date']}, CPU {ours.get('cpu', 'not recorded')}): JoeyNMT "
        "needs that much longer to translate the "
        "test set about as well. Same test set, 64 sentences a batch, 2 threads, one process "
        "after the other.",
        "",
        "| decoding | JoeyNMT BLEU | ours BLEU | ours − JoeyNMT | JoeyNMT sentences/s "
        "| ours sentences/s | ours ÷ JoeyNMT |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in ("greedy", "beam5"):
        j, o = theirs[mode], ours[mode]
        lines.append(
            f"| {mode} | {j['BLEU']:.2f} | {o['BLEU']:.2f} | {o['BLEU'] - j['BLEU']:+.2f} | "
            f"{j['sentences_per_s']:.1f} | {o['sentences_per_s']:.1f} | "
            f"{_ratio(o['sentences_per_s'], j['sentences_per_s'])} |"
        )
    return lines


def _speedup_table() -> list[str]:
    """Beams 1-5 x {exact, shortlist, int8, both} against JoeyNMT's same beam, when both
    halves exist and were measured on one CPU."""
    table, joey = _load("decode-table"), _load("equal-joeynmt")
    if not table or "rows" not in table:
        return []
    same_cpu = joey is not None and joey.get("cpu") == table.get("cpu")
    sl = table["shortlist"]
    lines = [
        "",
        "## Decoding speed-ups: vocabulary shortlist and int8, beams 1-5",
        "",
        f"Our budget model ({table['model'].replace(str(ROOT) + '/', '')}) on the caption test "
        f"({table['sentences']} sentences, one reference), {table['batch_size']} sentences a "
        f"batch, {table['threads']} threads; sentences/s the median of three passes. "
        f"Shortlist: the {sl['per_piece']} target pieces most associated with each source "
        f"piece (Dice over {sl['train_pairs']:,} training pairs) and the {sl['frequent']} most "
        f"frequent, of {sl['target_vocabulary']:,}. int8: the decoder's matrices (fbgemm, "
        "per-row scales). JoeyNMT: its model of the section above, the same beam, decoded in "
        f"the same run ({table['date']}, CPU {table.get('cpu', 'not recorded')}); the ratio "
        f"is given where our BLEU is {NEAR[0]:+.1f} to {NEAR[1]:+.1f} from JoeyNMT's.",
        "",
        "| beam | search | BLEU | chrF++ | sentences/s | × exact | shortlist rows | JoeyNMT BLEU "
        "| JoeyNMT sentences/s | ours ÷ JoeyNMT |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    exact = {r["beam"]: r for r in table["rows"] if r["variant"] == "exact"}
    for r in table["rows"]:
        key = "greedy" if r["beam"] == 1 else f"beam{r['beam']}"
        j = joey.get(key) if joey and same_cpu else None
        if j is None:
            theirs, ratio = ("–", "–"), "– (not measured on this CPU)"
        else:
            gap = r["BLEU"] - j["BLEU"]
            theirs = (f"{j['BLEU']:.2f}", f"{j['sentences_per_s']:.1f}")
            ratio = (
                _ratio(r["sentences_per_s"], j["sentences_per_s"])
                if NEAR[0] <= gap <= NEAR[1]
                else f"– (BLEU {gap:+.2f})"
            )
        rows = r.get("shortlist_rows_mean")
        lines.append(
            f"| {r['beam']} | {r['variant']} | {r['BLEU']:.2f} | {r['chrF++']:.2f} | "
            f"{r['sentences_per_s']:.1f} | "
            f"{r['sentences_per_s'] / exact[r['beam']]['sentences_per_s']:.2f}× | "
            f"{rows if rows else '–'} | {theirs[0]} | {theirs[1]} | {ratio} |"
        )
    return lines


def _fmt(x: object) -> str:
    return f"{x:,.2f}" if isinstance(x, float) else str(x)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="throughput only")
    p.add_argument("--seconds", type=float, default=600, help="training budget of each toolkit")
    p.add_argument(
        "--equal-seconds",
        type=float,
        default=1800,
        help="JoeyNMT's training for the equal-quality decoding comparison",
    )
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--updates", type=int, default=60)
    p.add_argument("--data-root", type=Path, default=ROOT / "data")
    p.add_argument("--only", nargs="*", help="run just these results (e.g. budget-ours)")
    p.add_argument(
        "--joey-decode-only",
        action="store_true",
        help="equal-joeynmt: decode the model its last run left, without training again",
    )
    p.add_argument("--render", action="store_true", help="only rewrite RESULTS.md")
    args = p.parse_args(argv)
    global RESULTS
    page = HERE / "RESULTS.md"
    if any(os.environ.get(k) for k in CAPS):  # proves the code runs there, never a speed
        RESULTS = HERE / "work" / "results-capped"
        page = RESULTS / "RESULTS.md"
        print(f"an ISA cap is set ({', '.join(CAPS)}): results go to {RESULTS}, not results/")
    if not JOEY_PYTHON.exists():
        raise SystemExit(f"{JOEY_PYTHON} is missing: run `bash benchmarks/setup_joeynmt.sh`")
    prepared = args.data_root.resolve() / "hi-en"
    if not (prepared / "meta.json").exists():
        raise SystemExit(f"{prepared} is not prepared: run `make data PAIR=hi-en`")
    RESULTS.mkdir(parents=True, exist_ok=True)
    shared = HERE / "work" / "shared"
    export_shared(prepared, shared)
    ours, joey = (
        [str(OURS_PYTHON), str(HERE / "bench_ours.py")],
        [str(OURS_PYTHON), str(HERE / "joeynmt_run.py")],
    )
    steps = ["--warmup", str(args.warmup), "--updates", str(args.updates)]

    def joey_budget(seconds: float, *extra: str) -> list[str]:
        test = ["--test-set", TEST_SET]
        return [*joey, "budget", "--data", str(shared), "--seconds", str(seconds), *test, *extra]

    def ours_throughput(precision: str) -> list[str]:
        root = ["--data-root", str(args.data_root)]
        return [*ours, "throughput", *root, *steps, "--precision", precision]

    plan = {
        "throughput-ours-fp32": ours_throughput("32-true"),
        "throughput-ours-bf16": ours_throughput("bf16-mixed"),
        # The default configuration: the precision probe chooses (and its cost is recorded).
        "throughput-ours-auto": ours_throughput("auto"),
        "throughput-joeynmt": [*joey, "throughput", "--data", str(shared), *steps],
    }
    # Beams 1-5, exact and with the speed-ups, against JoeyNMT's same beams (equal-joeynmt).
    plan["decode-table"] = [
        *ours,
        "table",
        "--data-root",
        str(args.data_root),
        "--test-set",
        TEST_SET,
    ]
    plan["decode-ours"] = [
        *ours,
        "decode",
        "--data-root",
        str(args.data_root),
        "--test-set",
        TEST_SET,
    ]
    if not args.quick:
        plan |= {
            "budget-ours": [
                *ours,
                "budget",
                "--data-root",
                str(args.data_root),
                "--seconds",
                str(args.seconds),
                "--test-set",
                TEST_SET,
            ],
            "budget-joeynmt": joey_budget(args.seconds),
            "equal-joeynmt": joey_budget(
                args.equal_seconds,
                "--beams",
                *BEAMS,
                *(["--decode-only"] if args.joey_decode_only else []),
            ),
        }
    no_bf16 = bf16_unavailable()
    if not args.render:
        if not args.only and not args.quick:  # a new budget model: older re-decodes are stale
            (RESULTS / "decode-ours.json").unlink(missing_ok=True)
        for name, cmd in plan.items():
            if not ((name in args.only) if args.only else name != "decode-ours"):
                continue
            if name == "decode-table" and not args.only:
                continue  # run last, below: after the model it decodes is trained
            if name == "throughput-ours-bf16" and no_bf16:
                skip(name, cmd, no_bf16)
            else:
                run(name, cmd)
        if not args.only and not args.quick:
            run("decode-table", plan["decode-table"])
    tmp = page.with_suffix(".md.tmp")
    tmp.write_text(render(machine()), encoding="utf-8")
    os.replace(tmp, page)
    print(f"\nwrote {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
