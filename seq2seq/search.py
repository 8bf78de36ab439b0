"""Greedy and batched beam search over `Seq2Seq.decode_step`; ids in, ids and attention out.

Both search functions call `encode` once and `decode_step` once per position, vectorised over
the batch (and the beam): no per-sentence Python loop. Finished hypotheses are kept in
tensors. Termination is checked every `_CHECK_EVERY` steps, not at each one, to avoid a
device synchronisation per step.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from seq2seq.model import Seq2Seq
from seq2seq.vocab import BOS_ID, EOS_ID, PAD_ID

_CHECK_EVERY = 4


class SearchResult(NamedTuple):
    """N hypotheses per sentence, best first."""

    ids: Tensor               # (B, N, T) piece ids, EOS included, then PAD
    scores: Tensor            # (B, N) log-probability, divided by the length penalty if any
    attention: Tensor | None  # (B, N, T, S) weights behind each output piece, or None


def max_lengths(src_lens: Tensor, ratio: float, offset: int) -> Tensor:
    """Output length caps (B,): `ratio * source length + offset`, EOS included."""
    return (src_lens.float() * ratio).long() + offset


def length_penalty(lengths: Tensor, alpha: float) -> Tensor:
    """GNMT length penalty, Wu et al. (2016) eq. (14): ((5 + |Y|) / 6) ** alpha."""
    return ((5.0 + lengths.float()) / 6.0) ** alpha


@torch.no_grad()
def greedy_search(model: Seq2Seq, src_ids: Tensor, src_lens: Tensor, max_len_ratio: float = 1.5,
                  max_len_offset: int = 10, return_attention: bool = False) -> SearchResult:
    """Pick the most probable piece at each position; (B, S) source -> one hypothesis each."""
    memory, state = model.encode(src_ids, src_lens)
    b, device = src_ids.size(0), src_ids.device
    caps = max_lengths(src_lens, max_len_ratio, max_len_offset).to(device)
    prev = torch.full((b,), BOS_ID, dtype=torch.long, device=device)
    finished = torch.zeros(b, dtype=torch.bool, device=device)
    scores = torch.zeros(b, device=device)
    out_ids, out_attn = [], []
    for t in range(int(caps.max())):
        log_probs, state, alpha = model.decode_step(prev, state, memory)
        at_cap = (caps == t + 1).unsqueeze(1)
        not_eos = torch.arange(log_probs.size(1), device=device) != EOS_ID
        log_probs = log_probs.masked_fill(at_cap & not_eos, float("-inf"))   # cap: force EOS
        best, tok = log_probs.max(dim=-1)
        tok = tok.masked_fill(finished, PAD_ID)
        scores = scores + best.masked_fill(finished, 0.0)
        out_ids.append(tok)
        if return_attention and alpha is not None:
            out_attn.append(alpha.masked_fill(finished.unsqueeze(1), 0.0))
        finished = finished | (tok == EOS_ID)
        prev = tok
        if t % _CHECK_EVERY == _CHECK_EVERY - 1 and bool(finished.all()):
            break
    ids = torch.stack(out_ids, dim=1).unsqueeze(1)
    attn = torch.stack(out_attn, dim=1).unsqueeze(1) if out_attn else None
    return SearchResult(ids, scores.unsqueeze(1), attn)


@torch.no_grad()
def beam_search(model: Seq2Seq, src_ids: Tensor, src_lens: Tensor, beam_size: int = 5,
                alpha: float = 1.0, max_len_ratio: float = 1.5, max_len_offset: int = 10,
                nbest: int = 1, return_attention: bool = False) -> SearchResult:
    """Batched beam search with the GNMT length penalty; (B, S) source -> `nbest` each.

    Each step ranks K*V extensions of the K alive beams per sentence and keeps the top 2K:
    those ending in EOS (within the top K) go to a finished buffer of K hypotheses scored
    with the length penalty; the best K others stay alive. A sentence is done when its buffer
    is full; the output cap forces EOS. Memory is repeated K times once; only the decoder
    state is reordered each step.
    """
    k = beam_size
    return_attention = return_attention and model.decoder.attention is not None
    memory, state = model.encode(src_ids, src_lens)
    b, s, device = src_ids.size(0), src_ids.size(1), src_ids.device
    caps = max_lengths(src_lens, max_len_ratio, max_len_offset).to(device)
    t_max = int(caps.max())
    rows = torch.arange(b, device=device).repeat_interleave(k)
    memory, state = memory.index_select(rows), state.index_select(rows)

    alive_scores = torch.full((b, k), float("-inf"), device=device)
    alive_scores[:, 0] = 0.0
    alive_ids = torch.full((b, k, t_max), PAD_ID, dtype=torch.long, device=device)
    alive_attn = torch.zeros(b, k, t_max, s, device=device) if return_attention else None
    fin_scores = torch.full((b, k), float("-inf"), device=device)
    fin_ids = torch.full((b, k, t_max), PAD_ID, dtype=torch.long, device=device)
    fin_attn = torch.zeros(b, k, t_max, s, device=device) if return_attention else None
    done = torch.zeros(b, dtype=torch.bool, device=device)
    prev = torch.full((b * k,), BOS_ID, dtype=torch.long, device=device)
    batch_idx = torch.arange(b, device=device).unsqueeze(1)

    for t in range(t_max):
        log_probs, state, alpha_t = model.decode_step(prev, state, memory)
        v = log_probs.size(1)
        log_probs = log_probs.view(b, k, v)
        at_cap = (caps == t + 1).view(b, 1, 1)
        eos_only = torch.arange(v, device=device) == EOS_ID
        log_probs = torch.where(at_cap & ~eos_only, float("-inf"), log_probs)
        cand = (alive_scores.unsqueeze(2) + log_probs).view(b, k * v)
        cand = cand.masked_fill(done.unsqueeze(1), float("-inf"))
        top_scores, top_idx = cand.topk(2 * k, dim=1)                   # (B, 2K)
        origin, token = top_idx // v, top_idx % v
        is_eos = token == EOS_ID

        # Finished: EOS among the top K candidates, scored with the length penalty.
        new_fin = is_eos & (torch.arange(2 * k, device=device) < k) & torch.isfinite(top_scores)
        norm = top_scores / length_penalty(torch.tensor(t + 1, device=device), alpha)
        merged_scores = torch.cat([fin_scores, norm.masked_fill(~new_fin, float("-inf"))], 1)
        hyp_ids = alive_ids[batch_idx, origin]                          # (B, 2K, T)
        hyp_ids[:, :, t] = token
        merged_ids = torch.cat([fin_ids, hyp_ids], dim=1)
        fin_scores, keep = merged_scores.topk(k, dim=1)
        fin_ids = merged_ids[batch_idx, keep]
        if return_attention:
            hyp_attn = alive_attn[batch_idx, origin]
            assert alpha_t is not None
            hyp_attn[:, :, t] = alpha_t.view(b, k, s)[batch_idx, origin]
            fin_attn = torch.cat([fin_attn, hyp_attn], dim=1)[batch_idx, keep]

        # Alive: the best K candidates that did not end.
        alive_scores, pick = top_scores.masked_fill(is_eos, float("-inf")).topk(k, dim=1)
        pick_origin = origin.gather(1, pick)
        alive_ids = hyp_ids.gather(1, pick.unsqueeze(2).expand(-1, -1, t_max))
        if return_attention:
            alive_attn = hyp_attn[batch_idx, pick]
        state = state.index_select((batch_idx * k + pick_origin).view(-1))
        prev = token.gather(1, pick).view(-1)
        done = done | torch.isfinite(fin_scores).all(dim=1) | ~torch.isfinite(alive_scores).any(1)
        if t % _CHECK_EVERY == _CHECK_EVERY - 1 and bool(done.all()):
            break

    n = min(nbest, k)
    t_used = int((fin_ids != PAD_ID).sum(dim=2).max().clamp(min=1))
    attn = fin_attn[:, :n, :t_used] if fin_attn is not None else None
    return SearchResult(fin_ids[:, :n, :t_used], fin_scores[:, :n], attn)



def pad_ids(seqs: list[list[int]], device: str | torch.device = "cpu") -> tuple[Tensor, Tensor]:
    """Right-pad id lists into (B, S) ids and (B,) lengths; an empty list becomes [EOS]."""
    seqs = [s or [EOS_ID] for s in seqs]
    ids = torch.full((len(seqs), max(len(s) for s in seqs)), PAD_ID, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
    return ids.to(device), torch.tensor([len(s) for s in seqs], dtype=torch.long)
