"""The default recipe of each pair: which corpus splits make its training, dev and test sets.

Catalogued corpora outside a recipe (the dictionaries, the Debian interface strings, the hub
corpora) join the training set with `--extra-train NAME` or `--extra-train NAME/SPLIT`.
"""

from __future__ import annotations

from dataclasses import dataclass

from data_prep.catalog import get_corpus
from indic_common.errors import DataError


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
# and every corpus's own test split, stay test sets. For hi-en, the part of the Post et al.
# training split we hold (same domain) and the HindEnCorp news sentences join them.
_POST_DEV = 500
_BIBLE_TEST, _BIBLE_DEV = 1000, 500


def _captions_and_wikipedia(
    extra_train: tuple[Take, ...], extra_dev: tuple[Take, ...] = ()
) -> Recipe:
    """hi-en and bn-en: Visual Genome captions, Post et al. Wikipedia, Anki, and `extra_train`;
    `extra_dev`: more dev sets, each also scored on its own."""
    return Recipe(
        train=(
            Take("vg", "train"),
            Take("post2012", "dev", skip=_POST_DEV),
            Take("post2012", "devtest"),
            *extra_train,
            Take("anki", "train"),
        ),
        dev=(Take("vg", "dev"), Take("post2012", "dev", head=_POST_DEV), *extra_dev),
        tests={
            "post2012": Take("post2012", "test"),
            "vg": Take("vg", "test"),
            "vg-challenge": Take("vg", "challenge"),
        },
    )


RECIPES: dict[str, Recipe] = {
    # PUD's 500 news sentences: a general-domain dev set beside the Wikipedia one (dev-pud),
    # out of training; its Wikipedia half and XQuAD join with --extra-train.
    "hi-en": _captions_and_wikipedia(
        (Take("post2012train", "train"), Take("hindencorp", "train")), (Take("pud", "news"),)
    ),
    "bn-en": _captions_and_wikipedia((Take("post2012", "dict"),)),
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


def extra_take(pair: str, spec: str, recipe: Recipe) -> Take:
    """Turn `--extra-train NAME` or `NAME/SPLIT` into a training Take for `pair`.

    A bare NAME takes the corpus's training split (`train`, else the first split that is not
    held out: `dict`, `l10n`). Unknown names and splits, and a split the recipe already uses,
    raise DataError.
    """
    name, _, split = spec.partition("/")
    corpus = get_corpus(pair, name)
    if not split:
        split = corpus.training_split() or ""
        if not split:
            raise DataError(
                f"--extra-train {spec}: {name} ({pair}) has only held-out splits "
                f"({', '.join(corpus.splits)}); name one as {name}/SPLIT"
            )
    if split not in corpus.fetchable_splits():
        raise DataError(
            f"--extra-train {spec}: {name} ({pair}) has no split {split!r}; its splits are "
            f"{', '.join(corpus.fetchable_splits())}"
        )
    used = (*recipe.train, *recipe.dev, *recipe.tests.values())
    if any((t.corpus, t.split) == (name, split) for t in used):
        raise DataError(
            f"--extra-train {spec}: {name}/{split} is already part of the {pair} recipe"
        )
    return Take(name, split)
