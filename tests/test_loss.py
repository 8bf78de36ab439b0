"""The blockwise cross-entropy equals torch's, in value and gradient."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seq2seq.train import loss as loss_module
from seq2seq.train.loss import cross_entropy


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_cross_entropy_equals_torch_with_ignored_targets_across_blocks(
    smoothing: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(loss_module, "BLOCK_ELEMENTS", 3 * 50)  # 3 rows a block: 13 blocks
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(37, 50, generator=g, dtype=torch.float64, requires_grad=True)
    target = torch.randint(1, 50, (37,), generator=g)
    target[[3, 5, 36]] = 0  # ignored
    upstream = torch.tensor(1.7, dtype=torch.float64)  # a gradient other than 1 reaches it
    before = logits.detach().clone()
    ours = cross_entropy(logits, target, smoothing, ignore_index=0)
    (g_ours,) = torch.autograd.grad(ours * upstream, logits)
    ref = F.cross_entropy(logits, target, ignore_index=0, label_smoothing=smoothing)
    (g_ref,) = torch.autograd.grad(ref * upstream, logits)
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(g_ours, g_ref)
    assert float(g_ours[[3, 5, 36]].abs().sum()) == 0.0
    assert torch.equal(logits.detach(), before)  # the backward works on copies of its blocks
    assert torch.autograd.gradcheck(lambda x: cross_entropy(x, target, smoothing, 0), (logits,))


def test_bf16_logits_give_the_fp32_loss_of_their_values_and_a_bf16_gradient() -> None:
    g = torch.Generator().manual_seed(1)
    logits = (torch.randn(20, 300, generator=g) * 4).bfloat16().requires_grad_()
    target = torch.randint(1, 300, (20,), generator=g)
    ours = cross_entropy(logits, target, 0.1)
    ref = F.cross_entropy(logits.float(), target, label_smoothing=0.1)
    assert ours.dtype == torch.float32
    torch.testing.assert_close(ours, ref)
    (g_ours,) = torch.autograd.grad(ours, logits)
    (g_ref,) = torch.autograd.grad(ref, logits)
    assert g_ours.dtype == torch.bfloat16
    torch.testing.assert_close(g_ours, g_ref)  # bf16 tolerances
