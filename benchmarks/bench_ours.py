"""indic-seq2seq's half of the side-by-side benchmark (the JoeyNMT half: joeynmt_run.py).

    python benchmarks/bench_ours.py throughput --data-root DIR --out ours.json \
        [--warmup 10 --updates 50]
    python benchmarks/bench_ours.py budget --data-root DIR --seconds 1800 --out ours.json
    python benchmarks/bench_ours.py decode --data-root DIR --model BUNDLE --out ours.json
    python benchmarks/bench_ours.py table --data-root DIR --model BUNDLE --out ours.json

`table` decodes the test set with beams 1-5, each exact and with the decoding speed-ups
(the vocabulary shortlist, built from the same training pairs, int8, and both; see
seq2seq/evaluate/speedup.py): BLEU, chrF++ and sentences/s, the median of --repeats timings.

Both modes train through the toolkit's own path (`seq2seq.train.trainer`: Lightning,
token-bucket batches, the model of `seq2seq/model/network.py`) on the architecture JoeyNMT is
configured with: a 1-layer bidirectional LSTM encoder of 256, a 1-layer LSTM decoder of 256,
embeddings of 256, Bahdanau attention, dropout 0.2, fp32 (unless --precision), ~2000-token
batches, 2 threads.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from seq2seq.config import EXACT_SEARCH, config_from_dict
from seq2seq.data.batches import Batch
from seq2seq.data.prepared import PreparedPair
from seq2seq.decode.shortlist import FREQUENT, PER_PIECE
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.scoring import translate_and_score
from seq2seq.train.trainer import train


def benchmark_config(data_root: Path, work: Path, name: str, **train_fields) -> object:
    """The shared architecture, as an experiment config of ours, trained as `name`."""
    return config_from_dict(
        {
            "name": name,
            "data": {
                "src_lang": "hi",
                "tgt_lang": "en",
                "root": str(data_root),
                "batch_tokens": 2000,
                "max_len": 100,
                "dev_max_sents": 500,
            },
            "model": {
                "emb_dim": 256,
                "hidden_dim": 256,
                "enc_layers": 1,
                "dec_layers": 1,
                "attention": "bahdanau",
                "attn_dim": 256,
                "dropout": 0.2,
                "tie_output": False,
            },
            "train": {
                "lr": 0.001,
                "scheduler": "constant",
                "label_smoothing": 0.0,
                "threads": 2,
                "run_dir": str(work / "runs"),
                "output_dir": str(work / "models"),
                **train_fields,
            },
            "decode": {"beam_size": 5, "length_penalty": 1.0},
        },
        "benchmark config",
    )


class ThroughputMeter(pl.Callback):
    """Times `updates` optimiser steps after `warmup` steps and counts their target tokens."""

    def __init__(self, warmup: int, updates: int) -> None:
        self.warmup, self.updates = warmup, updates
        self.tokens = 0
        self.start = self.seconds = 0.0

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Batch, batch_idx: int
    ) -> None:
        if trainer.global_step == self.warmup:
            self.start = time.perf_counter()

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: object,
        batch: Batch,
        batch_idx: int,
    ) -> None:
        if trainer.global_step > self.warmup:
            self.tokens += batch.num_tokens
        if trainer.global_step == self.warmup + self.updates:
            self.seconds = time.perf_counter() - self.start
            trainer.should_stop = True


def run_throughput(args: argparse.Namespace) -> dict:
    meter = ThroughputMeter(args.warmup, args.updates)
    cfg = benchmark_config(  # not "bench": the budget model stays for `decode`
        args.data_root,
        args.work,
        "bench-throughput",
        max_steps=args.warmup + args.updates,
        val_every_steps=10**6,
        precision=args.precision,
        recurrence=args.recurrence,
    )
    bundle = train(cfg, overwrite=True, extra_callbacks=[meter])
    # With auto, the precision the probe chose and what the probe cost (before the warm-up).
    chosen = json.loads((bundle / "metadata.json").read_text())["precision"]
    return {
        "toolkit": "indic-seq2seq",
        "mode": "throughput",
        "precision": args.precision,
        "precision_chosen": chosen,
        "recurrence": args.recurrence,
        "warmup_updates": args.warmup,
        "measured_updates": args.updates,
        "target_tokens": meter.tokens,
        "seconds": round(meter.seconds, 3),
        "tokens_per_s": round(meter.tokens / meter.seconds, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_budget(args: argparse.Namespace) -> dict:
    cfg = benchmark_config(
        args.data_root,
        args.work,
        "bench",
        max_steps=10**7,
        max_time_minutes=args.seconds / 60,
        val_every_steps=args.val_every,
        early_stopping_patience=10**6,
        precision=args.precision,
    )
    start = time.perf_counter()
    bundle = train(cfg, overwrite=True)
    train_seconds = time.perf_counter() - start
    return {
        "toolkit": "indic-seq2seq",
        "mode": "budget",
        "budget_seconds": args.seconds,
        "train_seconds": round(train_seconds, 1),
        **decode_test_set(args, bundle),
    }


def run_decode(args: argparse.Namespace) -> dict:
    """Decode the test set again with a bundle that `budget` trained (the current decoder)."""
    return {"toolkit": "indic-seq2seq", "mode": "decode", **decode_test_set(args, args.model)}


def decode_test_set(args: argparse.Namespace, bundle: Path) -> dict:
    """Greedy and beam-5 speed and scores on the test set against its first reference."""
    prepared = PreparedPair(args.data_root / "hi-en")
    src = prepared.read(args.test_set, "hi")
    refs = prepared.references(args.test_set, "en")[:1]
    out: dict = {
        "test_set": args.test_set,
        "model": str(bundle),
        "metadata": json.loads((bundle / "metadata.json").read_text()),
    }
    for name, beam, batch in (("greedy", 1, args.batch_size), ("beam5", 5, args.batch_size)):
        translator = Translator.load(bundle, beam_size=beam, batch_size=batch)
        scored = translate_and_score(translator, src, refs, f"{args.test_set}-{name}", args.hyps)
        scores = {"BLEU": scored.scores.bleu.score, "chrF++": scored.scores.chrf.score}
        out[name] = {
            "sentences_per_s": round(len(src) / scored.seconds, 2),
            "batch_size": batch,
            "sentences": len(src),
            **scores,
        }
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run_table(args: argparse.Namespace) -> dict:
    """Beams 1-5 x {exact, shortlist, int8, both} on the test set (sentences/s: the median of
    `--repeats` timed passes after one untimed one)."""
    from seq2seq.evaluate.speedup import VARIANTS, build_shortlist

    prepared = PreparedPair(args.data_root / "hi-en")
    src = prepared.read(args.test_set, "hi")
    refs = prepared.references(args.test_set, "en")[:1]
    exact = Translator.load(args.model, batch_size=args.batch_size, **EXACT_SEARCH)
    shortlist, pairs = build_shortlist(exact.bundle, prepared, args.per_piece, args.frequent)
    exact.bundle.derived["shortlist"] = shortlist
    # The union's size for batches of the file's lines in order (the Translator sorts by
    # length first); the same for every beam.
    sizes = [
        len(shortlist.rows(_ids(exact, src[i : i + args.batch_size])))
        for i in range(0, len(src), args.batch_size)
    ]
    rows_mean = round(sum(sizes) / len(sizes))
    rows = []
    for beam in args.beams:
        for variant, settings in VARIANTS.items():
            translator = exact.with_decode(beam_size=beam, **settings)
            translator.translate(src[: args.batch_size])
            passes = [
                translate_and_score(translator, src, refs, args.test_set, None)
                for _ in range(args.repeats)
            ]
            seconds = sorted(p.seconds for p in passes)[len(passes) // 2]
            rows.append(
                {
                    "beam": beam,
                    "variant": variant,
                    "sentences_per_s": round(len(src) / seconds, 1),
                    "BLEU": passes[0].scores.bleu.score,
                    "chrF++": passes[0].scores.chrf.score,
                    "shortlist_rows_mean": rows_mean if settings.get("shortlist") else None,
                }
            )
            print(rows[-1], flush=True)
    return {
        "toolkit": "indic-seq2seq",
        "mode": "table",
        "test_set": args.test_set,
        "model": str(args.model),
        "batch_size": args.batch_size,
        "sentences": len(src),
        "threads": torch.get_num_threads(),
        "shortlist": {
            "per_piece": args.per_piece,
            "frequent": args.frequent,
            "train_pairs": pairs,
            "target_vocabulary": len(exact.bundle.tgt_vocab),
        },
        "rows": rows,
    }


def _ids(translator: Translator, lines: list[str]) -> torch.Tensor:
    """The source pieces' ids of some lines, as one flat tensor."""
    return torch.tensor([i for line in lines for i in translator.bundle.src_vocab.encode(line)])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=("throughput", "budget", "decode", "table"))
    p.add_argument("--data-root", type=Path, required=True, help="holds hi-en/ (data_prep output)")
    p.add_argument("--work", type=Path, default=Path("benchmarks/work/ours"))
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--updates", type=int, default=50)
    p.add_argument("--seconds", type=float, default=1800)
    p.add_argument("--val-every", type=int, default=500)
    p.add_argument("--test-set", default="test-vg")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--precision", default="32-true")
    p.add_argument("--recurrence", choices=("fused", "steps"), default="fused")
    p.add_argument("--hyps", type=Path, default=None, help="decode: write the hypotheses here")
    p.add_argument(
        "--model",
        type=Path,
        default=Path("benchmarks/work/ours/models/bench"),
        help="decode: the bundle to decode with",
    )
    p.add_argument("--beams", type=int, nargs="+", default=[1, 2, 3, 4, 5], help="table")
    p.add_argument("--repeats", type=int, default=3, help="table: timed passes of each row")
    p.add_argument("--per-piece", type=int, default=PER_PIECE, help="table: the shortlist's")
    p.add_argument("--frequent", type=int, default=FREQUENT, help="table: the shortlist's")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    modes = {"throughput": run_throughput, "budget": run_budget, "decode": run_decode}
    result = (modes | {"table": run_table})[args.mode](args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
