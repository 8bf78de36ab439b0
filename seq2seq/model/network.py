"""The encoder-decoder: bidirectional LSTM encoder, LSTM decoder, optional Bahdanau attention.

A plain `nn.Module`; training lives in `task.py`, search in `search.py`.

Shape letters used in every docstring of the package:
    B batch, S source length, T target length, E embedding size, H encoder hidden size per
    direction, D decoder hidden size, A attention size, V vocabulary size, K beam size,
    L decoder layers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from indic_common.special import PAD_ID
from seq2seq.config import ModelConfig
from seq2seq.model.recurrence import fused_recurrence
from seq2seq.model.state import DecoderState, Memory


class Encoder(nn.Module):
    """Embeddings -> multi-layer bidirectional LSTM over packed sequences."""

    def __init__(self, cfg: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, cfg.emb_dim, padding_idx=PAD_ID)
        self.embed_scale = cfg.emb_dim**0.5
        self.dropout = nn.Dropout(cfg.dropout)
        self.word_dropout = cfg.word_dropout
        self.rnn = nn.LSTM(
            cfg.emb_dim,
            cfg.hidden_dim,
            num_layers=cfg.enc_layers,
            batch_first=True,
            bidirectional=True,
            dropout=cfg.dropout if cfg.enc_layers > 1 else 0.0,
        )

    def forward(
        self, src_ids: Tensor, src_lens: Tensor, padded: bool = False
    ) -> tuple[Tensor, Tensor]:
        """Encode (B, S) ids -> outputs (B, S, 2H) and the last layer's final states (B, 2H).

        `padded`: run the LSTM on the padded batch (`_padded`, the same numbers) rather than
        on packed sequences.
        """
        emb = self.embed(src_ids) * self.embed_scale  # (B, S, E)
        if self.training and self.word_dropout:  # whole pieces, not scaled up: a word is gone
            keep = torch.rand(src_ids.shape, device=emb.device) >= self.word_dropout
            emb = emb * keep.unsqueeze(-1).to(emb.dtype)
        emb = self.dropout(emb)
        if padded:
            return self._padded(emb, src_lens.to(emb.device))
        packed = pack_padded_sequence(emb, src_lens.cpu(), batch_first=True, enforce_sorted=False)
        out, (h_n, _) = self.rnn(packed)
        outputs, _ = pad_packed_sequence(out, batch_first=True, total_length=src_ids.size(1))
        final = torch.cat([h_n[-2], h_n[-1]], dim=-1)  # forward and backward of the top layer
        return outputs, final

    def _padded(self, emb: Tensor, lens: Tensor) -> tuple[Tensor, Tensor]:
        """`forward` on the padded batch, one direction and layer at a time.

        torch's CPU LSTM over packed sequences loops over time in small operations; over a
        padded batch it takes oneDNN's fused kernel. Padding at the end cannot reach a real
        position going forward; going backward, each row is reversed within its length first
        (its padding stays at the end) and its outputs reversed back.
        """
        rnn, (b, s, _) = self.rnn, emb.shape
        t = torch.arange(s, device=emb.device).unsqueeze(0)  # (1, S)
        real = t < lens.unsqueeze(1)  # (B, S)
        rev = torch.where(real, lens.unsqueeze(1) - 1 - t, t).unsqueeze(2)  # (B, S, 1)
        x = emb
        for layer in range(rnn.num_layers):
            if layer > 0:
                x = F.dropout(x, rnn.dropout, self.training)
            outs = []
            for suffix in ("", "_reverse"):
                weights = [
                    getattr(rnn, f"{name}_l{layer}{suffix}")
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
                ]
                inp = x if not suffix else x.gather(1, rev.expand_as(x))
                h0 = x.new_zeros(1, b, rnn.hidden_size)
                # input, hx, params, biases, layers, dropout, train, bidirectional, batch_first
                out = torch.lstm(inp, (h0, h0), weights, True, 1, 0.0, self.training, False, True)
                out = out[0]
                outs.append(out if not suffix else out.gather(1, rev.expand_as(out)))
            x = torch.cat(outs, dim=-1) * real.unsqueeze(2)  # padding: zeros, as when packed
        h = rnn.hidden_size
        last = x[torch.arange(b, device=x.device), lens - 1, :h]  # forward: at the last piece
        return x, torch.cat([last, x[:, 0, h:]], dim=-1)  # backward: at the first


class BahdanauAttention(nn.Module):
    """Additive attention, Bahdanau, Cho & Bengio (2015), App. A.1.2."""

    def __init__(self, query_dim: int, key_dim: int, attn_dim: int) -> None:
        super().__init__()
        self.key_proj = nn.Linear(key_dim, attn_dim, bias=False)  # U
        self.query_proj = nn.Linear(query_dim, attn_dim, bias=True)  # W (and the bias)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def project_keys(self, outputs: Tensor) -> Tensor:
        """U h_j for every source position, once per batch: (B, S, 2H) -> (B, S, A)."""
        return self.key_proj(outputs)

    def forward(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """Context (B, 2H) and weights (B, S) for the previous decoder state query (B, D)."""
        assert memory.keys is not None
        # Bahdanau et al. (2015) eq. (6), App. A.1.2: e_ij = v·tanh(W s_{i-1} + U h_j)
        scores = self.v(torch.tanh(memory.keys + self.query_proj(query).unsqueeze(1))).squeeze(2)
        scores = scores.masked_fill(~memory.mask, float("-inf"))
        alpha = torch.softmax(scores, dim=-1)  # eq. (6): alpha_ij
        context = torch.bmm(alpha.unsqueeze(1), memory.outputs).squeeze(1)  # eq. (5): c_i
        return context, alpha


class Decoder(nn.Module):
    """LSTM decoder; with attention, the context of step i enters the LSTM with y_{i-1}.

    The first layer's input weights are split into the embedding part, which training applies
    to all positions in one matrix product, and the context part, applied step by step.
    """

    def __init__(self, cfg: ModelConfig, vocab_size: int) -> None:
        super().__init__()
        d, e, ctx = cfg.hidden_dim, cfg.emb_dim, 2 * cfg.hidden_dim
        self.cfg = cfg
        self.embed = nn.Embedding(vocab_size, e, padding_idx=PAD_ID)
        self.embed_scale = e**0.5
        self.dropout = nn.Dropout(cfg.dropout)
        self.attention = (
            BahdanauAttention(d, ctx, cfg.attn_dim) if cfg.attention == "bahdanau" else None
        )
        self.emb_gates = nn.Linear(e, 4 * d)  # W_e y_{i-1} + b
        self.ctx_gates = nn.Linear(ctx, 4 * d, bias=False) if self.attention else None
        self.hid_gates = nn.ModuleList(
            nn.Linear(d, 4 * d, bias=False) for _ in range(cfg.dec_layers)
        )
        self.upper_gates = nn.ModuleList(nn.Linear(d, 4 * d) for _ in range(cfg.dec_layers - 1))
        readout_dim = e if cfg.tie_output else d
        # Readout t_i from s_i, c_i and y_{i-1} (Bahdanau App. A.2.2, without the maxout).
        self.readout_state = nn.Linear(d, readout_dim)
        self.readout_ctx = nn.Linear(ctx, readout_dim, bias=False) if self.attention else None
        self.readout_emb = nn.Linear(e, readout_dim, bias=False)
        self.output = nn.Linear(readout_dim, vocab_size)
        if cfg.tie_output:
            self.output.weight = self.embed.weight

    def step(
        self, x_gates: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, Tensor | None, DecoderState, Tensor | None]:
        """One target position: the only place the recurrence is computed.

        x_gates (B, 4D): the embedding's share of the first layer's gates.
        Returns the top state s_i (B, D), context c_i (B, 2H) or None, the new state and the
        attention weights (B, S) or None.
        """
        context = attn = None
        gates = x_gates
        if self.attention is not None:
            context, attn = self.attention(state.h[-1], memory)  # from s_{i-1}
            gates = gates + self.ctx_gates(context)
        hs, cs = [], []
        layer_input = None
        for layer in range(self.cfg.dec_layers):
            if layer > 0:
                gates = self.upper_gates[layer - 1](self.dropout(layer_input))
            gates = gates + self.hid_gates[layer](state.h[layer])
            i, f, g, o = gates.chunk(4, dim=-1)
            c = torch.sigmoid(f) * state.c[layer] + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            hs.append(h)
            cs.append(c)
            layer_input = h
        new_state = DecoderState(torch.stack(hs), torch.stack(cs))
        return new_state.h[-1], context, new_state, attn

    def readout(
        self,
        s: Tensor,
        context: Tensor | None,
        emb: Tensor | None,
        emb_part: Tensor | None = None,
        output: nn.Module | None = None,
    ) -> Tensor:
        """Logits (..., V) from states s (..., D), contexts (..., 2H) and embeddings (..., E);
        `emb_part` is readout_emb(emb) when the caller has it already (search's table);
        `output` replaces the output layer (search's shortlist: V' of its rows)."""
        t = self.readout_state(s) + (self.readout_emb(emb) if emb_part is None else emb_part)
        if self.readout_ctx is not None and context is not None:
            t = t + self.readout_ctx(context)
        return (self.output if output is None else output)(self.dropout(torch.tanh(t)))


class Seq2Seq(nn.Module):
    """Encoder, bridge and decoder; `encode` and `decode_logits` are what search calls
    (search.SearchModel)."""

    def __init__(self, cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.encoder = Encoder(cfg, src_vocab_size)
        self.decoder = Decoder(cfg, tgt_vocab_size)
        if cfg.share_embeddings:
            if src_vocab_size != tgt_vocab_size:
                raise ValueError("share_embeddings needs one joint vocabulary")
            self.decoder.embed.weight = self.encoder.embed.weight
            if cfg.tie_output:
                self.decoder.output.weight = self.encoder.embed.weight
        self._piece_tables: tuple[tuple, Tensor, Tensor] | None = None  # see piece_tables
        # train.recurrence: fused sets it. The encoder runs on the padded batch
        # (`Encoder._padded`) and teacher forcing through recurrence.py's one autograd function,
        # not T `Decoder.step` calls (the same numbers; under autocast, in its lower precision).
        self.fused_recurrence = False
        # Encoder final state -> initial decoder state of every layer (h and c).
        self.bridge = nn.Linear(2 * cfg.hidden_dim, 2 * cfg.dec_layers * cfg.hidden_dim)
        # Embeddings start N(0, 1/E) and are scaled by sqrt(E) on input (as in Vaswani et al.
        # 2017, sec. 3.4): inputs of unit scale, and small first logits when the softmax is tied.
        for embed in (self.encoder.embed, self.decoder.embed):
            nn.init.normal_(embed.weight, std=cfg.emb_dim**-0.5)
            with torch.no_grad():
                embed.weight[PAD_ID].zero_()

    def encode(self, src_ids: Tensor, src_lens: Tensor) -> tuple[Memory, DecoderState]:
        """Run the encoder once: memory (keys projected) and the initial decoder state."""
        outputs, final = self.encoder(src_ids, src_lens, padded=self.fused_recurrence)
        keys = (
            self.decoder.attention.project_keys(outputs)
            if self.decoder.attention is not None
            else None
        )
        mask = src_ids != PAD_ID
        b, d, n = src_ids.size(0), self.cfg.hidden_dim, self.cfg.dec_layers
        init = torch.tanh(self.bridge(final)).view(b, 2, n, d).permute(1, 2, 0, 3)
        return Memory(outputs, keys, mask), DecoderState(init[0].contiguous(), init[1].contiguous())

    def forward(
        self, src_ids: Tensor, src_lens: Tensor, tgt_in: Tensor, positions: Tensor | None = None
    ) -> Tensor:
        """Teacher forcing: logits (B, T, V) for target inputs (B, T) that start with BOS.

        With `positions` (B, T) bool, only those positions' logits, (N, V) in row-major order:
        training passes the real target tokens, so padding costs no output-layer work.
        """
        memory, state = self.encode(src_ids, src_lens)
        emb = self.decoder.dropout(self.decoder.embed(tgt_in) * self.decoder.embed_scale)  # (B,T,E)
        x_gates = self.decoder.emb_gates(emb)  # (B, T, 4D), one product
        if self.fused_recurrence:
            s_all, ctx_all = fused_recurrence(self.decoder, x_gates, state, memory)
        else:
            s_all, ctx_all = self._steps(x_gates, state, memory)
        if positions is not None:  # (N, D), (N, 2H), (N, E)
            s_all, emb = s_all[positions], emb[positions]
            ctx_all = ctx_all[positions] if ctx_all is not None else None
        return self.decoder.readout(s_all, ctx_all, emb)  # one output product

    def _steps(
        self, x_gates: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, Tensor | None]:
        """`Decoder.step` at every position: states (B, T, D) and contexts (B, T, 2H) or None."""
        states, contexts = [], []
        # unbind, not x_gates[:, t]: the backward of T slices would zero-fill and add a
        # (B, T, 4D) gradient T times; unbind's is one stack.
        for x_t in x_gates.unbind(1):
            s, context, state, _ = self.decoder.step(x_t, state, memory)
            states.append(s)
            contexts.append(context)
        ctx_all = torch.stack(contexts, dim=1) if self.decoder.attention else None
        return torch.stack(states, dim=1), ctx_all

    def decode_step(
        self, prev_ids: Tensor, state: DecoderState, memory: Memory
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """One position for search: log-probs (B, V), new state, attention (B, S) or None.

        The previous piece enters through two per-piece tables (`piece_tables`): a row
        lookup replaces two matrix products per step.
        """
        logits, state, attn = self.decode_logits(prev_ids, state, memory)
        return F.log_softmax(logits, dim=-1), state, attn

    def decode_logits(
        self,
        prev_ids: Tensor,
        state: DecoderState,
        memory: Memory,
        output: nn.Module | None = None,
    ) -> tuple[Tensor, DecoderState, Tensor | None]:
        """`decode_step` before the softmax: logits (B, V) in fp32. Search normalises only
        the few pieces it keeps (logit - logsumexp), not the whole vocabulary. `output`: an
        output layer of some rows only, (B, V') then (decode/shortlist.py)."""
        gates_table, readout_table = self.piece_tables()
        s, context, state, attn = self.decoder.step(gates_table[prev_ids], state, memory)
        logits = self.decoder.readout(s, context, None, readout_table[prev_ids], output)
        return logits.float(), state, attn

    def piece_tables(self) -> tuple[Tensor, Tensor]:
        """What each target piece contributes as the previous output: the first layer's gates
        (V, 4D) and the readout's share (V, E or D). Computed once and kept until a weight
        they depend on changes (an update, a load, a move to another device)."""
        dec = self.decoder
        weights = (
            dec.embed.weight,
            dec.emb_gates.weight,
            dec.emb_gates.bias,
            dec.readout_emb.weight,
        )
        key = tuple((id(w), w._version, w.device) for w in weights)
        key += (torch.is_autocast_enabled(dec.embed.weight.device.type),)
        if self._piece_tables is None or self._piece_tables[0] != key:
            with torch.no_grad():
                emb = dec.embed.weight * dec.embed_scale
                self._piece_tables = (key, dec.emb_gates(emb), dec.readout_emb(emb))
        return self._piece_tables[1], self._piece_tables[2]

    @property
    def has_attention(self) -> bool:
        """Whether search can return attention weights (not for attention: none)."""
        return self.decoder.attention is not None

    def num_parameters(self) -> int:
        """Trainable parameters, shared weights counted once."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def build_model(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    """The one place a model is made from its config (training, bundles, the precision probe,
    benchmarks): a new model type is chosen here."""
    return Seq2Seq(cfg, src_vocab_size, tgt_vocab_size)
