"""The model: teacher forcing equals the step-by-step decoder, padding is masked, and both
attention variants can overfit a tiny real set."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import requires_bf16

from indic_common.special import PAD_ID
from seq2seq.config import ModelConfig
from seq2seq.data.batches import collate
from seq2seq.data.corpus import EncodedCorpus
from seq2seq.model.network import Seq2Seq
from seq2seq.model.recurrence import fused_recurrence
from seq2seq.model.vocab import Vocab


def _model(attention: str, **kw) -> Seq2Seq:
    torch.manual_seed(0)
    cfg = ModelConfig(
        emb_dim=32, hidden_dim=32, attn_dim=32, dropout=0.0, attention=attention, **kw
    )
    return Seq2Seq(cfg, 50, 60).eval()


def _batch(seed: int = 0, b: int = 4, s: int = 7, t: int = 6):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, 50, (b, s), generator=g)
    lens = torch.tensor([s, s - 2, 3, 1][:b])
    for i, n in enumerate(lens):
        src[i, n:] = PAD_ID
    tgt = torch.randint(4, 60, (b, t), generator=g)
    return src, lens, tgt


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
@pytest.mark.parametrize("layers", [1, 2])
def test_forward_equals_decode_steps(attention: str, layers: int) -> None:
    model = _model(attention, enc_layers=layers, dec_layers=layers)
    src, lens, tgt = _batch()
    with torch.no_grad():
        logits = model(src, lens, tgt)
        memory, state = model.encode(src, lens)
        for t in range(tgt.size(1)):
            log_probs, state, attn = model.decode_step(tgt[:, t], state, memory)
            torch.testing.assert_close(log_probs, F.log_softmax(logits[:, t], -1))
            assert (attn is None) == (attention == "none")


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
def test_logits_at_chosen_positions_are_the_full_forwards(attention: str) -> None:
    model = _model(attention)
    src, lens, tgt = _batch()
    positions = torch.rand(tgt.shape, generator=torch.Generator().manual_seed(3)) > 0.4
    with torch.no_grad():
        full = model(src, lens, tgt)
        some = model(src, lens, tgt, positions)
    assert some.shape == (int(positions.sum()), 60)
    torch.testing.assert_close(some, full[positions])


def _loss_and_grads(model: Seq2Seq, fused: bool) -> tuple[torch.Tensor, dict]:
    src, lens, tgt = _batch(b=4, s=7, t=6)
    model.fused_recurrence = fused
    model.zero_grad()
    logits = model(src, lens, tgt)
    # A loss that weighs every position differently, so no gradient cancels by symmetry.
    weights = torch.randn(
        logits.shape, generator=torch.Generator().manual_seed(5), dtype=logits.dtype
    )
    loss = (logits * weights).sum()
    loss.backward()
    return loss.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
@pytest.mark.parametrize("layers", [1, 2])
def test_fused_recurrence_has_the_steps_values_and_gradients(attention: str, layers: int) -> None:
    model = _model(attention, enc_layers=layers, dec_layers=layers).double().train()
    loss_steps, grads_steps = _loss_and_grads(model, fused=False)
    loss_fused, grads_fused = _loss_and_grads(model, fused=True)
    torch.testing.assert_close(loss_fused, loss_steps)
    assert grads_fused.keys() == grads_steps.keys()
    for name, grad in grads_steps.items():
        torch.testing.assert_close(grads_fused[name], grad, msg=name)


def test_fused_recurrence_gradients_with_dropout_between_layers() -> None:
    """gradcheck (finite differences), the dropout masks drawn again from one seed per call."""
    cfg = ModelConfig(emb_dim=3, hidden_dim=3, attn_dim=2, dec_layers=3, dropout=0.4)
    model = Seq2Seq(cfg, 10, 10).double().train()
    src, lens, tgt = _batch(b=2, s=4, t=3)
    src, tgt, lens = src % 10, tgt % 10, lens[:2]
    src[src < 4] += 4
    memory, state = model.encode(src, lens)
    x_gates = torch.randn(2, 3, 12, dtype=torch.float64, requires_grad=True)
    h0 = state.h.detach().requires_grad_()
    outputs = memory.outputs.detach().requires_grad_()
    keys = memory.keys.detach().requires_grad_()

    def run(x_gates, h0, outputs, keys, seed=0):
        torch.manual_seed(seed)
        m = memory._replace(outputs=outputs, keys=keys)
        s_all, ctx_all = fused_recurrence(model.decoder, x_gates, state._replace(h=h0), m)
        return s_all, ctx_all

    assert torch.autograd.gradcheck(run, (x_gates, h0, outputs, keys))
    first = run(x_gates, h0, outputs, keys)[0]
    assert not torch.equal(first, run(x_gates, h0, outputs, keys, seed=1)[0])  # masks drawn


def test_padding_does_not_change_a_sentence() -> None:
    model = _model("bahdanau")
    src, lens, tgt = _batch()
    with torch.no_grad():
        batched = model(src, lens, tgt)
        alone = model(src[2:3, :3], lens[2:3], tgt[2:3])
    torch.testing.assert_close(batched[2], alone[0])


def test_attention_ignores_padding_and_sums_to_one() -> None:
    model = _model("bahdanau")
    src, lens, tgt = _batch()
    with torch.no_grad():
        memory, state = model.encode(src, lens)
        _, _, attn = model.decode_step(tgt[:, 0], state, memory)
    torch.testing.assert_close(attn.sum(-1), torch.ones(4))
    assert float(attn[~memory.mask].abs().sum()) == 0.0


def test_tied_and_shared_embeddings() -> None:
    cfg = ModelConfig(emb_dim=16, hidden_dim=32, attn_dim=8, tie_output=True, share_embeddings=True)
    model = Seq2Seq(cfg, 40, 40)
    assert model.decoder.output.weight is model.decoder.embed.weight
    assert model.decoder.embed.weight is model.encoder.embed.weight


@pytest.mark.parametrize("attention", ["bahdanau", "none"])
def test_overfits_a_tiny_real_set(attention: str, data_root) -> None:
    folder = data_root / "hi-en"
    vocab = Vocab.from_file(folder / "spm.model")
    src = (folder / "train.hi").read_text(encoding="utf-8").splitlines()[:8]
    tgt = (folder / "train.en").read_text(encoding="utf-8").splitlines()[:8]
    batch = collate([*EncodedCorpus.from_text(src, tgt, vocab, vocab, 60)])
    torch.manual_seed(0)
    cfg = ModelConfig(emb_dim=64, hidden_dim=64, attn_dim=64, dropout=0.0, attention=attention)
    model = Seq2Seq(cfg, len(vocab), len(vocab))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(120):
        loss = F.cross_entropy(
            model(batch.src_ids, batch.src_lens, batch.tgt_in).flatten(0, 1),
            batch.tgt_out.flatten(),
            ignore_index=PAD_ID,
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert loss.item() < 0.05


def test_word_dropout_zeroes_whole_source_pieces_in_training_only() -> None:
    model = _model("bahdanau", word_dropout=0.3)
    src = torch.randint(4, 50, (64, 30), generator=torch.Generator().manual_seed(1))
    lens = torch.full((64,), 30)
    seen = []
    model.encoder.rnn.register_forward_pre_hook(lambda _m, args: seen.append(args[0].data))
    torch.manual_seed(2)
    model.train()
    model.encoder(src, lens)
    model.eval()
    model.encoder(src, lens)
    train_rows, eval_rows = seen  # packed (pieces, E): an embedding row is all zero or none
    dropped = (train_rows == 0).all(-1)
    assert ((train_rows != 0).all(-1) | dropped).all()
    assert 0.25 < dropped.float().mean() < 0.35
    assert not (eval_rows == 0).all(-1).any()
    torch.testing.assert_close(train_rows[~dropped], eval_rows[~dropped])


@requires_bf16
def test_fused_recurrence_under_bf16_autocast_matches_the_steps_to_bf16_rounding() -> None:
    """Under autocast the fused function runs in bf16, as autocast runs the steps; both stay
    as close to the fp32 gradients, and the fp32 weights get fp32 gradients."""
    model = _model("bahdanau", dec_layers=2).train()
    _, exact = _loss_and_grads(model, fused=True)
    errors = {}
    for fused in (False, True):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            _, grads = _loss_and_grads(model, fused=fused)
        errors[fused] = {}
        for name, grad in grads.items():
            assert grad.dtype == torch.float32, name
            errors[fused][name] = float((grad - exact[name]).norm() / exact[name].norm())
    for name, err in errors[True].items():
        assert err < max(3 * errors[False][name], 0.02), (name, err, errors[False][name])
