"""Training-pair filters: small pure functions; the pipeline counts what each one does.

Normalisation lives in `indic_common.normalize` (translation uses it too)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LengthLimits:
    """Training-pair length limits, in whitespace-separated words."""

    max_words: int = 100
    max_ratio: float = 4.0
    ratio_min_words: int = 5  # the ratio test applies once the longer side has this many words


def is_empty(indic: str, en: str) -> bool:
    """A pair with an empty side carries nothing to learn."""
    return not indic or not en


def is_too_long(indic: str, en: str, limits: LengthLimits) -> bool:
    """Either side has more words than the limit."""
    return len(indic.split()) > limits.max_words or len(en.split()) > limits.max_words


def has_bad_ratio(indic: str, en: str, limits: LengthLimits) -> bool:
    """The longer side is more than `max_ratio` times the shorter: likely misaligned."""
    a, b = len(indic.split()), len(en.split())
    longer, shorter = max(a, b), max(min(a, b), 1)
    return longer >= limits.ratio_min_words and longer / shorter > limits.max_ratio
