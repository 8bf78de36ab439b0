"""Translator: text -> ids -> search -> text. Batching, long inputs, one output line per input."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from itertools import islice
from pathlib import Path

import numpy as np

from indic_common.errors import BundleError, ConfigError
from indic_common.normalize import normalizer
from indic_common.script import detect_language, to_script
from indic_common.sentences import split_sentences
from indic_common.special import domain_tag
from seq2seq.config import DecodeConfig
from seq2seq.decode.search import SearchResult, pad_ids, search, strip_ids
from seq2seq.decode.shortlist import FILE as SHORTLIST_FILE
from seq2seq.decode.shortlist import Shortlist, search_shortlisted
from seq2seq.model.bundle import Bundle, load_bundle
from seq2seq.model.ensemble import int8_search_model, join_bundles


@dataclass(frozen=True)
class Hypothesis:
    """One translation and its model score (log-probability, length-normalised)."""

    text: str
    score: float


@dataclass(frozen=True)
class Alignment:
    """Attention of one translation: weights (T, S) over source and target pieces."""

    src_pieces: list[str]
    tgt_pieces: list[str]
    weights: np.ndarray


@dataclass(frozen=True)
class Translation:
    """All hypotheses for one input line, best first (empty input: one empty hypothesis).
    `alignment` is the best hypothesis's attention when it was asked for."""

    source: str
    hypotheses: list[Hypothesis]
    alignment: Alignment | None = field(default=None, compare=False)

    @property
    def best(self) -> str:
        """The best hypothesis's text."""
        return self.hypotheses[0].text


