"""Text normalisation, the same at data preparation and at translation time: Unicode NFC,
control characters, whitespace, and Indic-script normalisation (indic-nlp-library)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from indicnlp.normalize.indic_normalize import IndicNormalizerFactory

_SPACES = re.compile(r"\s+")
# Indic digit blocks: Devanagari, Bengali, Tamil (U+0BE6..U+0BEF).
_DIGITS = {base + i: str(i) for base in (0x0966, 0x09E6, 0x0BE6) for i in range(10)}


def strip_controls(text: str) -> str:
    """Remove format characters (Unicode Cf: BOM, ZWJ/ZWNJ, soft hyphen, zero-width space) and
    turn control characters (Cc: tabs, NUL, ...) into spaces; `collapse_spaces` tidies up.

    Zero-width joiners inside a word are dropped, not spaced, so the word stays whole; the
    Indic normaliser drops them in any case.
    """
    return "".join(
        " " if unicodedata.category(ch) == "Cc" else ch
        for ch in text
        if unicodedata.category(ch) != "Cf"
    )


def collapse_spaces(text: str) -> str:
    """Collapse runs of whitespace (any Unicode space) into one space and trim both ends."""
    return _SPACES.sub(" ", text).strip()


class IndicNormalizer:
    """NFC plus Indic-script normalisation for one language (hi, ta, bn).

    indic-nlp-library does the script work: nukta forms decomposed to one canonical spelling,
    two-part vowel signs composed (Tamil ொ), pipe `|` to danda, zero-width characters removed.
    On top: a double danda `।।` becomes `॥`, and Indic digits become ASCII when `ascii_digits`
    (the English side writes ASCII digits, so a shared vocabulary then shares numbers).
    """

    def __init__(self, lang: str, ascii_digits: bool = True) -> None:
        self.lang = lang
        self.ascii_digits = ascii_digits
        self._script = IndicNormalizerFactory().get_normalizer(lang)

    def __call__(self, text: str) -> str:
        text = collapse_spaces(strip_controls(unicodedata.normalize("NFC", text)))
        text = self._script.normalize(text).replace("।।", "॥").replace("। ।", "॥")
        if self.ascii_digits:
            text = text.translate(_DIGITS)
        return collapse_spaces(text)


def normalize_en(text: str) -> str:
    """NFC, control characters removed and whitespace collapsed, for the English side."""
    return collapse_spaces(strip_controls(unicodedata.normalize("NFC", text)))


def normalizer(lang: str) -> Callable[[str], str]:
    """The normaliser of a language's text: `normalize_en` for English, else the Indic one."""
    return normalize_en if lang == "en" else IndicNormalizer(lang)
