"""Cleaning steps: table-driven (input, expected) cases, one behaviour each."""

from __future__ import annotations

import pytest

from data_prep.clean import LengthLimits, has_bad_ratio, is_empty, is_too_long
from indic_common.normalize import IndicNormalizer, normalize_en


@pytest.mark.parametrize(
    "lang, raw, expected",
    [
        ("hi", "\u0958\u093f\u0924\u093e\u092c", "\u0915\u093c\u093f\u0924\u093e\u092c"),  # nukta
        ("hi", "राम | श्याम", "राम । श्याम"),  # pipe as danda
        ("hi", "अंत ।।", "अंत ॥"),  # double danda
        ("hi", "अंत । ।", "अंत ॥"),
        ("hi", "वर्ष १९४७ में", "वर्ष 1947 में"),  # Devanagari digits
        ("bn", "সাল ১৯৭১", "সাল 1971"),  # Bengali digits
        ("ta", "ஆண்டு ௧௯௪௭", "ஆண்டு 1947"),  # Tamil digits
        ("ta", "\u0b95\u0bc6\u0bbe", "\u0b95\u0bca"),  # two-part vowel sign composed
        ("hi", "क्\u200dष", "क्ष"),  # zero-width joiner removed
        ("hi", "  एक\tदो \u00a0 तीन  ", "एक दो तीन"),  # whitespace collapsed
        ("hi", "एक\u0007दो\ufeff", "एक दो"),  # control, format characters
    ],
)
def test_indic_normalizer(lang: str, raw: str, expected: str) -> None:
    assert IndicNormalizer(lang)(raw) == expected


def test_indic_digits_can_be_kept() -> None:
    assert IndicNormalizer("hi", ascii_digits=False)("१२") == "१२"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  Hello\tworld \n", "Hello world"),
        ("cafe\u0301", "café"),  # NFC
        ("a\u200bb", "ab"),  # zero-width space is a format character
        ("x\x00y", "x y"),
    ],
)
def test_normalize_en(raw: str, expected: str) -> None:
    assert normalize_en(raw) == expected


@pytest.mark.parametrize("indic, en, empty", [("", "a", True), ("क", "", True), ("क", "a", False)])
def test_is_empty(indic: str, en: str, empty: bool) -> None:
    assert is_empty(indic, en) is empty


def test_length_filters() -> None:
    limits = LengthLimits(max_words=5, max_ratio=2.0, ratio_min_words=3)
    assert is_too_long("a b c d e f", "x", limits)
    assert not is_too_long("a b c d e", "x y", limits)
    assert has_bad_ratio("a b c d e", "x y", limits)  # 5 / 2 > 2
    assert not has_bad_ratio("a b c d", "x y", limits)  # 4 / 2 == 2
    assert not has_bad_ratio("a b", "x", limits)  # too short for the ratio test
