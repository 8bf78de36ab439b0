"""Greedy and batched beam search over `Seq2Seq.decode_logits`; ids in, ids and attention out.

Both search functions call `encode` once and `decode_logits` once per position, vectorised over
the batch (and the beam): no per-sentence Python loop. Finished hypotheses are kept in
tensors. Termination is checked every `_CHECK_EVERY` steps, not at each one, to avoid a
device synchronisation per step.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple, Protocol

import torch
from torch import Tensor

from indic_common.special import BOS_ID, EOS_ID, PAD_ID
from seq2seq.config import DecodeConfig


class Reorderable(Protocol):
    """A memory or decoder state: its batch rows reordered or repeated for the beam."""

    def index_select(self, index: Tensor) -> Any: ...


class SearchModel(Protocol):
    """What search needs from a model (model.Seq2Seq, ensemble.Ensemble)."""

    @property
    def has_attention(self) -> bool:
        """Whether `decode_logits` returns attention weights."""
        ...

    def encode(self, src_ids: Tensor, src_lens: Tensor) -> tuple[Reorderable, Reorderable]:
        """Once per batch: the memory and the initial decoder state."""
        ...

    def decode_logits(
        self, prev_ids: Tensor, state: Any, memory: Any
    ) -> tuple[Tensor, Reorderable, Tensor | None]:
        """One position: logits (B, V) in fp32, the new state, attention (B, S) or None."""
        ...


_CHECK_EVERY = 4
_DEFAULT = DecodeConfig()


class SearchResult(NamedTuple):
    """N hypotheses per sentence, best first."""

    ids: Tensor  # (B, N, T) piece ids, EOS included, then PAD
    scores: Tensor  # (B, N) log-probability, divided by the length penalty if any
    attention: Tensor | None  # (B, N, T, S) weights behind each output piece, or None


def max_lengths(src_lens: Tensor, ratio: float, offset: int) -> Tensor:
    """Output length caps (B,): `ratio * source length + offset`, EOS included."""
    return (src_lens.float() * ratio).long() + offset


def min_lengths(src_lens: Tensor, ratio: float) -> Tensor:
    """Output length floors (B,): EOS is not allowed before `ratio * source length` pieces,
    nor ever as the first piece (a source of one word must not come out empty)."""
    return (src_lens.float() * ratio).long().clamp(min=1)


def banned_pieces(history: Tensor, n: int) -> tuple[Tensor, Tensor]:
    """(rows, pieces) that would repeat an n-gram already in `history` (N, t), as two index
    vectors: sparse, so that blocking costs O(N t) and not a pass over the vocabulary.

    The last n-1 pieces of each row are compared with every earlier (n-1)-gram of that row;
    the piece that followed a match is banned. Vectorised over rows and positions.
    """
    rows, t = history.shape
    if n <= 0 or t < n:
        empty = history.new_zeros(0)
        return empty, empty
    windows = history.unfold(1, n, 1)  # (N, t-n+1, n)
    match = (windows[:, :, :-1] == history[:, t - n + 1 :].unsqueeze(1)).all(dim=2)
    row, pos = match.nonzero(as_tuple=True)
    return row, windows[row, pos, -1]


def repeated_ngrams(history: Tensor, n: int, vocab: int) -> Tensor:
    """(N, V) mask of the pieces that would repeat an n-gram (`banned_pieces` as a mask)."""
    banned = torch.zeros(history.size(0), vocab, dtype=torch.bool, device=history.device)
    row, piece = banned_pieces(history, n)
    banned[row, piece] = True
    return banned


def length_penalty(lengths: Tensor, weight: float) -> Tensor:
    """GNMT length penalty, Wu et al. (2016) eq. (14): ((5 + |Y|) / 6) ** weight (their alpha)."""
    return ((5.0 + lengths.float()) / 6.0) ** weight


class _Limits:
    """Length cap (forced EOS), length floor (no EOS yet) and n-gram blocking, per step.

    Built once per search: the steps at which some sentence reaches its cap are read off on
    the host before the loop, so the full-vocabulary masking runs only on those steps and no
    step waits for the device. `per` is the number of hypotheses per sentence (the beam).
    """

    def __init__(
        self, src_lens: Tensor, decode: DecodeConfig, per: int, device: torch.device
    ) -> None:
        caps = max_lengths(src_lens, decode.max_len_ratio, decode.max_len_offset).to(device)
        floors = torch.minimum(min_lengths(src_lens, decode.min_len_ratio).to(device), caps - 1)
        self.t_max = int(caps.max())
        self.caps = caps.repeat_interleave(per)
        self.floors = floors.repeat_interleave(per)
        self.cap_steps = set(caps.tolist())
        self.last_floor = int(floors.max()) if floors.numel() else 0
        self.no_repeat_ngram = decode.no_repeat_ngram

    def select(self, rows: Tensor) -> None:
        """Keep the limits of these rows only (the search dropped the others)."""
        self.caps, self.floors = self.caps[rows], self.floors[rows]

    def block_repeats(self, scores: Tensor, history: Tensor) -> None:
        """Ban (in place) the pieces that would repeat an n-gram of `history`; never EOS."""
        row, piece = banned_pieces(history, self.no_repeat_ngram)
        keep = piece != EOS_ID
        scores[row[keep], piece[keep]] = float("-inf")

    def apply(self, scores: Tensor, t: int, history: Tensor | None) -> Tensor:
        """Mask scores (N, V) in place for output position t (logits or log-probs: a banned
        piece gets -inf); history (N, t) the pieces so far (only n-gram blocking needs it)."""
        if t < self.last_floor:
            eos = scores[:, EOS_ID]
            scores[:, EOS_ID] = eos.masked_fill(self.floors > t, float("-inf"))
        if history is not None and self.no_repeat_ngram > 0 and t >= self.no_repeat_ngram:
            self.block_repeats(scores, history)
        if t + 1 in self.cap_steps:
            at_cap = self.caps == t + 1
            eos = scores[:, EOS_ID].clone()
            scores.masked_fill_(at_cap.unsqueeze(1), float("-inf"))
            scores[:, EOS_ID] = eos
        return scores


@torch.no_grad()
def greedy_search(
    model: SearchModel,
    src_ids: Tensor,
    src_lens: Tensor,
    decode: DecodeConfig = _DEFAULT,
    return_attention: bool = False,
) -> SearchResult:
    """Pick the most probable piece at each position (or, with `decode.sampling`, one drawn
    from the distribution, through torch's global generator); (B, S) source -> one hypothesis
    each.

    Of `decode`, greedy search uses the length limits and n-gram blocking; beam size, n-best
    and the length penalty are beam search's. Finished sentences leave the batch every
    `_CHECK_EVERY` steps.
    """
    memory, state = model.encode(src_ids, src_lens)
    b, s, device = src_ids.size(0), src_ids.size(1), src_ids.device
    limits = _Limits(src_lens, decode, 1, device)
    t_max = limits.t_max
    live = torch.arange(b, device=device)  # the sentences still decoded, by original index
    prev = torch.full((b,), BOS_ID, dtype=torch.long, device=device)
    finished = torch.zeros(b, dtype=torch.bool, device=device)
    scores = torch.zeros(b, device=device)
    out_ids = torch.full((b, t_max), PAD_ID, dtype=torch.long, device=device)
    return_attention = return_attention and model.has_attention
    out_attn = torch.zeros(b, t_max, s, device=device) if return_attention else None
    t = 0
    for t in range(t_max):
        logits, state, attn = model.decode_logits(prev, state, memory)
        norm = logits.logsumexp(dim=-1)  # log-probs are logits - norm, masks applied after
        history = out_ids[live, :t] if decode.no_repeat_ngram > 0 else None
        logits = limits.apply(logits, t, history)
        if decode.sampling:
            tok = torch.multinomial(torch.softmax(logits, dim=-1), 1).squeeze(1)
            best = logits.gather(1, tok.unsqueeze(1)).squeeze(1) - norm
        else:
            best, tok = logits.max(dim=-1)
            best = best - norm
        tok = tok.masked_fill(finished, PAD_ID)
        scores[live] += best.masked_fill(finished, 0.0)
        out_ids[live, t] = tok
        if out_attn is not None:
            assert attn is not None
            out_attn[live, t] = attn.masked_fill(finished.unsqueeze(1), 0.0)
        finished = finished | (tok == EOS_ID)
        prev = tok
        if t % _CHECK_EVERY == _CHECK_EVERY - 1:
            going = (~finished).nonzero().squeeze(1)
            if going.numel() == 0:
                break
            if going.numel() < finished.numel():  # drop the finished rows
                live, prev, finished = live[going], prev[going], finished[going]
                memory, state = memory.index_select(going), state.index_select(going)
                limits.select(going)
    ids = out_ids[:, : t + 1].unsqueeze(1)
    all_attn = out_attn[:, : t + 1].unsqueeze(1) if out_attn is not None else None
    return SearchResult(ids, scores.unsqueeze(1), all_attn)


@torch.no_grad()
def beam_search(
    model: SearchModel,
    src_ids: Tensor,
    src_lens: Tensor,
    decode: DecodeConfig = _DEFAULT,
    return_attention: bool = False,
) -> SearchResult:
    """Batched beam search with the GNMT length penalty; (B, S) source -> `nbest` each.

    Each step ranks K*V extensions of the K alive beams per sentence and keeps the top 2K:
    those ending in EOS (within the top K) go to a finished buffer of K hypotheses scored
    with the length penalty; the best K others stay alive. A sentence is done when its buffer
    is full; the output cap forces EOS. Memory is repeated K times once; only the decoder
    state is reordered each step. Every `_CHECK_EVERY` steps the done sentences leave the
    batch (their buffers are copied out), so the last long sentences decode alone.
    """
    k, no_repeat_ngram = decode.beam_size, decode.no_repeat_ngram
    return_attention = return_attention and model.has_attention
    memory, state = model.encode(src_ids, src_lens)
    b, s, device = src_ids.size(0), src_ids.size(1), src_ids.device
    limits = _Limits(src_lens, decode, k, device)
    t_max = limits.t_max
    rows = torch.arange(b, device=device).repeat_interleave(k)
    memory, state = memory.index_select(rows), state.index_select(rows)

    # The finished buffers of every sentence, by original index (copied out when done).
    out_scores = torch.full((b, k), float("-inf"), device=device)
    out_ids = torch.full((b, k, t_max), PAD_ID, dtype=torch.long, device=device)
    out_attn = torch.zeros(b, k, t_max, s, device=device) if return_attention else None
    live = torch.arange(b, device=device)  # the sentences still searched
    alive_scores = torch.full((b, k), float("-inf"), device=device)
    alive_scores[:, 0] = 0.0
    alive_ids = torch.full((b, k, t_max), PAD_ID, dtype=torch.long, device=device)
    alive_attn = torch.zeros(b, k, t_max, s, device=device) if return_attention else None
    fin_scores = torch.full((b, k), float("-inf"), device=device)
    fin_ids = torch.full((b, k, t_max), PAD_ID, dtype=torch.long, device=device)
    fin_attn = torch.zeros(b, k, t_max, s, device=device) if return_attention else None
    done = torch.zeros(b, dtype=torch.bool, device=device)
    prev = torch.full((b * k,), BOS_ID, dtype=torch.long, device=device)
    top_k = torch.arange(2 * k, device=device) < k

    for t in range(t_max):
        n = live.numel()
        batch_idx = torch.arange(n, device=device).unsqueeze(1)
        logits, state, attn_t = model.decode_logits(prev, state, memory)
        norm = logits.logsumexp(dim=-1, keepdim=True)  # log-probs: logits - norm, then masks
        history = alive_ids[:, :, :t].reshape(n * k, t) if no_repeat_ngram > 0 else None
        logits = limits.apply(logits, t, history)
        # The best 2K extensions of a sentence are among each beam's best 2K pieces: rank
        # those (B*K rows of V), then the B x (K * 2K) candidates, not B x (K * V).
        width = min(2 * k, logits.size(1))
        piece_scores, pieces = logits.topk(width, dim=1)  # (B*K, 2K)
        cand = alive_scores.masked_fill(done.unsqueeze(1), float("-inf")).unsqueeze(2)
        cand = (cand + (piece_scores - norm).view(n, k, width)).view(n, k * width)
        top_scores, top_idx = cand.topk(2 * k, dim=1)  # (B, 2K)
        origin, token = top_idx // width, pieces.view(n, k * width).gather(1, top_idx)
        is_eos = token == EOS_ID

        # Finished: EOS among the top K candidates, scored with the length penalty.
        new_fin = is_eos & top_k & torch.isfinite(top_scores)
        norm = top_scores / length_penalty(
            torch.tensor(t + 1, device=device), decode.length_penalty
        )
        merged_scores = torch.cat([fin_scores, norm.masked_fill(~new_fin, float("-inf"))], 1)
        hyp_ids = alive_ids[batch_idx, origin]  # (B, 2K, T)
        hyp_ids[:, :, t] = token
        merged_ids = torch.cat([fin_ids, hyp_ids], dim=1)
        fin_scores, keep = merged_scores.topk(k, dim=1)
        fin_ids = merged_ids[batch_idx, keep]
        if return_attention:
            hyp_attn = alive_attn[batch_idx, origin]
            assert attn_t is not None
            hyp_attn[:, :, t] = attn_t.view(n, k, s)[batch_idx, origin]
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
        if t % _CHECK_EVERY == _CHECK_EVERY - 1:
            ended = done.nonzero().squeeze(1)
            if ended.numel() == 0:
                continue
            out_scores[live[ended]] = fin_scores[ended]
            out_ids[live[ended]] = fin_ids[ended]
            if out_attn is not None:
                out_attn[live[ended]] = fin_attn[ended]
            if ended.numel() == n:
                live = live[:0]
                break
            going = (~done).nonzero().squeeze(1)
            going_rows = (going.unsqueeze(1) * k + torch.arange(k, device=device)).view(-1)
            live, done = live[going], done[going]
            alive_scores, alive_ids = alive_scores[going], alive_ids[going]
            fin_scores, fin_ids = fin_scores[going], fin_ids[going]
            if return_attention:
                alive_attn, fin_attn = alive_attn[going], fin_attn[going]
            memory, state = memory.index_select(going_rows), state.index_select(going_rows)
            prev = prev[going_rows]
            limits.select(going_rows)
    if live.numel():
        out_scores[live], out_ids[live] = fin_scores, fin_ids
        if out_attn is not None:
            out_attn[live] = fin_attn

    n = min(decode.nbest, k)
    t_used = int((out_ids != PAD_ID).sum(dim=2).max().clamp(min=1))
    attn = out_attn[:, :n, :t_used] if out_attn is not None else None
    return SearchResult(out_ids[:, :n, :t_used], out_scores[:, :n], attn)


def search(
    model: SearchModel,
    src_ids: Tensor,
    src_lens: Tensor,
    decode: DecodeConfig,
    return_attention: bool = False,
) -> SearchResult:
    """Greedy search (or sampling) when `decode` asks for beam 1 and one hypothesis, else
    beam search."""
    run = greedy_search if decode.greedy else beam_search
    return run(model, src_ids, src_lens, decode, return_attention)


def pad_ids(seqs: list[list[int]], device: str | torch.device = "cpu") -> tuple[Tensor, Tensor]:
    """Right-pad id lists into (B, S) ids and (B,) lengths; an empty list becomes [EOS]."""
    seqs = [s or [EOS_ID] for s in seqs]
    ids = torch.full((len(seqs), max(len(s) for s in seqs)), PAD_ID, dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
    return ids.to(device), torch.tensor([len(s) for s in seqs], dtype=torch.long)


def strip_ids(ids: Sequence[int]) -> list[int]:
    """Piece ids up to (not including) the first EOS, without padding."""
    out = []
    for i in ids:
        if i == EOS_ID:
            break
        if i != PAD_ID:
            out.append(i)
    return out
