"""How far bf16 mixed precision moves a training step from fp32: losses and gradients compared.

    python benchmarks/precision_fidelity.py --model models/multi --batches 8 \
        --out benchmarks/results/precision-fidelity-fused.json

Takes a trained bundle and the first token-bucket batches of its own training data (as the run
drew them, its seed), keeps the model in eval mode (no dropout) so that only the precision
differs, and for each batch computes the loss and every gradient in fp32 and under bf16
autocast (the training path: the fused decoder recurrence; `--recurrence step` for
`Decoder.step`). It prints, per parameter group, the cosine between the bf16 and the fp32
gradient and the relative error ||g_bf16 - g_fp32|| / ||g_fp32||, averaged over the batches;
and, for scale, the same two between the fp32 gradients of consecutive batches: the minibatch
noise that training already tolerates. A bf16 error far below that noise cannot explain a
quality gap between bf16 and fp32 runs; one near it can. `--out` keeps the figures as JSON,
with the command and the machine; benchmarks/NOTES.md reads them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import cpu_name, exit_unless_bf16  # noqa: E402

from indic_common.atomic import write_text  # noqa: E402
from indic_common.errors import Seq2SeqError  # noqa: E402
from seq2seq.data.batches import TranslationData, first_batches  # noqa: E402
from seq2seq.model.bundle import load_bundle  # noqa: E402
from seq2seq.train.loss import batch_loss  # noqa: E402

# Parameter groups by name prefix, in print order; the first that matches takes a parameter.
GROUPS = (
    ("encoder", "encoder."),
    ("attention", "decoder.attention."),
    ("decoder recurrence", "decoder.hid_gates."),
    ("decoder inputs", "decoder.emb_gates."),
    ("decoder context", "decoder.ctx_gates."),
    ("decoder embedding", "decoder.embed."),
    ("readout and output", "decoder."),
    ("bridge", "bridge."),
)


def group_of(name: str) -> str:
    return next(group for group, prefix in GROUPS if name.startswith(prefix))


def gradients(model: torch.nn.Module, batch, bf16: bool) -> tuple[float, dict[str, torch.Tensor]]:
    """The batch's loss and its flattened fp32 gradient per parameter group."""
    model.zero_grad(set_to_none=True)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        loss = batch_loss(model, batch)
    loss.backward()
    parts: dict[str, list[torch.Tensor]] = {}
    for name, p in model.named_parameters():
        if p.grad is not None:
            parts.setdefault(group_of(name), []).append(p.grad.detach().float().flatten())
    flat = {group: torch.cat(tensors) for group, tensors in parts.items()}
    flat["all"] = torch.cat(list(flat.values()))
    return loss.item(), flat


def compare(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> dict[str, tuple]:
    """Per group: (cosine, ||a - b|| / ||b||), summed in fp64 (millions of terms)."""
    out = {}
    for group in b:
        x, y = a[group].double(), b[group].double()
        cos = (x @ y / (x.norm() * y.norm()).clamp_min(1e-300)).item()
        out[group] = (cos, ((x - y).norm() / y.norm().clamp_min(1e-300)).item())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True, help="a trained bundle")
    ap.add_argument("--batches", type=int, default=8, help="training batches to compare")
    ap.add_argument("--recurrence", choices=("fused", "step"), default="fused")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, help="write the figures here as JSON")
    args = ap.parse_args()
    if args.batches < 2:
        ap.error(f"--batches: at least 2 (the noise needs a next batch), got {args.batches}")
    torch.set_num_threads(args.threads)
    exit_unless_bf16()
    try:
        bundle = load_bundle(args.model)
        cfg = bundle.cfg
        data = TranslationData(cfg.data, seed=cfg.train.seed)
        data.setup()
    except Seq2SeqError as e:  # a missing bundle or its prepared data: one line, no traceback
        sys.exit(f"error: {e}")
    # The bundle's eval mode: every dropout (module, word, between layers, inside the fused
    # recurrence) is off, so precision is the only difference; gradients flow as in training.
    model = bundle.model
    model.fused_recurrence = args.recurrence == "fused"
    batches = first_batches(data.train_corpus, cfg.data.batch_tokens, cfg.train.seed, args.batches)

    precision: dict[str, list[tuple]] = {}
    noise: dict[str, list[tuple]] = {}
    loss_gap = []
    previous = None
    for batch in batches:
        loss32, g32 = gradients(model, batch, bf16=False)
        loss16, g16 = gradients(model, batch, bf16=True)
        loss_gap.append(loss16 - loss32)
        for group, pair in compare(g16, g32).items():
            precision.setdefault(group, []).append(pair)
        if previous is not None:
            for group, pair in compare(previous, g32).items():
                noise.setdefault(group, []).append(pair)
        previous = g32

    def mean(pairs: list[tuple], i: int) -> float:
        return sum(p[i] for p in pairs) / len(pairs)

    groups = [g for g, _ in GROUPS if g in precision] + ["all"]
    rows = {
        group: {
            "bf16_cosine": round(mean(precision[group], 0), 4),
            "bf16_relative_error": round(mean(precision[group], 1), 4),
            "next_batch_cosine": round(mean(noise[group], 0), 4),
            "next_batch_relative_difference": round(mean(noise[group], 1), 4),
        }
        for group in groups
    }
    result = {
        "command": " ".join(["python", *sys.argv]),
        "cpu": cpu_name(),
        "torch": torch.__version__,
        "threads": args.threads,
        "batches": len(batches),
        "recurrence": args.recurrence,
        "loss_bf16_minus_fp32": {
            "mean": round(sum(loss_gap) / len(loss_gap), 5),
            "largest": round(max(loss_gap, key=abs), 5),
        },
        "groups": rows,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "groups"}))
    print(
        "| parameter group | bf16 vs fp32: cosine | relative error "
        "| next batch vs this (fp32): cosine | relative difference |"
    )
    print("|---|---|---|---|---|")
    for group, r in rows.items():
        print(
            f"| {group} | {r['bf16_cosine']:.4f} | {r['bf16_relative_error']:.4f} "
            f"| {r['next_batch_cosine']:.4f} | {r['next_batch_relative_difference']:.4f} |"
        )
    if args.out:
        write_text(args.out, json.dumps(result, indent=2) + "\n")  # atomic: never half-written


if __name__ == "__main__":
    main()