class Translator:
    """Translate text with a bundle. Inputs are normalised as the training data was."""

    def __init__(
        self,
        bundle: Bundle,
        decode: DecodeConfig | None = None,
        domain: str | None = None,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
    ) -> None:
        self.bundle = bundle
        # As given (with every target's length floor); `self.decode`, set below, is what the
        # searches of this translator's direction use.
        self.configured = decode or bundle.cfg.decode
        # A multilingual model translates several directions: `tgt_lang` picks the target
        # (default: the model's default direction's) and `src_lang` the source; without it,
        # each line's source language is read from its script among those that go there.
        data = bundle.cfg.data
        self.directions: list[str] = data.directions
        self.tgt_lang = tgt_lang or (data.tgt_lang if src_lang is None else None)
        self.src_lang, self.tgt_lang = self._check_direction(src_lang, self.tgt_lang)
        self.decode = self.configured.into(self.tgt_lang)
        self.sources = [d.split("-")[0] for d in self.directions if d.endswith(f"-{self.tgt_lang}")]
        if self.src_lang is None and len(self.sources) == 1:
            self.src_lang = self.sources[0]
        self.lang_tag = bundle.src_vocab.piece_id(f"<2{self.tgt_lang}>") if data.pairs else None
        # Sources as the training data was written: normalised, and for a model prepared with
        # --unify-script, Bengali and Tamil in Devanagari letters.
        unified = bundle.metadata.get("unified_script", {})
        self._normalizers: dict[str, Callable[[str], str]] = {
            lang: _in_script(normalizer(lang), lang, unified.get(lang)) for lang in self.sources
        }
        # A model trained with domain tags reads one before each source: `domain` (checked),
        # else the domain of the dev set that selected it.
        self.domains: list[str] = (
            bundle.metadata.get("domains", []) if bundle.cfg.data.domain_tags else []
        )
        self.domain = self.check_domain(domain or bundle.metadata.get("default_domain"))
        self.max_src = bundle.cfg.data.max_len
        self.device = next(bundle.model.parameters()).device
        self.model = self._search_model()
        self.shortlist = self._load_shortlist() if self.decode.shortlist else None

    @classmethod
    def load(
        cls,
        path: Path | str,
        device: str = "cpu",
        domain: str | None = None,
        src_lang: str | None = None,
        tgt_lang: str | None = None,
        ensemble: Sequence[Path | str] = (),
        **decode_overrides: int | float,
    ) -> Translator:
        """Load a bundle folder, or a model by name (hi-en: models/hi-en, else the store's
        pretrained/hi-en); keyword arguments override its decode settings, e.g.
        `beam_size=1`. Every value is checked (DecodeConfig), whatever its source.
        `src_lang`/`tgt_lang` pick a direction of a multilingual model. `ensemble` names
        more bundles decoded with it as one model (seq2seq.model.ensemble); the first's settings
        hold. A stored ensemble entry brings its other members itself (`ensemble_members`)."""
        bundle = load_bundle(Path(path), device)
        # A stored entry decoded as an ensemble names its other members (the store's manifest).
        members = [bundle.path / m for m in bundle.metadata.get("ensemble_members", [])]
        ensemble = [*members, *ensemble]
        if ensemble:
            bundle = join_bundles(bundle, [load_bundle(Path(p), device) for p in ensemble])
        decode = _decode_with(bundle.cfg.decode, decode_overrides)
        return cls(bundle, decode, domain, src_lang, tgt_lang)

    def with_decode(self, **decode_overrides: int | float) -> Translator:
        """The same model (shared, not copied) with other decode settings, e.g. `nbest=3`."""
        decode = _decode_with(self.configured, decode_overrides)
        return Translator(self.bundle, decode, self.domain, self.src_lang, self.tgt_lang)

    def for_direction(self, src_lang: str | None, tgt_lang: str | None) -> Translator:
        """The same model (shared) translating another of its directions."""
        return Translator(self.bundle, self.configured, self.domain, src_lang, tgt_lang)

    @property
    def direction(self) -> str:
        """What this translator translates, e.g. hi-en, or *-en when the source is detected."""
        return f"{self.src_lang or '*'}-{self.tgt_lang}"

    def _check_direction(self, src: str | None, tgt: str | None) -> tuple[str | None, str]:
        """(source or None, target) of a direction the model translates, or one line naming
        the model's directions."""
        known = self.directions
        ok = any(
            (src is None or d.startswith(f"{src}-")) and (tgt is None or d.endswith(f"-{tgt}"))
            for d in known
        )
        if not ok:
            asked = f"{src or '*'}->{tgt or '*'}"
            raise ConfigError(
                f"{self.bundle.path} does not translate {asked}; its directions: "
                f"{', '.join(d.replace('-', '->') for d in known)}",
                key="to" if tgt is not None else "from",
            )
        if tgt is None:
            tgt = next(d for d in known if d.startswith(f"{src}-")).split("-")[1]
        return src, tgt

    def normalize(self, text: str) -> str:
        """Normalise a source line as the training data was (its language detected by
        script when the translator has no fixed source)."""
        return self._normalizers[self.source_language(text)](text)

    def source_language(self, text: str) -> str:
        """The source language of a line: the translator's, else read from the script."""
        if self.src_lang is not None:
            return self.src_lang
        return detect_language(text, self.sources)

    def check_domain(self, domain: str | None) -> str | None:
        """`domain` if the model knows it; None for a model without domain tags."""
        if not self.domains:
            if domain is not None:
                raise ConfigError(
                    f"{self.bundle.path} was trained without domain tags; leave out the "
                    f"domain (got {domain!r})",
                    key="domain",
                )
            return None
        if domain not in self.domains:
            raise ConfigError(
                f"unknown domain {domain!r}; this model knows {', '.join(self.domains)}",
                key="domain",
            )
        return domain

    def translate(self, texts: str | Sequence[str]) -> str | list[str]:
        """The best translation of a text, or of each text of a list (same order)."""
        if isinstance(texts, str):
            return self.translate_batch([texts])[0].best
        return [t.best for t in self.translate_batch(list(texts))]

    def _sentences(self, text: str) -> list[tuple[str, str]]:
        """(sentence, separator after it) of a text; the whole text when splitting is off."""
        if self.decode.split_sentences:
            return split_sentences(text)
        return [(text, "")]

    def _segments(self, text: str, domain: str | None = None) -> list[list[int]]:
        """Source ids, split at sentence ends (then at words) when over the model's limit;
        each segment starts with the domain's tag when the model reads one."""
        prefix = [] if self.lang_tag is None else [self.lang_tag]
        if domain is not None:
            prefix.append(self.bundle.src_vocab.piece_id(domain_tag(domain)))
        if not prefix:
            return self._split(text)
        return [[*prefix, *ids] for ids in self._split(text, self.max_src - len(prefix))]

    def _split(self, text: str, limit: int | None = None) -> list[list[int]]:
        vocab, max_src = self.bundle.src_vocab, limit or self.max_src
        ids = vocab.encode(text)
        if len(ids) <= max_src:
            return [ids]
        out: list[list[int]] = []
        for sentence, _ in split_sentences(text):
            piece_ids = vocab.encode(sentence)
            if len(piece_ids) <= max_src:
                out.append(piece_ids)
                continue
            words, chunk = sentence.split(), []
            for word in words:
                if chunk and len(vocab.encode(" ".join(chunk + [word]))) > max_src:
                    out.append(vocab.encode(" ".join(chunk)))
                    chunk = []
                chunk.append(word)
            if chunk:
                out.append(vocab.encode(" ".join(chunk))[:max_src])
        return out

    def _search_model(self):
        """The model search runs: the bundle's, or with `decode.precision: int8` its int8
        copy (made once per bundle)."""
        if self.decode.precision == "fp32":
            return self.bundle.model
        if self.device.type != "cpu":
            raise ConfigError(
                f"decode.precision int8 runs on the CPU only (the model is on {self.device}); "
                "decode with --exact on a GPU",
                key="precision",
            )
        derived = self.bundle.derived
        if "int8" not in derived:
            derived["int8"] = int8_search_model(self.bundle.model)
        return derived["int8"]

    def _load_shortlist(self) -> Shortlist:
        """The bundle's shortlist (made once per bundle); one line when it has none."""
        derived, file = self.bundle.derived, self.bundle.path / SHORTLIST_FILE
        if "shortlist" not in derived:
            if not file.is_file():
                raise BundleError(
                    f"{self.bundle.path}: decode.shortlist is on but the bundle has no "
                    f"{SHORTLIST_FILE}; build one with `seq2seq speedup --model "
                    f"{self.bundle.path}`, or decode with --exact"
                )
            derived["shortlist"] = Shortlist.load(file)
        return derived["shortlist"]

    def _search(self, segments: list[list[int]], return_attention: bool = False) -> SearchResult:
        src_ids, src_lens = pad_ids(segments, self.device)
        if self.shortlist is not None:
            return search_shortlisted(
                self.model, self.shortlist, src_ids, src_lens, self.decode, return_attention
            )
        return search(self.model, src_ids, src_lens, self.decode, return_attention)

    def translate_batch(
        self,
        lines: list[str],
        attention: bool = False,
        domains: Sequence[str | None] | None = None,
    ) -> list[Translation]:
        """Translate lines together; the result has one Translation per line, in order.
        With `attention`, each carries the alignment of its best hypothesis (a line cut into
        segments gets their alignments side by side, block-diagonal). `domains` gives each
        line's domain (a model with domain tags; default: the translator's)."""
        if domains is None or not self.domains:
            domains = [self.domain] * len(lines)
        # Each segment's line, and what follows it when the line's translations are joined.
        owners, segments, after = [], [], []
        for n, (line, domain) in enumerate(zip(lines, domains)):
            for sentence, separator in self._sentences(line):
                text = self.normalize(sentence)
                if not text:
                    continue
                parts = self._segments(text, self.check_domain(domain or self.domain))
                owners += [n] * len(parts)
                segments += parts
                after += [" "] * (len(parts) - 1) + [separator]
        # Sort by length so each decoding batch holds similar lengths; restore order after.
        order = sorted(range(len(segments)), key=lambda i: len(segments[i]))
        found: dict[int, list[Hypothesis]] = {}
        aligned: dict[int, Alignment] = {}
        size = self.decode.batch_size
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            result = self._search([segments[i] for i in chunk], attention)
            for row, i in enumerate(chunk):
                found[i] = [
                    Hypothesis(self.bundle.tgt_vocab.decode(strip_ids(ids)), float(score))
                    for ids, score in zip(result.ids[row].tolist(), result.scores[row].tolist())
                ]
                if attention:
                    aligned[i] = self._alignment(segments[i], result, row)
        merged: list[list[int]] = [[] for _ in lines]
        for i, owner in enumerate(owners):
            merged[owner].append(i)
        return [
            Translation(
                line,
                _join([found[i] for i in parts], [after[i] for i in parts]),
                _join_alignments([aligned[i] for i in parts]) if attention else None,
            )
            for line, parts in zip(lines, merged)
        ]

    def _alignment(self, src: list[int], result: SearchResult, row: int) -> Alignment:
        """The best hypothesis's attention of one searched row."""
        if result.attention is None:
            raise BundleError(
                f"{self.bundle.path}: this model has no attention "
                "(model.attention: none); use a bahdanau model to see alignments"
            )
        out_ids = strip_ids(result.ids[row, 0].tolist())
        weights = result.attention[row, 0, : len(out_ids) + 1, : len(src)].cpu().numpy()
        tgt_pieces = self.bundle.tgt_vocab.pieces(out_ids) + ["</s>"]
        return Alignment(self.bundle.src_vocab.pieces(src), tgt_pieces, weights)

    def translate_stream(
        self, lines: Iterable[str], chunk_lines: int = 512
    ) -> Iterator[Translation]:
        """Translate a stream in chunks: constant memory, order and line count preserved."""
        it = iter(lines)
        while chunk := list(islice(it, chunk_lines)):
            yield from self.translate_batch([line.rstrip("\r\n") for line in chunk])

    def align(self, sentence: str) -> Alignment:
        """Translate one sentence with attention (its first segment if it is over the model's
        length); weights (T, S)."""
        ids = self._segments(self.normalize(sentence), self.domain)[0]
        return self._alignment(ids, self._search([ids], return_attention=True), 0)


