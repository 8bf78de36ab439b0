"""Splits: seeded, document-aware carving; de-duplication by pair hashes; held-out overlap,
exact and by 8-grams."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from data_prep.split import HeldOut, carve, first_occurrences, pair_hashes


def _table(groups: list[str]) -> datasets.Dataset:
    return datasets.Dataset.from_dict(
        {
            "indic": [f"s{i}" for i in range(len(groups))],
            "en": [[f"e{i}"] for i in range(len(groups))],
            "group": groups,
        }
    )


def test_carve_is_deterministic_and_complementary() -> None:
    ds = _table([f"doc{i // 5}" for i in range(100)])  # 20 documents of 5
    head = carve(ds, "c/dev", seed=7, head=23).to_dict()
    rest = carve(ds, "c/dev", seed=7, skip=23).to_dict()
    assert head == carve(ds, "c/dev", seed=7, head=23).to_dict()
    assert sorted(head["indic"] + rest["indic"]) == sorted(ds.to_dict()["indic"])
    assert not set(head["indic"]) & set(rest["indic"])
    assert 23 <= len(head["indic"]) < 23 + 5  # whole documents only
    assert not set(head["group"]) & set(rest["group"])


def test_carve_depends_on_seed_and_keeps_order() -> None:
    ds = _table([str(i) for i in range(200)])
    a = list(carve(ds, "c/train", seed=1, head=50)["indic"])
    b = list(carve(ds, "c/train", seed=2, head=50)["indic"])
    assert a != b
    assert a == sorted(a, key=lambda s: int(s[1:]))


def test_carve_skip_then_head() -> None:
    ds = _table([str(i) for i in range(30)])
    test = carve(ds, "bible", seed=1, head=10)
    dev = carve(ds, "bible", seed=1, skip=10, head=5)
    train = carve(ds, "bible", seed=1, skip=15)
    assert (len(test), len(dev), len(train)) == (10, 5, 15)
    parts = [list(part["indic"]) for part in (test, dev, train)]
    assert sorted(parts[0] + parts[1] + parts[2]) == sorted(ds["indic"])


def test_pair_hashes_are_uint64_of_the_pair() -> None:
    h = pair_hashes(["a", "a", "a", "b"], ["b", "c", "b", "a"])
    assert h.dtype == np.uint64 and h.shape == (4,)
    assert h[0] == h[2] and len(set(h.tolist())) == 3  # the order of the sides counts
    assert pair_hashes([], []).shape == (0,)


@pytest.mark.parametrize(
    "parts, kept",
    [
        ([["a", "b", "a"]], [[0, 1]]),  # a repeat inside a part
        ([["a", "b"], ["c", "a", "c", "b"]], [[0, 1], [0]]),  # the first part keeps the pair
        ([["a"], ["a"], ["b", "a"]], [[0], [], [0]]),  # a part can lose everything
        ([[], ["a"]], [[], [0]]),
        ([], []),
    ],
)
def test_first_occurrences_keeps_each_pair_once_in_recipe_order(
    parts: list[list[str]], kept: list[list[int]]
) -> None:
    hashes = [pair_hashes(texts, ["en"] * len(texts)) for texts in parts]
    masks = first_occurrences(hashes)
    assert [m.dtype for m in masks] == [np.bool_] * len(parts)
    assert [np.flatnonzero(m).tolist() for m in masks] == kept


def test_first_occurrences_takes_the_whole_uint64_range() -> None:
    top = np.array([2**64 - 1, 2**63, 2**64 - 1, 0], dtype=np.uint64)
    masks = first_occurrences([top[:2], top[2:]])
    assert [m.tolist() for m in masks] == [[True, True], [False, True]]


def test_held_out_matches_either_side_case_insensitively() -> None:
    held = HeldOut(["A tree", "पेड़"])
    assert held.overlaps("x", "a tree")
    assert held.overlaps("पेड़", "something")
    assert not held.overlaps("x", "a tree here")


# A Post et al. (2012) test reference (hi-en test.en.1, line 1), and a short one.
REFERENCE = (
    "However according to several scholars and researchers Maharshi must have started writing "
    "his world famous book Kamasutra in the middle of the third century"
)
NEAR = HeldOut([REFERENCE, "Category: God-Goddesses"])


@pytest.mark.parametrize(
    "indic, en, near",
    [
        ("x", "So, according to several scholars and researchers Maharshi must", True),  # 8
        ("x", "So, according to several scholars and researchers Maharshi said", False),  # 7
        ("x", "WORLD FAMOUS BOOK KAMASUTRA IN THE MIDDLE OF the end", True),  # case
        ("his world famous book Kamasutra in the middle", "y", True),  # either side
        ("x", "the category: god-goddesses of the world famous book", False),  # short: exact only
        ("x", "", False),
    ],
)
def test_near_duplicate_shares_eight_words(indic: str, en: str, near: bool) -> None:
    assert NEAR.near_duplicate(indic, en) is near
    assert NEAR.near_duplicate(en, indic) is near  # source and target alike
    assert NEAR.overlaps_ngram(indic + " " + en) is near


def test_short_held_out_segment_matches_exactly() -> None:
    assert NEAR.overlaps("x", "category: GOD-goddesses")
    assert not NEAR.overlaps_ngram("category: GOD-goddesses")
