"""BLEU and chrF++ through sacrebleu's own objects: multi-reference, signature kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sacrebleu.metrics import BLEU, CHRF

from indic_common.errors import DataError


@dataclass(frozen=True)
class Score:
    """One metric's corpus score and the sacrebleu signature that reproduces it."""

    name: str
    score: float
    signature: str
    detail: str


def check_streams(hyps: Sequence[str], refs: Sequence[Sequence[str]], names: Sequence[str]) -> None:
    """Every reference stream must have one line per hypothesis; name the file that does not."""
    for name, stream in zip(names, refs):
        if len(stream) != len(hyps):
            raise DataError(
                f"{name}: {len(stream)} lines, but the source has {len(hyps)}; "
                "each reference file needs one line per source line"
            )


def corpus_scores(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], lowercase: bool = False
) -> list[Score]:
    """Corpus BLEU and chrF++ of hypotheses against one or more reference streams."""
    out = []
    for name in ("BLEU", "chrF++"):
        metric = _metric(name, lowercase)
        result = metric.corpus_score(list(hyps), [list(r) for r in refs])
        out.append(Score(name, round(result.score, 2), str(metric.get_signature()), str(result)))
    return out


def corpus_bleu(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU only (dev BLEU during training)."""
    return _metric("BLEU").corpus_score(list(hyps), [list(r) for r in refs]).score


def corpus_chrf(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> float:
    """Corpus chrF++ only (dev chrF++ during training)."""
    return _metric("chrF++").corpus_score(list(hyps), [list(r) for r in refs]).score


def length_ratio(hyps: Sequence[str], ref: Sequence[str]) -> float:
    """Words in the hypotheses over words in one reference stream (1.0: the same length)."""
    return round(sum(len(h.split()) for h in hyps) / max(1, sum(len(r.split()) for r in ref)), 3)


@dataclass(frozen=True)
class Interval:
    """A score (or difference) and its 95% bootstrap interval."""

    score: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.score:.2f} [{self.low:.2f}, {self.high:.2f}]"

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval is on one side of 0 (a difference that counts)."""
        return self.low > 0 or self.high < 0


def _metric(name: str, lowercase: bool = False) -> BLEU | CHRF:
    """The sacrebleu object of a metric name: "BLEU" or "chrF++"."""
    if name == "BLEU":
        return BLEU(lowercase=lowercase)
    if name == "chrF++":
        return CHRF(word_order=2, lowercase=lowercase)  # character and word 2-grams
    raise ValueError(f"unknown metric {name!r}: BLEU or chrF++")


def _stats(metric: BLEU | CHRF, hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> np.ndarray:
    # sacrebleu's own per-sentence sufficient statistics (what its significance tests resample).
    return np.asarray(metric._extract_corpus_statistics(list(hyps), [list(r) for r in refs]))


def _score(metric: BLEU | CHRF, stats: np.ndarray) -> float:
    return metric._compute_score_from_stats(stats.sum(0).tolist()).score


def _resamples(n: int, samples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(samples, n))


def bleu_interval(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], samples: int = 1000, seed: int = 1
) -> Interval:
    """Corpus BLEU and its 95% bootstrap interval over sentences (Koehn 2004), seeded."""
    bleu = _metric("BLEU")
    stats = _stats(bleu, hyps, refs)
    draws = [_score(bleu, stats[idx]) for idx in _resamples(len(stats), samples, seed)]
    low, high = np.percentile(draws, [2.5, 97.5])
    return Interval(round(_score(bleu, stats), 2), round(float(low), 2), round(float(high), 2))


def paired_delta(
    base: Sequence[str],
    new: Sequence[str],
    refs: Sequence[Sequence[str]],
    metric: str = "BLEU",
    samples: int = 1000,
    seed: int = 1,
) -> Interval:
    """metric(new) - metric(base) and its 95% paired bootstrap interval (Koehn 2004): both
    systems are scored on the same resampled sentences each time. `metric`: BLEU or chrF++."""
    scorer = _metric(metric)
    base_stats, new_stats = _stats(scorer, base, refs), _stats(scorer, new, refs)
    deltas = [
        _score(scorer, new_stats[idx]) - _score(scorer, base_stats[idx])
        for idx in _resamples(len(base_stats), samples, seed)
    ]
    low, high = np.percentile(deltas, [2.5, 97.5])
    delta = _score(scorer, new_stats) - _score(scorer, base_stats)
    return Interval(round(delta, 2), round(float(low), 2), round(float(high), 2))


def per_document_bleu(
    hyps: Sequence[str], refs: Sequence[Sequence[str]], docs: Sequence[str]
) -> dict[str, dict]:
    """Corpus BLEU of each document's sentences: {doc: {"sentences": n, "BLEU": x}}, largest
    document first."""
    rows: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        rows.setdefault(doc, []).append(i)
    out = {}
    for doc, idx in sorted(rows.items(), key=lambda item: -len(item[1])):
        score = corpus_bleu([hyps[i] for i in idx], [[r[i] for i in idx] for r in refs])
        out[doc] = {"sentences": len(idx), "BLEU": round(score, 2)}
    return out
