"""JoeyNMT 2.3.0's half of the side-by-side benchmark (ours: bench_ours.py).

    python benchmarks/joeynmt_run.py throughput --data DIR --out joey.json \
        [--warmup 10 --updates 50]
    python benchmarks/joeynmt_run.py budget --data DIR --seconds 1800 --out joey.json

DIR holds raw-text train/dev/test.{src,tgt} (test.tgt.0, .1, ... for several references) and a
joint SentencePiece model spm.model with its spm.vocab. This script is a driver: it runs
`python -m joeynmt train|translate` of benchmarks/.venv-joeynmt (see setup_joeynmt.sh) as child
processes and measures them from outside, from JoeyNMT's own log lines and the child's rusage.
It needs only the standard library, PyYAML and sacrebleu, so any of our venvs can run it.

The architecture is the one bench_ours.py trains: bidirectional 1-layer LSTM encoder of 256,
1-layer LSTM decoder of 256 with Bahdanau attention and input feeding, embeddings of 256,
dropout 0.2, fp32, Adam at a constant 1e-3 (see SCHEDULER), gradient norm clipped at 1.0,
token-normalised cross-entropy without label smoothing, ~2000-token batches, 2 threads.

throughput: JoeyNMT logs one line per update (logging_freq 1). Each line carries the tokens/s of
that update, whose window starts at the previous line (or at the "EPOCH n" line), so the update's
target tokens are about rate x (gap between the two timestamps). The final checkpoint holds the
exact target-token total of all W+N updates; the N measured updates get that total less the
reconstructed tokens of the W warm-up updates (the reconstruction runs ~0.2% high, as each gap
also holds ~1 ms of JoeyNMT's own logging; `token_check` reports it). The measured span is the
wall clock between the log lines of update W and update W+N: it excludes start-up, data loading
and the warm-up, and includes everything JoeyNMT does per update (on-the-fly SentencePiece
encoding, batching, forward, backward, Adam, its logging). Target tokens are real (non-pad)
target tokens with </s> and without <s>, as JoeyNMT's Batch.ntokens and our Batch.num_tokens.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml

log = logging.getLogger("joeynmt_run")

HERE = Path(__file__).resolve().parent
JOEY_PYTHON = HERE / ".venv-joeynmt" / "bin" / "python"
LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) - \w+ - [\w.]+ - (.*)$")
STEP = re.compile(r"Epoch +\d+, Step: +(\d+), .*Tokens per Sec: +(\d+),")
EPOCH_START = re.compile(r"^EPOCH (\d+)$")
GENERATION = re.compile(r"Generation took ([\d.]+)\[sec\]")
VALIDATION = re.compile(r"Steps: (\d+)\t.*\bbleu: ([\d.]+)")

# A constant learning rate, as bench_ours.py trains with. JoeyNMT 2.3.0 offers no working way to
# say "no scheduler": its docstring promises a constant rate when `scheduling` is unset, but
# build_scheduler raises ConfigurationError for None; `plateau` passes `verbose=` to
# ReduceLROnPlateau, which current torch rejects; `warmupexponentialdecay` is built without its
# optimizer (TypeError); `noam` and `warmupinversesquareroot` always decay. `exponential` is
# ExponentialLR(gamma=decrease_factor) stepped once per epoch, so gamma 1.0 keeps lr at exactly
# `learning_rate` (torch warns once that step(epoch) is deprecated; it still works).
SCHEDULER = {"scheduling": "exponential", "decrease_factor": 1.0}


@dataclass(frozen=True)
class Child:
    """What a finished child process left: exit status, wall seconds, peak resident memory."""

    returncode: int
    wall_s: float
    peak_rss_mb: float


@dataclass(frozen=True)
class Event:
    """One JoeyNMT log line: its timestamp (s since the epoch) and message."""

    t: float
    message: str


# ----------------------------------------------------------------------------- data and config


def _read_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def stage_data(data: Path, work: Path, dev_max_sents: int) -> dict[str, int]:
    """Copy train/dev into work/data for JoeyNMT; write its vocabulary file. Returns pair counts.

    JoeyNMT's plain-text reader drops empty lines on each side separately, which would shift
    one side against the other, so pairs with an empty side are left out here (and counted).
    The dev set is cut to its first `dev_max_sents` pairs, as bench_ours.py validates on.
    """
    out = work / "data"
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for split, limit in (("train", None), ("dev", dev_max_sents)):
        src, tgt = _read_lines(data / f"{split}.src"), _read_lines(data / f"{split}.tgt")
        if len(src) != len(tgt):
            raise SystemExit(f"{data}/{split}.src has {len(src)} lines, .tgt {len(tgt)}")
        pairs = [(s, t) for s, t in zip(src, tgt) if s.strip() and t.strip()]
        counts[f"{split}_pairs_dropped_empty"] = len(src) - len(pairs)
        pairs = pairs[:limit]
        counts[f"{split}_pairs"] = len(pairs)
        (out / f"{split}.src").write_text("".join(s + "\n" for s, _ in pairs), encoding="utf-8")
        (out / f"{split}.tgt").write_text("".join(t + "\n" for _, t in pairs), encoding="utf-8")
    # JoeyNMT wants one token per line; it puts <unk> <pad> <s> </s> first and skips repeats.
    pieces = [line.split("\t")[0] for line in _read_lines(data / "spm.vocab")]
    (out / "vocab.txt").write_text("".join(p + "\n" for p in pieces), encoding="utf-8")
    counts["spm_pieces"] = len(pieces)
    return counts


def joey_config(
    data: Path,
    work: Path,
    *,
    updates: int | None,
    val_every: int,
    log_every: int,
    batch_tokens: int,
    decode_batch: int,
    beam: int,
    load_model: Path | None = None,
) -> dict:
    """The JoeyNMT 2.3.0 config of the benchmark architecture (see the module docstring)."""
    staged = work / "data"
    side = {
        "level": "bpe",
        "tokenizer_type": "sentencepiece",
        "voc_file": str(staged / "vocab.txt"),
        "max_length": 100,
        "lowercase": False,
        "normalize": False,
        "tokenizer_cfg": {"model_file": str(data / "spm.model"), "pretokenizer": "none"},
    }
    training = {
        "optimizer": "adam",
        "adam_betas": [0.9, 0.999],
        "learning_rate": 0.001,
        "learning_rate_min": 1.0e-5,
        "clip_grad_norm": 1.0,
        "label_smoothing": 0.0,
        "normalization": "tokens",
        "loss": "crossentropy",
        **SCHEDULER,
        "batch_size": batch_tokens,
        "batch_type": "token",
        "batch_multiplier": 1,
        "shuffle": True,
        "epochs": 10**6,
        "validation_freq": val_every,
        "logging_freq": log_every,
        "early_stopping_metric": "bleu",
        "keep_best_ckpts": 1,
        "print_valid_sents": [0],
        "overwrite": True,
    }
    if updates is not None:
        training["updates"] = updates
    rnn = {
        "type": "recurrent",
        "rnn_type": "lstm",
        "hidden_size": 256,
        "num_layers": 1,
        "dropout": 0.2,
        "embeddings": {"embedding_dim": 256, "scale": False},
    }
    cfg = {
        "name": "joeynmt-bench",
        "joeynmt_version": "2.3.0",
        "model_dir": str(work / "model"),
        "use_cuda": False,
        "fp16": False,
        "random_seed": 42,
        "num_workers": 0,
        "data": {
            "train": str(staged / "train"),
            "dev": str(staged / "dev"),
            "dataset_type": "plain",
            "src": {"lang": "src", **side},
            "trg": {"lang": "tgt", **side},
        },
        "training": training,
        "testing": {
            "batch_size": decode_batch,
            "batch_type": "sentence",
            "beam_size": beam,
            "beam_alpha": 1.0,
            "eval_metrics": ["bleu", "chrf"],
        },
        "model": {
            "tied_embeddings": False,
            "tied_softmax": False,
            "encoder": {**rnn, "bidirectional": True},
            "decoder": {
                **rnn,
                "attention": "bahdanau",
                "input_feeding": True,
                "init_hidden": "bridge",
                "hidden_dropout": 0.2,
            },
        },
    }
    if load_model is not None:
        cfg["testing"]["load_model"] = str(load_model)
    return cfg


def write_config(cfg: dict, path: Path) -> Path:
    """Write a config as YAML and return its path."""
    path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- child processes


def child_env(threads: int) -> dict[str, str]:
    """The environment for a JoeyNMT child: `threads` intra-op threads, no GPU."""
    return {
        **os.environ,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "CUDA_VISIBLE_DEVICES": "",
        "PYTHONUNBUFFERED": "1",
    }


def run_child(
    cmd: list[str],
    env: dict[str, str],
    stdout: Path,
    stderr: Path,
    stdin: Path | None = None,
    log_file: Path | None = None,
    budget_s: float | None = None,
) -> Child:
    """Run a command to its end; with `budget_s`, send SIGINT that long after training starts.

    Training starts at the "EPOCH 1" line of `log_file`; JoeyNMT catches the KeyboardInterrupt,
    saves a checkpoint and exits normally. The child is reaped with wait4 so that its own peak
    RSS is read, not the driver's.
    """
    start = time.time()
    stop_at: float | None = None
    interrupted_at: float | None = None
    signalled: float | None = None
    with (
        open(stdout, "w") as out,
        open(stderr, "w") as err,
        open(stdin if stdin else os.devnull) as inp,
    ):
        proc = subprocess.Popen(cmd, stdin=inp, stdout=out, stderr=err, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            now = time.time()
            if budget_s is not None and stop_at is None and log_file and log_file.exists():
                begun = [e.t for e in read_events(log_file) if EPOCH_START.match(e.message)]
                stop_at = begun[0] + budget_s if begun else None
            # JoeyNMT ignores a SIGINT that lands in a validation: send it again every 30 s.
            if stop_at is not None and now >= stop_at and now - (signalled or 0) >= 30:
                log.info("budget of %.0f s used: sending SIGINT", budget_s)
                proc.send_signal(signal.SIGINT)
                interrupted_at, signalled = interrupted_at or now, now
            if interrupted_at is not None and now - interrupted_at > 300:
                proc.kill()
            time.sleep(0.2)
    proc.returncode = os.waitstatus_to_exitcode(status)
    child = Child(proc.returncode, time.time() - start, usage.ru_maxrss / 1024)
    if interrupted_at is not None and child.returncode == -signal.SIGKILL:
        log.info("stopped after the budget: the model is its last saved checkpoint")
    elif child.returncode != 0:
        tail = "".join(stderr.read_text(encoding="utf-8", errors="replace").splitlines(True)[-20:])
        raise SystemExit(f"{' '.join(cmd)} exited {child.returncode}; see {stderr}:\n{tail}")
    return child


def host(load_before: float) -> dict[str, float | int | None]:
    """CPU count and 1-minute load average before and after: other work skews the timings."""
    return {
        "cpus": os.cpu_count(),
        "loadavg_1m_before": round(load_before, 2),
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
    }


def read_events(path: Path) -> list[Event]:
    """The timestamped lines of a JoeyNMT log (continuation lines are skipped)."""
    events = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        m = LINE.match(line)
        if m:
            t = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            events.append(Event(t, m.group(2)))
    return events


def read_stats(ckpt: Path, python: Path) -> dict:
    """The training statistics JoeyNMT stores in a checkpoint (steps, exact token total)."""
    code = (
        "import json,sys,torch; s=torch.load(sys.argv[1],map_location='cpu',"
        "weights_only=False)['stats_state']; print(json.dumps(s))"
    )
    out = subprocess.run(
        [str(python), "-c", code, str(ckpt)],
        check=True,
        capture_output=True,
        text=True,
        env=child_env(1),
    )
    return json.loads(out.stdout)


# ----------------------------------------------------------------------------- throughput


def update_tokens(events: list[Event]) -> dict[int, tuple[float, float]]:
    """Per update: (time its log line was written, its target tokens = rate x window)."""
    out: dict[int, tuple[float, float]] = {}
    window_start: float | None = None
    for e in events:
        if EPOCH_START.match(e.message):
            window_start = e.t
        elif m := STEP.search(e.message):
            step, rate = int(m.group(1)), float(m.group(2))
            out[step] = (e.t, rate * (e.t - window_start) if window_start is not None else math.nan)
            window_start = e.t
    return out


def run_throughput(args: argparse.Namespace) -> dict:
    """Train W + N updates with a log line per update; time and count the last N."""
    counts = stage_data(args.data, args.work, args.dev_max_sents)
    load = os.getloadavg()[0]
    total = args.warmup + args.updates
    cfg = joey_config(
        args.data,
        args.work,
        updates=total,
        val_every=10**9,
        log_every=1,
        batch_tokens=args.batch_tokens,
        decode_batch=args.batch_size,
        beam=1,
    )
    config = write_config(cfg, args.work / "train.yaml")
    child = run_child(
        [str(args.joey_python), "-m", "joeynmt", "train", str(config), "-t"],
        child_env(args.threads),
        args.work / "train.stdout",
        args.work / "train.stderr",
    )
    per_update = update_tokens(read_events(args.work / "model" / "train.log"))
    missing = [s for s in (args.warmup, total) if s not in per_update]
    if missing:
        raise SystemExit(f"no log line for update(s) {missing} in {args.work}/model/train.log")
    seconds = per_update[total][0] - per_update[args.warmup][0]
    exact = read_stats(args.work / "model" / "latest.ckpt", args.joey_python)["total_tokens"]
    reconstructed = sum(tok for _, tok in per_update.values())
    tokens = exact - sum(per_update[s][1] for s in range(1, args.warmup + 1))
    return {
        "toolkit": "joeynmt",
        "mode": "throughput",
        "precision": "32-true",
        "warmup_updates": args.warmup,
        "measured_updates": args.updates,
        "target_tokens": round(tokens),
        "seconds": round(seconds, 3),
        "tokens_per_s": round(tokens / seconds, 1),
        "updates_per_s": round(args.updates / seconds, 3),
        "peak_rss_mb": round(child.peak_rss_mb, 1),
        "token_check": {
            "exact_all_updates": exact,
            "reconstructed_all_updates": round(reconstructed),
            "relative_error": round(reconstructed / exact - 1, 5),
        },
        "batch_tokens": args.batch_tokens,
        "threads": args.threads,
        "process_wall_s": round(child.wall_s, 1),
        "data": counts,
        "host": host(load),
    }


# ----------------------------------------------------------------------------- budget


def read_refs(data: Path) -> list[list[str]]:
    """test.tgt, or test.tgt.0, test.tgt.1, ... when there are several references."""
    single = data / "test.tgt"
    paths = [single] if single.exists() else sorted(data.glob("test.tgt.[0-9]*"))
    if not paths:
        raise SystemExit(f"{data}: no test.tgt or test.tgt.N")
    return [_read_lines(p) for p in paths]


def translate(
    args: argparse.Namespace, ckpt: Path, beam: int, src: list[str]
) -> tuple[list[str], float, Child]:
    """Translate `src` with `python -m joeynmt translate`; hypotheses and generation seconds.

    The seconds are JoeyNMT's own "Generation took" span: batching, SentencePiece encoding and
    search over the whole input, without model loading or detokenisation. JoeyNMT's translate
    skips empty input lines, so only non-empty ones are sent and empty ones get "" back.
    """
    tag = f"beam{beam}"
    cfg = joey_config(
        args.data,
        args.work,
        updates=None,
        val_every=args.val_every,
        log_every=1,
        batch_tokens=args.batch_tokens,
        decode_batch=args.batch_size,
        beam=beam,
        load_model=ckpt,
    )
    config = write_config(cfg, args.work / f"translate-{tag}.yaml")
    keep = [i for i, s in enumerate(src) if s.strip()]
    inp = args.work / "test.nonempty.src"
    inp.write_text("".join(src[i] + "\n" for i in keep), encoding="utf-8")
    stdout, stderr = args.work / f"test.{tag}.hyps", args.work / f"translate-{tag}.stderr"
    # `translate -o FILE` fails in 2.3.0 (it reads `n_best` off the wrong object); without -o
    # hypotheses go to stdout and the log to stderr.
    child = run_child(
        [str(args.joey_python), "-m", "joeynmt", "translate", str(config)],
        child_env(args.threads),
        stdout,
        stderr,
        stdin=inp,
    )
    out = _read_lines(stdout)
    if len(out) != len(keep):
        raise SystemExit(f"{stdout}: {len(out)} hypotheses for {len(keep)} inputs")
    hyps = [""] * len(src)
    for i, hyp in zip(keep, out):
        hyps[i] = hyp
    took = [float(m.group(1)) for e in read_events(stderr) if (m := GENERATION.search(e.message))]
    return hyps, took[-1], child


def score(hyps: list[str], refs: list[list[str]]) -> dict[str, float | str]:
    """Corpus BLEU and chrF++ with sacrebleu's defaults, as seq2seq.evaluate.metrics does."""
    from sacrebleu.metrics import BLEU, CHRF

    out: dict[str, float | str] = {}
    for name, metric in (("BLEU", BLEU()), ("chrF++", CHRF(word_order=2))):
        out[name] = round(metric.corpus_score(hyps, refs).score, 2)
        out[f"{name}_signature"] = str(metric.get_signature())
    return out


