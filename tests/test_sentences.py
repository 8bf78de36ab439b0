"""Texts into sentences and back (indic_common.sentences): a table of cases."""

from __future__ import annotations

import pytest

from indic_common.sentences import join, split_sentences

CASES = [
    # (text, [(sentence, separator after it)])
    ("", []),
    ("  \n ", []),
    ("एक वाक्य", [("एक वाक्य", "")]),
    (
        "एक आदमी चल रहा है । यह शहर है। चाय?",
        [("एक आदमी चल रहा है ।", " "), ("यह शहर है।", " "), ("चाय?", "")],
    ),
    ("श्लोक ॥ दूसरा ॥", [("श्लोक ॥", " "), ("दूसरा ॥", "")]),
    ("It works! Does it? Yes.", [("It works!", " "), ("Does it?", " "), ("Yes.", "")]),
    ('She said "Go." Then left.', [('She said "Go."', " "), ("Then left.", "")]),
    ("Dr. Rao met J. K. Rowling. Fine.", [("Dr. Rao met J. K. Rowling.", " "), ("Fine.", "")]),
    ("Use e.g. this one. Done", [("Use e.g. this one.", " "), ("Done", "")]),
    ("Version 3.5 is out. Next", [("Version 3.5 is out.", " "), ("Next", "")]),
    ("Wait... What", [("Wait...", " "), ("What", "")]),
    ("पहली पंक्ति\nदूसरी पंक्ति", [("पहली पंक्ति", "\n"), ("दूसरी पंक्ति", "")]),
    (
        "One. Two.\n\n  Three.\r\nFour",
        [
            ("One.", " "),
            ("Two.", "\n\n"),
            ("Three.", "\r\n"),
            ("Four", ""),
        ],
    ),
    ("  leading and trailing.  ", [("leading and trailing.", "")]),
]


@pytest.mark.parametrize("text,expected", CASES)
def test_split_sentences(text: str, expected: list[tuple[str, str]]) -> None:
    assert split_sentences(text) == expected


def test_join_gives_back_the_layout() -> None:
    text = "One. Two.\n\nThree."
    assert join(split_sentences(text)) == text
