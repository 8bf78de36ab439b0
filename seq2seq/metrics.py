"""BLEU and chrF++ through sacrebleu's own objects: multi-reference, signature kept."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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
    bleu = BLEU(lowercase=lowercase)
    chrf = CHRF(word_order=2, lowercase=lowercase)  # chrF++: character and word 2-grams
    out = []
    for name, metric in (("BLEU", bleu), ("chrF++", chrf)):
        result = metric.corpus_score(list(hyps), [list(r) for r in refs])
        out.append(Score(name, round(result.score, 2), str(metric.get_signature()), str(result)))
    return out


def corpus_bleu(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> float:
    """Corpus BLEU only (dev BLEU during training)."""
    return BLEU().corpus_score(list(hyps), [list(r) for r in refs]).score


def length_ratio(hyps: Sequence[str], ref: Sequence[str]) -> float:
    """Words in the hypotheses over words in one reference stream (1.0: the same length)."""
    return round(sum(len(h.split()) for h in hyps) / max(1, sum(len(r.split()) for r in ref)), 3)
