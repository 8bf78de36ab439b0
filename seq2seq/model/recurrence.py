"""The decoder's recurrence over a whole target sequence as one autograd function (training).

Autograd over `Decoder.step` records about thirty operations per target position and, in the
backward, computes every recurrent weight's gradient once per position and adds them up one at
a time (benchmarks/NOTES.md, "Where the time goes": `add_` 7% and `fill_` 6% of a training
step). Here the forward runs the same equations without recording them and keeps what the
backward needs; the backward walks the positions in reverse only for what must flow through time
(the states, and through the attention the previous state), keeps each position's gate and
attention gradients, and makes each weight's gradient one matrix product over all positions.

The equations are `Decoder.step`'s and `BahdanauAttention.forward`'s (tests/test_model.py
checks values and gradients against them); search keeps calling `Decoder.step`. Shape letters
as in network.py; every buffer is time-major: (T, B, ...).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seq2seq.model.state import DecoderState, Memory


def fused_recurrence(
    decoder: nn.Module, x_gates: Tensor, state: DecoderState, memory: Memory
) -> tuple[Tensor, Tensor | None]:
    """Top states s_i (B, T, D) and contexts c_i (B, T, 2H) or None, for every position.

    `decoder` is a network.Decoder (its weights are read here; network.py imports this module).
    x_gates (B, T, 4D): the embedding's share of the first layer's gates (already dropped out).
    The same as calling `decoder.step` T times, in one graph node.
    """
    attn = decoder.attention
    weights: list[Tensor | None] = (
        [attn.query_proj.weight, attn.query_proj.bias, attn.v.weight, decoder.ctx_gates.weight]
        if attn is not None
        else [None, None, None, None]
    )
    weights += [g.weight for g in decoder.hid_gates]
    for g in decoder.upper_gates:
        weights += [g.weight, g.bias]
    p = decoder.dropout.p if decoder.training and decoder.cfg.dec_layers > 1 else 0.0
    keys = memory.keys if attn is not None else None
    outputs = memory.outputs if attn is not None else None
    tensors = [x_gates, state.h, state.c, outputs, keys]
    device = x_gates.device.type
    if torch.is_autocast_enabled(device):
        # Under autocast every input and weight enters in its lower precision (casts recorded
        # outside the function: their backward returns fp32 gradients to fp32 weights) and
        # the whole recurrence runs in it, as autocast runs `Decoder.step`'s products.
        low = torch.get_autocast_dtype(device)
        tensors = [None if x is None else x.to(low) for x in tensors]
        weights = [None if w is None else w.to(low) for w in weights]
    with torch.autocast(device, enabled=False):
        s_all, ctx_all = _Recurrence.apply(p, *tensors, memory.mask, *weights)
    return s_all, (ctx_all if attn is not None else None)


class _Recurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, p, x_gates, h0, c0, outputs, keys, mask, w_q, b_q, v, w_ctx, *layers):
        b, t_len, g4 = x_gates.shape
        d, n = g4 // 4, h0.size(0)
        w_hh, w_up, b_up = layers[:n], layers[n::2], layers[n + 1 :: 2]
        attend = keys is not None
        hs = x_gates.new_empty(n, t_len + 1, b, d)  # h before position t (index t), after (t+1)
        cs = torch.empty_like(hs)
        hs[:, 0], cs[:, 0] = h0, c0
        acts = x_gates.new_empty(n, t_len, b, g4)  # sigmoid(i, f, o) and tanh(g), in place
        tcs = x_gates.new_empty(n, t_len, b, d)  # tanh(c)
        # Upper layers' inputs: the layer below's h (hs), or with dropout h times these masks.
        shape = (n - 1, t_len, b, d)
        drop = x_gates.new_empty(shape).bernoulli_(1 - p).div_(1 - p) if p > 0 else None
        ins = x_gates.new_empty(shape) if drop is not None else hs[:-1, 1:]
        if attend:
            # tanh(W s_{i-1} + U h_j), one tensor per position: one (T, B, S, A) buffer would be
            # fresh memory at every call (above malloc's reuse threshold), paid in page faults.
            zs = []
            alphas = keys.new_empty(t_len, b, keys.size(1))
            ctxs = outputs.new_empty(t_len, b, outputs.size(2))
            pad = ~mask
            v_col = v.view(-1, 1)
        else:
            ctxs = x_gates.new_empty(t_len, b, 0)
        for t in range(t_len):
            gates = x_gates[:, t]
            if attend:
                q = F.linear(hs[n - 1, t], w_q, b_q)  # from s_{i-1}
                z = torch.tanh(keys + q.unsqueeze(1))
                zs.append(z)
                scores = torch.matmul(z, v_col).squeeze(2).masked_fill_(pad, float("-inf"))
                alphas[t] = alpha = torch.softmax(scores, dim=-1)
                ctxs[t] = torch.bmm(alpha.unsqueeze(1), outputs).squeeze(1)
                gates = torch.addmm(gates, ctxs[t], w_ctx.t())
            else:
                gates = gates.clone()
            for layer in range(n):
                if layer > 0:
                    inp = hs[layer - 1, t + 1]
                    if drop is not None:
                        inp = torch.mul(inp, drop[layer - 1, t], out=ins[layer - 1, t])
                    gates = torch.addmm(b_up[layer - 1], inp, w_up[layer - 1].t())
                gates.addmm_(hs[layer, t], w_hh[layer].t())
                act = torch.sigmoid(gates, out=acts[layer, t])
                torch.tanh(gates[:, 2 * d : 3 * d], out=act[:, 2 * d : 3 * d])
                si, sf, tg, so = act.chunk(4, dim=-1)
                c = torch.mul(sf, cs[layer, t], out=cs[layer, t + 1]).addcmul_(si, tg)
                torch.mul(so, torch.tanh(c, out=tcs[layer, t]), out=hs[layer, t + 1])
        saved = [hs, cs, acts, tcs, ins, drop, h0]
        if attend:
            saved += [alphas, ctxs, outputs, v, w_q, w_ctx, *zs]
        ctx.save_for_backward(*saved, *layers)
        ctx.n_layers = len(layers)
        ctx.n, ctx.attend = n, attend
        return hs[n - 1, 1:].transpose(0, 1).contiguous(), ctxs.transpose(0, 1)

    @staticmethod
    def backward(ctx, d_s, d_ctx):
        n, attend = ctx.n, ctx.attend
        saved = ctx.saved_tensors
        hs, cs, acts, tcs, ins, drop, h0 = saved[:7]
        layers = saved[len(saved) - ctx.n_layers :]
        if attend:
            alphas, ctxs, outputs, v, w_q, w_ctx = saved[7:13]
            zs = saved[13 : len(saved) - ctx.n_layers]
        w_hh, w_up = layers[:n], layers[n::2]
        _, t_len, b, g4 = acts.shape
        d = g4 // 4
        d_gates = acts.new_empty(n, t_len, b, g4)
        dh = torch.zeros_like(h0)  # (L, B, D): the gradient reaching h of the current position
        dc = torch.zeros_like(h0)
        if attend:
            z_dtype = v.dtype
            acc = torch.promote_types(z_dtype, torch.float32)
            d_ctxs = (
                torch.zeros_like(ctxs)
                if d_ctx is None
                else d_ctx.transpose(0, 1).clone(memory_format=torch.contiguous_format)
            )
            d_q = w_q.new_empty(t_len, b, w_q.size(0), dtype=acc)  # summed again below
            d_keys = torch.zeros_like(zs[0])
            d_v = torch.zeros_like(v)  # (1, A)
            v_row = v.view(1, 1, -1)
        for t in reversed(range(t_len)):
            if d_s is not None:
                dh[n - 1] += d_s[:, t]
            for layer in reversed(range(n)):
                act, tc = acts[layer, t], tcs[layer, t]
                si, sf, tg, so = act.chunk(4, dim=-1)
                dcl = dc[layer].addcmul_(dh[layer] * so, 1 - tc * tc)
                g = d_gates[layer, t]
                gi, gf, gg, go = g.chunk(4, dim=-1)
                torch.mul(dcl, tg, out=gi)
                torch.mul(dcl, cs[layer, t], out=gf)
                torch.mul(dcl, si, out=gg)
                torch.mul(dh[layer], tc, out=go)
                deriv = act * (1 - act)  # sigmoid' on i, f, o; tanh' on g below
                deriv[:, 2 * d : 3 * d] = 1 - tg * tg
                g.mul_(deriv)
                dcl.mul_(sf)  # now the gradient reaching c of the previous position
                torch.mm(g, w_hh[layer], out=dh[layer])  # ... and h of the previous position
                if layer > 0:
                    d_in = g @ w_up[layer - 1]
                    if drop is not None:
                        d_in.mul_(drop[layer - 1, t])
                    dh[layer - 1] += d_in
            if attend:
                dct = d_ctxs[t].addmm_(d_gates[0, t], w_ctx)  # (B, 2H)
                alpha = alphas[t]
                # The softmax's backward subtracts nearly equal terms: at least in fp32.
                d_alpha = torch.bmm(outputs, dct.unsqueeze(2)).squeeze(2).to(acc)  # (B, S)
                alpha = alpha.to(acc)
                d_alpha -= (alpha * d_alpha).sum(-1, keepdim=True)
                de = d_alpha.mul_(alpha).to(z_dtype)  # (B, S): the scores' gradient
                z = zs[t]
                d_v.addmm_(de.view(1, -1), z.view(-1, z.size(2)))
                d_pre = torch.mul(z, z).neg_().add_(1).mul_(de.unsqueeze(2) * v_row)  # (B, S, A)
                d_keys += d_pre
                torch.sum(d_pre, dim=1, dtype=acc, out=d_q[t])
                dh[n - 1].addmm_(d_q[t].to(z_dtype), w_q)

        flat = d_gates.view(n, t_len * b, g4)
        grads_layers: list[Tensor] = [flat[k].t() @ hs[k, :t_len].reshape(-1, d) for k in range(n)]
        for k in range(1, n):
            grads_layers += [flat[k].t() @ ins[k - 1].reshape(-1, d), flat[k].sum(0)]
        grads = [None, d_gates[0].transpose(0, 1), dh, dc]
        if attend:
            tb = t_len * b
            d_outputs = torch.bmm(alphas.permute(1, 2, 0), d_ctxs.transpose(0, 1))  # (B, S, 2H)
            q_flat = d_q.view(tb, -1).to(z_dtype)
            grads += [
                d_outputs,
                d_keys,
                None,
                q_flat.t() @ hs[n - 1, :t_len].reshape(tb, d),
                q_flat.sum(0),
                d_v,
                flat[0].t() @ ctxs.view(tb, -1),
            ]
        else:
            grads += [None] * 7
        return (*grads, *grads_layers)
