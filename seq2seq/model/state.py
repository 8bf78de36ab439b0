"""What passes between the encoder, the decoder steps and search: the encoder's memory and the
decoder's recurrent state. Both are NamedTuples passed in and returned (nothing is cached on a
module between calls), with `index_select` for beam reordering. Shape letters: network.py."""

from __future__ import annotations

from typing import NamedTuple

from torch import Tensor


class Memory(NamedTuple):
    """What the decoder attends to, computed once per batch by `Seq2Seq.encode`."""

    outputs: Tensor  # (B, S, 2H) encoder states h_j
    keys: Tensor | None  # (B, S, A)  U h_j, precomputed; None without attention
    mask: Tensor  # (B, S)     True on real source tokens

    def index_select(self, index: Tensor) -> Memory:
        """Reorder or repeat the batch rows (beam search)."""
        keys = None if self.keys is None else self.keys.index_select(0, index)
        return Memory(self.outputs.index_select(0, index), keys, self.mask.index_select(0, index))


class DecoderState(NamedTuple):
    """The decoder LSTM's state between two target positions."""

    h: Tensor  # (L, B, D)
    c: Tensor  # (L, B, D)

    def index_select(self, index: Tensor) -> DecoderState:
        """Reorder or repeat the batch rows (beam search)."""
        return DecoderState(self.h.index_select(1, index), self.c.index_select(1, index))
