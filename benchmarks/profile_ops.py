"""Where the time of a training step and of a beam search goes: torch.profiler's top operators.

    python benchmarks/profile_ops.py train --data-root data --steps 30
    python benchmarks/profile_ops.py beam --model models/hi-en --data-root data --sentences 640 \
        [--search exact|shortlist|int8|shortlist+int8]

`train` times forward, backward and an Adam update of the `make bench` architecture (the model
of bench_ours.py: 256 units, Bahdanau attention, 8k pieces) on real token-bucket batches of
data/hi-en; `beam` decodes the first sentences of the caption test with beam 5. Each prints
the operators that take most self CPU time and the wall time per step or per sentence; the
tables in benchmarks/NOTES.md come from here.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_ours import benchmark_config  # noqa: E402
from machine import cpu_name, exit_unless_bf16  # noqa: E402

from seq2seq.data.batches import TranslationData  # noqa: E402
from seq2seq.data.prepared import PreparedPair  # noqa: E402
from seq2seq.decode.translate import Translator  # noqa: E402
from seq2seq.model.network import build_model  # noqa: E402
from seq2seq.train.loss import batch_loss  # noqa: E402


def profile_train(args: argparse.Namespace) -> None:
    cfg = benchmark_config(args.data_root, Path("benchmarks/work/profile"), "bench")
    data = TranslationData(cfg.data, seed=1)
    data.setup()
    loader = iter(data.train_dataloader())
    model = build_model(cfg.model, len(data.src_vocab), len(data.tgt_vocab))
    model.fused_recurrence = args.recurrence == "fused"
    optim = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()

    def step() -> int:
        batch = next(loader)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16-mixed"):
            loss = batch_loss(model, batch)  # as training: real positions, seq2seq/train/loss.py
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        return batch.num_tokens

    for _ in range(args.warmup):
        step()
    start, tokens = time.perf_counter(), 0
    for _ in range(args.steps):
        tokens += step()
    seconds = time.perf_counter() - start
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.profiled):
            step()
    print(f"CPU: {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(
        f"train ({args.recurrence} recurrence, {args.precision}): "
        f"{args.steps} steps in {seconds:.2f} s = "
        f"{seconds / args.steps * 1000:.0f} ms/step, {tokens / seconds:.0f} target tokens/s "
        "(no Lightning, no validation)"
    )
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def profile_beam(args: argparse.Namespace) -> None:
    from seq2seq.config import EXACT_SEARCH
    from seq2seq.decode.shortlist import FREQUENT, PER_PIECE
    from seq2seq.evaluate.speedup import VARIANTS, build_shortlist

    prepared = PreparedPair(args.data_root / "hi-en")
    src = prepared.read(args.test_set, "hi")[: args.sentences]
    tr = Translator.load(args.model, beam_size=args.beam, batch_size=64, **EXACT_SEARCH)
    if "shortlist" in VARIANTS[args.search]:
        shortlist, _ = build_shortlist(tr.bundle, prepared, PER_PIECE, FREQUENT)
        tr.bundle.derived["shortlist"] = shortlist
    tr = tr.with_decode(**VARIANTS[args.search])
    tr.translate(src[:64])  # warm-up
    start = time.perf_counter()
    tr.translate(src)
    seconds = time.perf_counter() - start
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        tr.translate(src)
    print(f"CPU: {cpu_name()}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    print(
        f"beam {args.beam}, {args.search} search: {len(src)} sentences in {seconds:.2f} s = "
        f"{len(src) / seconds:.1f}/s"
    )
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("mode", choices=("train", "beam"))
    p.add_argument("--data-root", type=Path, default=Path("data"))
    p.add_argument("--model", type=Path, default=Path("models/hi-en"))
    p.add_argument("--test-set", default="test-vg")
    p.add_argument("--sentences", type=int, default=640)
    p.add_argument("--beam", type=int, default=5)
    p.add_argument(
        "--search",
        choices=("exact", "shortlist", "int8", "shortlist+int8"),
        default="exact",
        help="beam: exact, or with the decoding speed-ups (seq2seq/evaluate/speedup.py)",
    )
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--profiled", type=int, default=10)
    p.add_argument("--rows", type=int, default=18)
    p.add_argument("--recurrence", choices=("fused", "steps"), default="fused", help="train")
    p.add_argument(
        "--precision", choices=("32-true", "bf16-mixed"), default="32-true", help="train"
    )
    args = p.parse_args(argv)
    if args.mode == "train" and args.precision == "bf16-mixed":
        exit_unless_bf16()
    torch.set_num_threads(2)
    torch.manual_seed(1)
    {"train": profile_train, "beam": profile_beam}[args.mode](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
