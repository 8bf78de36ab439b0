"""A vocabulary shortlist: search scores only the target pieces a batch's sources make likely.

The output layer's product and the log-softmax and top-k over the whole vocabulary are most of a
beam step (benchmarks/NOTES.md). With a shortlist, each batch gets the union of
- the `per_piece` target pieces most associated with each of its source pieces, read from a
  table built once from the training pairs (`build`: sentence-level co-occurrence, ranked by
  the Dice coefficient 2 c(s, t) / (c(s) + c(t)), which favours a piece's own translations
  over pieces that are merely everywhere), and
- the `frequent` most frequent target pieces (function words, punctuation),
and search runs over those rows only: the output layer is cut to them once per batch, and
hypotheses are mapped back to vocabulary ids at the end. Marian's lexical shortlists and
CTranslate2's vocabulary map do the same from alignment tables, and let a sentence produce any
piece of its batch's union; here each sentence may produce only its own shortlist (its pieces'
rows and the frequent ones; the rest of the union is masked), so that its translation never
depends on the sentences decoded beside it (a request alone, or in a batch of the server's).

The table is kept in the bundle (`shortlist.safetensors`, `seq2seq speedup`), and used where the
bundle's `decode.shortlist` is on: chosen per model on dev against exact search, never per CPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from indic_common.special import EOS_ID
from seq2seq.config import DecodeConfig
from seq2seq.decode.search import SearchResult, search

FILE = "shortlist.safetensors"
PER_PIECE = 20
FREQUENT = 300
_SPECIAL = 4  # PAD, UNK, BOS, EOS: always in, and first, so that they keep their ids


@dataclass(frozen=True)
class Shortlist:
    """Which target pieces each source piece makes likely, and the most frequent ones."""

    table: Tensor  # (V_src, per_piece) target ids, EOS where a piece has fewer
    frequent: Tensor  # (F,) target ids, most frequent first

    def rows(self, src_ids: Tensor) -> Tensor:
        """The target ids a batch of sources (B, S) may produce, sorted (V',): its pieces'
        rows of the table, the frequent pieces and the special ones (ids 0-3, which keep
        their ids in the shortlist's numbering)."""
        return self.batch(src_ids)[0]

    def batch(self, src_ids: Tensor) -> tuple[Tensor, Tensor]:
        """`rows(src_ids)`, and (B, V') True where a row is in the sentence's own shortlist:
        its pieces' rows of the table, the frequent and the special pieces. Search masks the
        rest, so that a sentence's translation does not depend on the others in its batch."""
        b = src_ids.size(0)
        own = self.table[src_ids.cpu()].reshape(b, -1).long()
        common = torch.cat([torch.arange(_SPECIAL), self.frequent.long()])
        rows = torch.cat([common, own.reshape(-1)]).unique(sorted=True)
        allowed = torch.zeros(b, rows.numel(), dtype=torch.bool)
        allowed.scatter_(1, torch.searchsorted(rows, own), True)
        allowed[:, torch.searchsorted(rows, common)] = True
        return rows, allowed

    def save(self, path: Path) -> None:
        save_file({"table": self.table.contiguous(), "frequent": self.frequent.contiguous()}, path)

    @classmethod
    def load(cls, path: Path) -> Shortlist:
        tensors = load_file(str(path))
        return cls(tensors["table"], tensors["frequent"])


def build(
    pairs: Iterable[tuple[Sequence[int], Sequence[int]]],
    src_size: int,
    tgt_size: int,
    per_piece: int = PER_PIECE,
    frequent: int = FREQUENT,
) -> Shortlist:
    """The shortlist of training pairs of piece ids: each pair counts once per (source piece,
    target piece) it holds, whatever their numbers in it."""
    codes, src_count, tgt_count = [], np.zeros(src_size, np.int64), np.zeros(tgt_size, np.int64)
    tgt_total = np.zeros(tgt_size, np.int64)
    for src, tgt in pairs:
        s, t = np.unique(np.asarray(src, np.int64)), np.unique(np.asarray(tgt, np.int64))
        src_count[s] += 1
        tgt_count[t] += 1
        np.add.at(tgt_total, np.asarray(tgt, np.int64), 1)
        codes.append((s[:, None] * tgt_size + t[None, :]).ravel())
    pair_codes, together = np.unique(
        np.concatenate(codes or [np.zeros(0, np.int64)]), return_counts=True
    )
    s, t = pair_codes // tgt_size, pair_codes % tgt_size
    dice = 2.0 * together / (src_count[s] + tgt_count[t])
    # Each source piece's best `per_piece` targets: sort by piece, then by falling score.
    order = np.lexsort((-dice, s))
    s, t = s[order], t[order]
    first = np.searchsorted(s, np.arange(src_size))
    rank = np.arange(len(s)) - first[s]
    keep = rank < per_piece
    table = np.full((src_size, per_piece), EOS_ID, np.int64)
    table[s[keep], rank[keep]] = t[keep]
    table[:_SPECIAL] = EOS_ID  # padding, unknown, BOS and EOS say nothing of the target
    top = np.argsort(-tgt_total, kind="stable")[:frequent]
    dtype = torch.int16 if tgt_size <= np.iinfo(np.int16).max else torch.int32
    return Shortlist(torch.from_numpy(table).to(dtype), torch.from_numpy(top).to(dtype))


class _Masked(NamedTuple):
    """A model's memory and the rows of the shortlist each of its sentences may produce,
    reordered together (search's index_select)."""

    memory: Any
    allowed: Tensor  # (B, V')

    def index_select(self, index: Tensor) -> _Masked:
        return _Masked(self.memory.index_select(index), self.allowed.index_select(0, index))


class _Restricted(nn.Module):
    """One model whose output layer has only some rows: search sees ids 0..V'-1; the model
    reads the previous piece by its vocabulary id (`rows[prev]`); each sentence's logits
    outside its own shortlist are -inf."""

    def __init__(self, model: nn.Module, rows: Tensor, allowed: Tensor) -> None:
        super().__init__()
        device = _device(model)
        self.model, self.rows, self.allowed = model, rows.to(device), allowed.to(device)
        output = model.decoder.output
        if hasattr(output, "rows"):  # int8 (model/int8.py): its own rows, not rounded again
            self.output = output.rows(self.rows)
        else:
            self.output = _Rows(output.weight[self.rows], output.bias[self.rows])

    @property
    def has_attention(self) -> bool:
        return self.model.has_attention

    def encode(self, src_ids: Tensor, src_lens: Tensor) -> tuple[_Masked, Any]:
        memory, state = self.model.encode(src_ids, src_lens)
        return _Masked(memory, self.allowed), state

    def decode_logits(self, prev_ids: Tensor, state, memory: _Masked):
        logits, state, attn = self.model.decode_logits(
            self.rows[prev_ids], state, memory.memory, self.output
        )
        return logits.masked_fill_(~memory.allowed, float("-inf")), state, attn


class _Rows(nn.Module):
    """Some rows of a linear output layer, taken once per batch: (..., E) -> (..., V')."""

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        super().__init__()
        self.weight, self.bias = weight, bias

    def forward(self, x: Tensor) -> Tensor:
        return nn.functional.linear(x, self.weight.to(x.dtype), self.bias)


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def restricted(model: nn.Module, rows: Tensor, allowed: Tensor) -> nn.Module:
    """A model (or an ensemble, model/ensemble.py: each of its members) that scores only
    `rows` of the vocabulary, and of those for sentence b only where `allowed[b]`."""
    members = getattr(model, "members", None)
    if members is not None:
        return type(model)([_Restricted(m, rows, allowed) for m in members])
    return _Restricted(model, rows, allowed)


def search_shortlisted(
    model: nn.Module,
    shortlist: Shortlist,
    src_ids: Tensor,
    src_lens: Tensor,
    decode: DecodeConfig,
    return_attention: bool = False,
) -> SearchResult:
    """`search.search` over the batch's shortlist; ids come back as vocabulary ids."""
    rows, allowed = shortlist.batch(src_ids)
    rows = rows.to(src_ids.device)
    result = search(restricted(model, rows, allowed), src_ids, src_lens, decode, return_attention)
    return result._replace(ids=rows[result.ids])
