"""Texts into sentences, and back: the models were trained on sentences, while people paste
paragraphs and posts.

A sentence ends at `.`, `?`, `!`, the danda `।` or the double danda `॥` (closing quotes and
brackets after it stay with it) followed by white space, and at every line break. Not an end:
a `.` after a known abbreviation or a single capital letter (initials, "J. K. Rowling"), or
before a lowercase Latin letter ("e.g. the"). Line breaks and paragraph breaks are kept as
separators, so `join` gives back the text's layout around the translated sentences.
"""

from __future__ import annotations

import re

# An end mark (repeats such as "?!" or "..." count as one), then closing quotes or brackets.
_END = re.compile(r"[.?!।॥]+[\"'”’»)\]]*(?=\s)")
_LINE_BREAK = re.compile(r"\s*\n\s*")
# Words after which a full stop does not end an English sentence.
ABBREVIATIONS = frozenset(
    "Mr Mrs Ms Dr Prof Sr Jr St Mt vs etc Fig No Nos Vol pp Jan Feb Mar Apr Jun Jul Aug Sep Sept "
    "Oct Nov Dec Inc Ltd Co Corp Gen Col Lt Sgt Capt Rev Hon Gov Sen Rep Dept Univ approx".split()
)


def _ends_sentence(line: str, start: int, end: int) -> bool:
    """Whether the end mark at line[start:end] closes a sentence."""
    mark = line[start:end]
    if mark[0] != "." or mark.startswith(".."):
        return True
    word = re.search(r"(\w+)$", line[:start])
    if word and (word.group(1) in ABBREVIATIONS or re.fullmatch(r"[A-Z]", word.group(1))):
        return False
    following = line[end:].lstrip()
    return not (following[:1].isascii() and following[:1].islower())


def _line_sentences(line: str) -> list[str]:
    out, begin = [], 0
    for match in _END.finditer(line):
        if _ends_sentence(line, match.start(), match.end()):
            out.append(line[begin : match.end()].strip())
            begin = match.end()
    out.append(line[begin:].strip())
    return [s for s in out if s]


def split_sentences(text: str) -> list[tuple[str, str]]:
    """The sentences of `text`, each with the separator that follows it: " " between sentences
    of a line, the line breaks themselves ("\\n", "\\n\\n") at the end of a line or paragraph,
    "" after the last. White space around the text is dropped; none: no sentences."""
    out: list[tuple[str, str]] = []
    parts = _LINE_BREAK.split(text)
    breaks = [_newlines(m.group()) for m in _LINE_BREAK.finditer(text)] + [""]
    for line, after in zip(parts, breaks):
        sentences = _line_sentences(line)
        if not sentences:
            if out:  # an empty line: its break joins the one before
                out[-1] = (out[-1][0], out[-1][1] + after)
            continue
        out.extend((s, " ") for s in sentences[:-1])
        out.append((sentences[-1], after))
    if out:
        out[-1] = (out[-1][0], "")
    return out


def _newlines(separator: str) -> str:
    """The line breaks of a separator, without the spaces around them."""
    return "".join(c for c in separator if c in "\r\n")


def join(pieces: list[tuple[str, str]]) -> str:
    """The text of (sentence, separator) pairs: each sentence followed by its separator."""
    return "".join(text + after for text, after in pieces)
