"""Kinds of error counted in a system's outputs, beside the scores: what a reader of the
outputs sees first, measured on every line instead of a sample.

    counts = error_kinds(sources, hypotheses, references, tgt_lang="ta")

- `wrong_script`: outputs with a word in another script than the target language's (into
  Tamil: English left in Latin letters, or Devanagari; into English: Indic words left
  untranslated). References do it too (a brand kept in Latin letters): score the reference
  file as a system for the human rate.
- `numbers_lost`: of the lines whose source has a number written in digits, those whose
  output lacks one of them (digits spelled out as words, changed or dropped);
  `numbers_as_words` those of them whose output writes no digit at all.
- `numbers_invented`: outputs with a number in digits that neither the source nor the
  reference has.
- `length_ratio`: hypothesis over reference length, in characters (no tokenisation: Tamil
  words are long); `short` and `long`: lines under 0.5 and over 2 times their reference.

Each count comes with the number of lines it is out of, so that two systems on one set compare
directly (`seq2seq errors`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from indic_common.languages import language

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_WORD = re.compile(r"\w+")


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _foreign_words(text: str, tgt_lang: str) -> set[str]:
    """The words of `text` with a letter outside the target language's script (digits and
    punctuation are every script's)."""
    script = language(tgt_lang).script
    return {w for w in _WORD.findall(text) if any(c.isalpha() and not script.covers(c) for c in w)}


def error_kinds(
    sources: Sequence[str], hypotheses: Sequence[str], references: Sequence[str], tgt_lang: str
) -> dict:
    """The counts of the module's docstring over the lines of one set."""
    if not len(sources) == len(hypotheses) == len(references):
        raise ValueError(
            f"{len(sources)} sources, {len(hypotheses)} outputs, {len(references)} references"
        )
    wrong = lost = as_words = invented = with_numbers = short = long = 0
    hyp_chars = ref_chars = 0
    for src, hyp, ref in zip(sources, hypotheses, references):
        wrong += bool(_foreign_words(hyp, tgt_lang))
        numbers = _numbers(src)
        found = _numbers(hyp)
        if numbers:
            with_numbers += 1
            if not numbers <= found:
                lost += 1
                as_words += not found
        if found - numbers - _numbers(ref):
            invented += 1
        hyp_chars += len(hyp)
        ref_chars += len(ref)
        ratio = len(hyp) / max(len(ref), 1)
        short += ratio < 0.5
        long += ratio > 2.0
    lines = len(hypotheses)
    return {
        "lines": lines,
        "wrong_script": wrong,
        "with_numbers": with_numbers,
        "numbers_lost": lost,
        "numbers_as_words": as_words,
        "numbers_invented": invented,
        "length_ratio": round(hyp_chars / max(ref_chars, 1), 3),
        "short": short,
        "long": long,
    }


def format_error_kinds(rows: dict[str, dict]) -> str:
    """A Markdown table: one row per system, each count with its share."""

    def share(n: int, of: int) -> str:
        return f"{n} ({n / of:.1%})" if of else "0"

    lines = [
        "| system | wrong script | numbers lost (of lines with numbers) | as words | "
        "numbers invented | length (chars) | < 0.5 / > 2 × ref |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, c in rows.items():
        n, k = c["lines"], c["with_numbers"]
        lines.append(
            f"| {name} | {share(c['wrong_script'], n)} | {share(c['numbers_lost'], k)} of {k} | "
            f"{share(c['numbers_as_words'], k)} | {share(c['numbers_invented'], n)} | "
            f"{c['length_ratio']} | {c['short']} / {c['long']} |"
        )
    return "\n".join(lines)