def _in_script(
    normalize: Callable[[str], str], lang: str, script: str | None
) -> Callable[[str], str]:
    """`normalize`, then the text written in `script`'s letters when the model was trained so."""
    if script is None:
        return normalize
    return lambda text: to_script(normalize(text), lang, script)


def _decode_with(decode: DecodeConfig, overrides: dict) -> DecodeConfig:
    """`decode` with some fields replaced; an unknown name is an error listing the known."""
    known = {f.name for f in fields(DecodeConfig)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ConfigError(
            f"unknown decode setting {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    if "min_len_ratio" in overrides and "min_len_ratio_into" not in overrides:
        overrides = {**overrides, "min_len_ratio_into": {}}  # asked for: every direction's
    return replace(decode, **overrides)


def _join_alignments(parts: list[Alignment]) -> Alignment | None:
    """The alignments of a line's segments side by side: a block-diagonal weight matrix."""
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    rows = sum(p.weights.shape[0] for p in parts)
    cols = sum(p.weights.shape[1] for p in parts)
    weights = np.zeros((rows, cols), dtype=np.float32)
    r = c = 0
    for p in parts:
        t, s = p.weights.shape
        weights[r : r + t, c : c + s] = p.weights
        r, c = r + t, c + s
    src = [piece for p in parts for piece in p.src_pieces]
    tgt = [piece for p in parts for piece in p.tgt_pieces]
    return Alignment(src, tgt, weights)


def _join(parts: list[list[Hypothesis]], after: list[str]) -> list[Hypothesis]:
    """Join the hypotheses of a line's segments rank by rank, each followed by its separator
    (a space, or the source's line breaks); no segments: empty output."""
    if not parts:
        return [Hypothesis("", 0.0)]
    if len(parts) == 1:
        return parts[0]
    n = min(len(p) for p in parts)
    return [
        Hypothesis(
            "".join(p[r].text + sep for p, sep in zip(parts, after)),
            sum(p[r].score for p in parts),
        )
        for r in range(n)
    ]
