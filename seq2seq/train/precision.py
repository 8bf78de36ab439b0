"""`train.precision: auto`: time a few real training steps of the run's own model in fp32 and in
bf16 mixed precision on this machine, and train in the faster.

A matrix-product probe is not enough: on an Intel Xeon without bf16 instructions, bf16
products were 2.7x faster in isolation, yet training ran at 0.97x fp32 (the LSTM cells stay in
fp32 under autocast, and the casts cost what the output layer saves); on an AMD EPYC with
AVX-512 bf16 the same training ran 1.5x faster. So the probe runs forward, backward and an Adam
update on the run's first batches, with fresh weights and torch's random state put back
afterwards (the run itself is unchanged by the probe).

bf16 is tried only where it can run: on a CPU, oneDNN itself is asked (`bf16_unsupported`),
since torch's LSTM under bf16 autocast hands fp32 inputs to oneDNN, which fails with "could not
create a primitive descriptor" on CPUs without bf16 instructions (AVX2 only, most laptops)
instead of falling back. A bf16 step that fails anyway is caught as a backstop: the run trains
in fp32 and its metadata says why.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import torch

from seq2seq.config import ModelConfig
from seq2seq.data.batches import Batch
from seq2seq.model.network import Seq2Seq, build_model
from seq2seq.train.loss import batch_loss

log = logging.getLogger(__name__)

CANDIDATES = ("32-true", "bf16-mixed")
# bf16 must be this much faster to be chosen: below it, timing noise decides.
MARGIN = 1.05


@dataclass(frozen=True)
class PrecisionChoice:
    """The precision chosen, the target tokens/s each candidate reached, and the probe's cost."""

    precision: str
    tokens_per_s: dict[str, float]
    seconds: float
    bf16_unavailable: str | None = None  # why bf16 was not timed, when it was not

    def record(self) -> dict:
        """What the bundle's metadata keeps."""
        return {
            "chosen": self.precision,
            "probe_tokens_per_s": self.tokens_per_s,
            "probe_seconds": round(self.seconds, 1),
            **({"bf16_unavailable": self.bf16_unavailable} if self.bf16_unavailable else {}),
        }


def bf16_unsupported(device: torch.device) -> str | None:
    """Why bf16 mixed precision cannot train on `device`, or None when it can.

    On a CPU this asks oneDNN, which honours its ISA cap (ONEDNN_MAX_CPU_ISA); CPU flags and
    `torch.backends.cpu.get_cpu_capability()` do not, and the latter says AVX512 on some CPUs
    that only emulate bf16.
    """
    if device.type == "cuda":
        return None if torch.cuda.is_bf16_supported() else "bf16 not supported on this GPU"
    if device.type == "cpu" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        return "bf16 not supported on this CPU (oneDNN finds no bf16 instructions)"
    return None


def _step(model: Seq2Seq, optim: torch.optim.Optimizer, batch: Batch, bf16: bool) -> None:
    """One training step (forward, backward, Adam) on `batch`, under bf16 autocast or not."""
    device = next(model.parameters()).device
    on_device = batch._replace(
        src_ids=batch.src_ids.to(device),
        tgt_in=batch.tgt_in.to(device),
        tgt_out=batch.tgt_out.to(device),
    )
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):  # as Lightning's
        loss = batch_loss(model, on_device)
    optim.zero_grad(set_to_none=True)
    loss.backward()
    optim.step()


def probe_precision(
    cfg: ModelConfig,
    src_vocab: int,
    tgt_vocab: int,
    batches: list[Batch],
    device: torch.device,
    fused: bool = True,
) -> PrecisionChoice:
    """Time `batches[1:]` (the first warms up) in each candidate precision, with the run's
    `fused` recurrences (train.recurrence) or not."""
    start = time.monotonic()
    speeds: dict[str, float] = {}
    unavailable = bf16_unsupported(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        for precision in CANDIDATES:
            bf16 = precision == "bf16-mixed"
            if bf16 and unavailable:
                continue
            try:
                speeds[precision] = _time_steps(
                    cfg, src_vocab, tgt_vocab, batches, device, fused, bf16
                )
            except RuntimeError as e:  # the backstop: a bf16 kernel this machine cannot run
                if not bf16:
                    raise
                first = str(e).splitlines()[0].split(". ")[0] if str(e) else type(e).__name__
                unavailable = f"bf16 failed on this machine: {first}"
    fp32 = speeds["32-true"]
    choice = "bf16-mixed" if speeds.get("bf16-mixed", 0.0) > MARGIN * fp32 else "32-true"
    result = PrecisionChoice(choice, speeds, time.monotonic() - start, unavailable)
    log.info(
        "precision auto: %s (target tokens/s %s%s; probe %.1f s)",
        choice,
        ", ".join(f"{k} {v:.0f}" for k, v in speeds.items()),
        f"; {unavailable}" if unavailable else "",
        result.seconds,
    )
    return result


def _time_steps(
    cfg: ModelConfig,
    src_vocab: int,
    tgt_vocab: int,
    batches: list[Batch],
    device: torch.device,
    fused: bool,
    bf16: bool,
) -> float:
    """Target tokens/s of fresh weights trained on `batches[1:]`, after one warm-up step."""
    model = build_model(cfg, src_vocab, tgt_vocab).to(device).train()
    model.fused_recurrence = fused
    optim = torch.optim.Adam(model.parameters(), lr=1e-4)
    _step(model, optim, batches[0], bf16)
    if device.type == "cuda":
        torch.cuda.synchronize()
    began = time.perf_counter()
    for batch in batches[1:]:
        _step(model, optim, batch, bf16)
    if device.type == "cuda":
        torch.cuda.synchronize()
    tokens = sum(b.num_tokens for b in batches[1:])
    return round(tokens / (time.perf_counter() - began), 1)