def run_budget(args: argparse.Namespace) -> dict:
    """Train for a wall-clock budget, then decode the test set greedily and with beam 5 (or
    the beams of --beams)."""
    counts = stage_data(args.data, args.work, args.dev_max_sents)
    load = os.getloadavg()[0]
    log_every = math.gcd(args.val_every, 100)
    cfg = joey_config(
        args.data,
        args.work,
        updates=None,
        val_every=args.val_every,
        log_every=log_every,
        batch_tokens=args.batch_tokens,
        decode_batch=args.batch_size,
        beam=1,
    )
    config = write_config(cfg, args.work / "train.yaml")
    model = args.work / "model"
    train_log = model / "train.log"
    if args.decode_only:  # the model a budget run left in --work, decoded again
        if not (model / "latest.ckpt").exists():
            raise SystemExit(f"{model}: no trained model to decode; run `budget` without it")
        train = Child(0, float("nan"), 0.0)
    else:
        if train_log.exists():
            train_log.unlink()  # the budget clock reads this file while it grows
        train = run_child(
            [str(args.joey_python), "-m", "joeynmt", "train", str(config), "-t"],
            child_env(args.threads),
            args.work / "train.stdout",
            args.work / "train.stderr",
            log_file=train_log,
            budget_s=args.seconds,
        )
    events = read_events(train_log)
    loop_start = next(e.t for e in events if EPOCH_START.match(e.message))
    ckpt = model / ("best.ckpt" if (model / "best.ckpt").exists() else "latest.ckpt")
    stats = read_stats(model / "latest.ckpt", args.joey_python)
    validations = (
        [VALIDATION.search(line) for line in _read_lines(model / "validations.txt")]
        if (model / "validations.txt").exists()
        else []
    )
    best = max((m for m in validations if m), key=lambda m: float(m.group(2)), default=None)
    out: dict = {
        "toolkit": "joeynmt",
        "mode": "budget",
        "budget_seconds": args.seconds,
        "train_seconds": None if args.decode_only else round(train.wall_s, 1),
        "train_loop_seconds": round(events[-1].t - loop_start, 1),
        "test_set": args.test_set,
        "metadata": {
            "training_steps": stats["steps"],
            "epochs": stats["epochs"],
            "best_step": int(best.group(1)) if best else None,
            "dev_bleu": float(best.group(2)) if best else None,
            "validations": len([m for m in validations if m]),
            "checkpoint": ckpt.name,
            "train_target_tokens": stats["total_tokens"],
            "train_pairs": counts["train_pairs"],
            "dev_pairs": counts["dev_pairs"],
            "spm_pieces": counts["spm_pieces"],
            "val_every": args.val_every,
        },
        "train_peak_rss_mb": None if args.decode_only else round(train.peak_rss_mb, 1),
        "decode_only": args.decode_only,
    }
    src, refs = _read_lines(args.data / "test.src"), read_refs(args.data)
    peak = train.peak_rss_mb
    for beam in args.beams:
        name = "greedy" if beam == 1 else f"beam{beam}"
        hyps, seconds, child = translate(args, ckpt, beam, src)
        peak = max(peak, child.peak_rss_mb)
        out[name] = {
            "sentences_per_s": round(len(src) / seconds, 2),
            "batch_size": args.batch_size,
            "sentences": len(src),
            "seconds": round(seconds, 3),
            "peak_rss_mb": round(child.peak_rss_mb, 1),
            **score(hyps, refs),
        }
    out["peak_rss_mb"] = round(peak, 1)
    out["host"] = host(load)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=("throughput", "budget"))
    p.add_argument(
        "--data",
        type=Path,
        required=True,
        help="holds {train,dev,test}.{src,tgt}, spm.model and spm.vocab",
    )
    p.add_argument("--out", type=Path, required=True, help="the JSON result")
    p.add_argument(
        "--work",
        type=Path,
        default=HERE / "work" / "joeynmt",
        help="configs, staged data, model and logs (replaced on each run)",
    )
    p.add_argument("--joey-python", type=Path, default=JOEY_PYTHON)
    p.add_argument("--warmup", type=int, default=10, help="throughput: updates not timed")
    p.add_argument("--updates", type=int, default=50, help="throughput: updates timed")
    p.add_argument("--seconds", type=float, default=1800, help="budget: training wall clock")
    p.add_argument("--val-every", type=int, default=500, help="budget: updates per validation")
    p.add_argument(
        "--decode-only",
        action="store_true",
        help="budget: decode the model an earlier budget run left in --work, no training",
    )
    p.add_argument("--dev-max-sents", type=int, default=500)
    p.add_argument("--batch-tokens", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=64, help="sentences per decoding batch")
    p.add_argument("--test-set", default="test", help="budget: a name for the test set")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--beams", type=int, nargs="+", default=[1, 5], help="budget: beam sizes decoded (1 5)"
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args.data, args.work = args.data.resolve(), args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    result = run_throughput(args) if args.mode == "throughput" else run_budget(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
