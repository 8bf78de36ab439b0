"""Which language a line is in, from its script: Devanagari (hi), Bengali (bn), Tamil (ta) or
Latin letters (en). A multilingual model uses it when it is not told the source language.

Script unification: Bengali or Tamil text written in Devanagari letters, so that related words
of related languages share SentencePiece pieces (as IndicTrans does)."""

from __future__ import annotations

from collections.abc import Sequence

from indicnlp.transliterate.unicode_transliterate import UnicodeIndicTransliterator

from indic_common.languages import INDIC, language


def script_counts(text: str, candidates: Sequence[str]) -> dict[str, int]:
    """For each candidate language, how many characters of `text` are in its script (Latin
    letters for en)."""
    counts = dict.fromkeys(candidates, 0)
    scripts = {code: language(code).script for code in INDIC if code in counts}
    for ch in text:
        if "en" in counts and ch.isascii() and ch.isalpha():
            counts["en"] += 1
            continue
        for code, script in scripts.items():
            if script.covers(ch):
                counts[code] += 1
    return counts


def detect_language(text: str, candidates: Sequence[str]) -> str:
    """The candidate whose script has the most characters in `text`; the first candidate
    when none has any (digits and punctuation only)."""
    counts = script_counts(text, candidates)
    return max(candidates, key=lambda lang: counts[lang])


def to_script(text: str, lang: str, script_lang: str) -> str:
    """`text` of language `lang` written in the script of `script_lang` (e.g. "hi" for
    Devanagari): indic-nlp-library's mapping between the aligned Unicode blocks of the Indic
    scripts, letter for letter; characters outside `lang`'s block are left as they are, so a
    second call changes nothing. One way: Tamil's letters for several Devanagari ones come
    back as one, so only the source side of a model is unified."""
    if lang == script_lang:
        return text
    return UnicodeIndicTransliterator.transliterate(text, lang, script_lang)
