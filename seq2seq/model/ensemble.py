"""Several models decoded as one: at each output position the ensemble's distribution is the
mean of its members' (Sutskever et al. 2014, sec. 3.6; what fairseq, Marian and OpenNMT call an
ensemble). The members share one target vocabulary; each reads the source with its own encoder.

`Ensemble` has the two calls search makes of a model, `encode` and `decode_logits`, so greedy
and beam search decode an ensemble as they decode one model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from indic_common.errors import BundleError
from seq2seq.model.bundle import Bundle
from seq2seq.model.int8 import quantized_copy
from seq2seq.model.network import Seq2Seq


class _PerMember(NamedTuple):
    """One memory or decoder state per member, reordered together (beam search's reorder)."""

    parts: tuple

    def index_select(self, index: Tensor) -> _PerMember:
        return _PerMember(tuple(p.index_select(index) for p in self.parts))


class Ensemble(nn.Module):
    """Members decoded together: log of the mean of their probabilities at each step."""

    def __init__(self, members: Sequence[Seq2Seq]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("an ensemble needs at least two models")
        self.members = nn.ModuleList(members)

    @property
    def has_attention(self) -> bool:
        return all(m.has_attention for m in self.members)

    def num_parameters(self) -> int:
        return sum(m.num_parameters() for m in self.members)

    def encode(self, src_ids: Tensor, src_lens: Tensor) -> tuple[_PerMember, _PerMember]:
        """Every member's memory and initial decoder state."""
        encoded = [m.encode(src_ids, src_lens) for m in self.members]
        return _PerMember(tuple(e[0] for e in encoded)), _PerMember(tuple(e[1] for e in encoded))

    def decode_logits(
        self, prev_ids: Tensor, state: _PerMember, memory: _PerMember
    ) -> tuple[Tensor, _PerMember, Tensor | None]:
        """Log-probs (B, V) of the mean distribution (search takes them as logits: their
        logsumexp is 0), the new states, and the members' mean attention (B, S) or None."""
        log_probs, states, attns = [], [], []
        for m, s, mem in zip(self.members, state.parts, memory.parts, strict=True):
            logits, s, attn = m.decode_logits(prev_ids, s, mem)
            log_probs.append(F.log_softmax(logits, dim=-1))
            states.append(s)
            attns.append(attn)
        mean = torch.stack(log_probs).logsumexp(dim=0) - math.log(len(log_probs))
        attn = torch.stack(attns).mean(dim=0) if self.has_attention else None
        return mean, _PerMember(tuple(states)), attn


def join_bundles(first: Bundle, others: Sequence[Bundle]) -> Bundle:
    """`first` with its model replaced by the ensemble of it and `others`: its config, decode
    settings, default domain and vocabularies hold for all. Each other bundle must read and
    write the same pieces (identical SentencePiece models), translate the same directions and
    read tags as `first` does; else one line names it and what differs. The ensemble knows the
    domains every member was trained on. Its metadata names each member by path and weights
    (`ensemble`: [{model, sha256}, ...])."""
    for other in others:
        _check_member(first, other)
    members = [
        {"model": str(b.path), "sha256": b.metadata.get("sha256", {}).get("model.safetensors")}
        for b in (first, *others)
    ]
    metadata = {**first.metadata, "ensemble": members}
    if first.cfg.data.domain_tags:
        known = [
            d
            for d in first.metadata.get("domains", [])
            if all(d in b.metadata.get("domains", []) for b in others)
        ]
        if first.metadata.get("default_domain") not in known:
            raise BundleError(
                f"{first.path}: its domain {first.metadata.get('default_domain')!r} is not "
                f"one every member of the ensemble was trained on ({', '.join(known) or 'none'})"
            )
        metadata["domains"] = known
    model = Ensemble([first.model, *(b.model for b in others)])
    return replace(first, model=model, metadata=metadata, derived={})


def _check_member(first: Bundle, other: Bundle) -> None:
    checks = (
        ("source vocabulary", first.src_vocab.model_proto, other.src_vocab.model_proto),
        ("target vocabulary", first.tgt_vocab.model_proto, other.tgt_vocab.model_proto),
        ("directions", first.cfg.data.directions, other.cfg.data.directions),
        ("domain tags", first.cfg.data.domain_tags, other.cfg.data.domain_tags),
        (
            "source scripts",
            first.metadata.get("unified_script", {}),
            other.metadata.get("unified_script", {}),
        ),
    )
    for what, mine, theirs in checks:
        if mine != theirs:
            raise BundleError(
                f"{other.path}: cannot join {first.path} in an ensemble: its {what} differ; "
                "join models trained on the same prepared data (one data/<pair>/spm.model)"
            )


def int8_search_model(model: nn.Module) -> nn.Module:
    """The int8 copy of a model for search (model/int8.py), or of each member of an ensemble."""
    if isinstance(model, Ensemble):
        return Ensemble([quantized_copy(m) for m in model.members])
    return quantized_copy(model)
