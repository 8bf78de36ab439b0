"""Translator: text -> ids -> search -> text. Batching, long inputs, one output line per input."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from itertools import islice
from pathlib import Path

import numpy as np

from indic_common.errors import BundleError, ConfigError
from indic_common.normalize import IndicNormalizer, normalize_en
from seq2seq.bundle import Bundle, load_bundle
from seq2seq.config import DecodeConfig
from seq2seq.search import SearchResult, pad_ids, search, strip_ids

# Sentence ends: Latin punctuation and the danda / double danda.
_SENTENCE_END = re.compile(r"(?<=[.!?।॥])\s+")


@dataclass(frozen=True)
class Hypothesis:
    """One translation and its model score (log-probability, length-normalised)."""

    text: str
    score: float


@dataclass(frozen=True)
class Translation:
    """All hypotheses for one input line, best first (empty input: one empty hypothesis)."""

    source: str
    hypotheses: list[Hypothesis]

    @property
    def best(self) -> str:
        """The best hypothesis's text."""
        return self.hypotheses[0].text


@dataclass(frozen=True)
class Alignment:
    """Attention of one translation: weights (T, S) over source and target pieces."""

    src_pieces: list[str]
    tgt_pieces: list[str]
    weights: np.ndarray


class Translator:
    """Translate text with a bundle. Inputs are normalised as the training data was."""

    def __init__(self, bundle: Bundle, decode: DecodeConfig | None = None) -> None:
        self.bundle = bundle
        self.decode = decode or bundle.cfg.decode
        src_lang = bundle.cfg.data.src_lang
        self.normalize: Callable[[str], str] = (
            normalize_en if src_lang == "en" else IndicNormalizer(src_lang)
        )
        self.max_src = bundle.cfg.data.max_len
        self.device = next(bundle.model.parameters()).device

    @classmethod
    def load(
        cls, path: Path | str, device: str = "cpu", **decode_overrides: int | float
    ) -> Translator:
        """Load a bundle folder; keyword arguments override its decode settings, e.g.
        `beam_size=1`. Every value is checked (DecodeConfig), whatever its source."""
        bundle = load_bundle(Path(path), device)
        known = {f.name for f in fields(DecodeConfig)}
        unknown = sorted(set(decode_overrides) - known)
        if unknown:
            raise ConfigError(
                f"unknown decode setting {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        return cls(bundle, replace(bundle.cfg.decode, **decode_overrides))

    def _segments(self, text: str) -> list[list[int]]:
        """Source ids, split at sentence ends (then at words) when over the model's limit."""
        vocab = self.bundle.src_vocab
        ids = vocab.encode(text)
        if len(ids) <= self.max_src:
            return [ids]
        out: list[list[int]] = []
        for sentence in _SENTENCE_END.split(text):
            piece_ids = vocab.encode(sentence)
            if len(piece_ids) <= self.max_src:
                out.append(piece_ids)
                continue
            words, chunk = sentence.split(), []
            for word in words:
                if chunk and len(vocab.encode(" ".join(chunk + [word]))) > self.max_src:
                    out.append(vocab.encode(" ".join(chunk)))
                    chunk = []
                chunk.append(word)
            if chunk:
                out.append(vocab.encode(" ".join(chunk))[: self.max_src])
        return out

    def _search(self, segments: list[list[int]], return_attention: bool = False) -> SearchResult:
        src_ids, src_lens = pad_ids(segments, self.device)
        return search(self.bundle.model, src_ids, src_lens, self.decode, return_attention)

    def translate_batch(self, lines: list[str]) -> list[Translation]:
        """Translate lines together; the result has one Translation per line, in order."""
        texts = [self.normalize(line) for line in lines]
        owners, segments = [], []
        for n, text in enumerate(texts):
            if text:
                for seg in self._segments(text):
                    owners.append(n)
                    segments.append(seg)
        # Sort by length so each decoding batch holds similar lengths; restore order after.
        order = sorted(range(len(segments)), key=lambda i: len(segments[i]))
        found: dict[int, list[Hypothesis]] = {}
        size = self.decode.batch_size
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            result = self._search([segments[i] for i in chunk])
            for row, i in enumerate(chunk):
                found[i] = [
                    Hypothesis(self.bundle.tgt_vocab.decode(strip_ids(ids)), float(score))
                    for ids, score in zip(result.ids[row].tolist(), result.scores[row].tolist())
                ]
        merged: list[list[list[Hypothesis]]] = [[] for _ in lines]
        for i, owner in enumerate(owners):
            merged[owner].append(found[i])
        return [Translation(line, _join(parts)) for line, parts in zip(lines, merged)]

    def translate_stream(
        self, lines: Iterable[str], chunk_lines: int = 512
    ) -> Iterator[Translation]:
        """Translate a stream in chunks: constant memory, order and line count preserved."""
        it = iter(lines)
        while chunk := list(islice(it, chunk_lines)):
            yield from self.translate_batch([line.rstrip("\r\n") for line in chunk])

    def align(self, sentence: str) -> Alignment:
        """Translate one sentence with attention; weights (T, S) for plotting."""
        text = self.normalize(sentence)
        ids = self.bundle.src_vocab.encode(text)[: self.max_src]
        result = self._search([ids], return_attention=True)
        out_ids = strip_ids(result.ids[0, 0].tolist())
        if result.attention is None:
            raise BundleError(
                f"{self.bundle.path}: this model has no attention "
                "(model.attention: none); plot a bahdanau model instead"
            )
        weights = result.attention[0, 0, : len(out_ids) + 1, : len(ids)].cpu().numpy()
        tgt_pieces = self.bundle.tgt_vocab.pieces(out_ids) + ["</s>"]
        return Alignment(self.bundle.src_vocab.pieces(ids), tgt_pieces, weights)


def _join(parts: list[list[Hypothesis]]) -> list[Hypothesis]:
    """Join the hypotheses of a line's segments (rank by rank); no segments: empty output."""
    if not parts:
        return [Hypothesis("", 0.0)]
    if len(parts) == 1:
        return parts[0]
    n = min(len(p) for p in parts)
    return [
        Hypothesis(" ".join(p[r].text for p in parts), sum(p[r].score for p in parts))
        for r in range(n)
    ]
