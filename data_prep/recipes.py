"""The default recipe of each pair: which corpus splits make its training, dev and test sets."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Take:
    """Segments taken from one split of a corpus for one role of the recipe.

    `skip` and `head` count segments over a seeded shuffle of whole documents: `skip=400`
    drops the first documents holding 400 segments, `head=500` keeps the next ones up to 500.
    """

    corpus: str
    split: str
    skip: int = 0
    head: int | None = None
    weight: int = 1  # training only: how many times each pair is repeated
    all_refs: bool = True  # training only: pair the source with every English reference


@dataclass(frozen=True)
class Recipe:
    """What a prepared pair is made of: training parts, the dev set and the named test sets."""

    train: tuple[Take, ...]
    dev: tuple[Take, ...]
    tests: dict[str, Take]


# Post et al. dev+devtest become training data (each source paired with each of its four
# references), except whole documents carved off as an in-domain dev set. Their *test* split,
# and every corpus's own test split, stay test sets.
_POST_DEV = 500
_BIBLE_TEST, _BIBLE_DEV = 1000, 500

RECIPES: dict[str, Recipe] = {
    "hi-en": Recipe(
        train=(
            Take("vg", "train"),
            Take("post2012", "dev", skip=_POST_DEV),
            Take("post2012", "devtest"),
            Take("anki", "train"),
        ),
        dev=(Take("vg", "dev"), Take("post2012", "dev", head=_POST_DEV)),
        tests={
            "post2012": Take("post2012", "test"),
            "vg": Take("vg", "test"),
            "vg-challenge": Take("vg", "challenge"),
        },
    ),
    "bn-en": Recipe(
        train=(
            Take("vg", "train"),
            Take("post2012", "dev", skip=_POST_DEV),
            Take("post2012", "devtest"),
            Take("post2012", "dict"),
            Take("anki", "train"),
        ),
        dev=(Take("vg", "dev"), Take("post2012", "dev", head=_POST_DEV)),
        tests={
            "post2012": Take("post2012", "test"),
            "vg": Take("vg", "test"),
            "vg-challenge": Take("vg", "challenge"),
        },
    ),
    "ta-en": Recipe(
        train=(
            Take("bible", "train", skip=_BIBLE_TEST + _BIBLE_DEV),
            Take("post2012", "dev", skip=_POST_DEV),
            Take("post2012", "devtest"),
            Take("post2012", "dict"),
            Take("wmt18", "dev"),
            Take("anki", "train"),
        ),
        dev=(
            Take("post2012", "dev", head=_POST_DEV),
            Take("bible", "train", skip=_BIBLE_TEST, head=_BIBLE_DEV),
        ),
        tests={
            "post2012": Take("post2012", "test"),
            "wmt18": Take("wmt18", "test"),
            "bible": Take("bible", "train", head=_BIBLE_TEST),
        },
    ),
}
