"""Cross-entropy over the output layer's logits, a block of rows at a time.

`F.cross_entropy` on (N, V) logits writes the (N, V) log-probabilities in fp32, and its
backward a zero-filled (N, V) gradient and the (N, V) log-softmax gradient: at N = 2,000 target
tokens and V = 8,000 pieces, three fresh 64 MB buffers per update, paid in page faults and
memory traffic (profiled in benchmarks/NOTES.md: under bf16 the loss cost as much as the
output layer's products). Here each block of rows is taken to fp32, reduced to its log-sum-exp
and the target's logit while it is in the cache, and the backward writes the gradient straight
into one buffer of the logits' own dtype. The same values as `F.cross_entropy` (mean over the
targets that are not `ignore_index`, label smoothing as torch defines it), to float rounding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from indic_common.special import PAD_ID

if TYPE_CHECKING:
    from seq2seq.data.batches import Batch
    from seq2seq.model.network import Seq2Seq

# Rows per block: about 2 MB of fp32 logits at any vocabulary size.
BLOCK_ELEMENTS = 1 << 19


def cross_entropy(
    logits: Tensor, target: Tensor, label_smoothing: float = 0.0, ignore_index: int = PAD_ID
) -> Tensor:
    """Mean cross-entropy of logits (N, V), any float dtype, against target ids (N,), in fp32."""
    return _CrossEntropy.apply(logits, target, label_smoothing, ignore_index)


def batch_loss(model: Seq2Seq, batch: Batch, label_smoothing: float = 0.0) -> Tensor:
    """A batch's training loss: the output layer runs on its real target tokens only."""
    real = batch.tgt_out != PAD_ID
    logits = model(batch.src_ids, batch.src_lens, batch.tgt_in, real)  # (N, V)
    return cross_entropy(logits, batch.tgt_out[real], label_smoothing)


def _blocks(n: int, v: int) -> list[tuple[int, int]]:
    rows = max(1, BLOCK_ELEMENTS // v)
    return [(start, min(start + rows, n)) for start in range(0, n, rows)]


class _CrossEntropy(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits: Tensor, target: Tensor, smoothing: float, ignore_index: int):
        n, v = logits.shape
        acc = torch.promote_types(logits.dtype, torch.float32)
        valid = target != ignore_index
        safe = target.masked_fill(~valid, 0).unsqueeze(1)  # ignored rows gather any id
        lse = logits.new_empty(n, dtype=acc)
        per_row = logits.new_empty(n, dtype=acc)
        for start, end in _blocks(n, v):
            block = logits[start:end].to(acc)
            lse[start:end] = torch.logsumexp(block, dim=1)
            nll = lse[start:end] - block.gather(1, safe[start:end]).squeeze(1)
            if smoothing:  # the uniform part: -mean_j log p_j = lse - mean_j x_j
                nll = nll.mul_(1 - smoothing).add_(lse[start:end] - block.mean(1), alpha=smoothing)
            per_row[start:end] = nll
        count = valid.sum()
        ctx.save_for_backward(logits, safe, valid, lse, count)
        ctx.smoothing = smoothing
        # 0/0 when every target is ignored, as F.cross_entropy (nan)
        return per_row.masked_fill_(~valid, 0).sum() / count

    @staticmethod
    def backward(ctx, grad_loss: Tensor):
        logits, safe, valid, lse, count = ctx.saved_tensors
        eps = ctx.smoothing
        n, v = logits.shape
        grad = torch.empty_like(logits)
        # d loss / d x_ij = (softmax_ij - (1 - eps) [j = t_i] - eps / V) * g / count
        scale = (grad_loss / count) * valid.to(lse.dtype)  # (N,): ignored rows get zeros
        for start, end in _blocks(n, v):
            p = logits[start:end].to(lse.dtype, copy=True).sub_(lse[start:end, None]).exp_()
            if eps:
                p.sub_(eps / v)
            p.scatter_add_(
                1, safe[start:end], p.new_full((end - start, 1), -(1 - eps))
            )  # the target's own term
            grad[start:end] = p.mul_(scale[start:end, None])
        return grad, None, None, None
