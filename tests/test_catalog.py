"""The catalogue and the recipes: kinds, training splits, `--extra-train` names, and every
catalogued mirror split present in the real mirror."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from data_prep.catalog import CORPORA, MONO_CORPORA, get_corpus
from data_prep.fetch import mirror_files
from data_prep.recipes import RECIPES, Take, extra_take
from indic_common.errors import DataError


@pytest.mark.parametrize(
    "pair, name, split, kind",
    [
        ("hi-en", "post2012train", "train", "sentences"),
        ("hi-en", "hindencorp", "train", "sentences"),
        ("hi-en", "freedict", "dict", "dictionary"),
        ("hi-en", "debian", "l10n", "interface"),
        ("ta-en", "debian", "l10n", "interface"),
        ("bn-en", "debian", "l10n", "interface"),
        ("bn-en", "post2012", "dict", "dictionary"),
        ("bn-en", "post2012", "test", "sentences"),
        ("hi-en", "vg", "train", "sentences"),
        ("hi-en", "xquad", "paragraphs", "sentences"),
        ("hi-en", "pud", "news", "sentences"),
    ],
)
def test_kind_of_split(pair: str, name: str, split: str, kind: str) -> None:
    assert get_corpus(pair, name).kind_of(split) == kind


@pytest.mark.parametrize(
    "pair, name, split",
    [
        ("hi-en", "freedict", "dict"),
        ("hi-en", "debian", "l10n"),
        ("hi-en", "vg", "train"),
        ("hi-en", "post2012", "train"),  # online only, from the origin's archive
        ("ta-en", "post2012", "train"),  # `train` wins over the earlier `dict`
        ("ta-en", "wmt18", None),  # dev and test only
        ("hi-en", "pud", "wikipedia"),  # its news are the recipe's general-domain dev set
    ],
)
def test_training_split(pair: str, name: str, split: str | None) -> None:
    assert get_corpus(pair, name).training_split() == split


@pytest.mark.parametrize(
    "pair, spec, take",
    [
        ("hi-en", "freedict", Take("freedict", "dict")),
        ("hi-en", "debian", Take("debian", "l10n")),
        ("bn-en", "debian/l10n", Take("debian", "l10n")),
        ("hi-en", "iitb", Take("iitb", "train")),
        ("hi-en", "opus100/dev", Take("opus100", "dev")),
        ("hi-en", "pud", Take("pud", "wikipedia")),
        ("hi-en", "xquad/paragraphs", Take("xquad", "paragraphs")),
    ],
)
def test_extra_take(pair: str, spec: str, take: Take) -> None:
    assert extra_take(pair, spec, RECIPES[pair]) == take


@pytest.mark.parametrize(
    "pair, spec, message",
    [
        ("ta-en", "wmt18", "wmt18 (ta-en) has only held-out splits (dev, test); name one"),
        ("hi-en", "freedict/train", "freedict (hi-en) has no split 'train'; its splits are dict"),
        ("hi-en", "hindencorp", "hindencorp/train is already part of the hi-en recipe"),
        ("bn-en", "post2012/dict", "post2012/dict is already part of the bn-en recipe"),
        ("hi-en", "pud/news", "pud/news is already part of the hi-en recipe"),
        ("hi-en", "nope", "unknown corpus 'nope' for hi-en"),
    ],
)
def test_extra_take_errors(pair: str, spec: str, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        extra_take(pair, spec, RECIPES[pair])


def test_a_section_is_a_split_of_its_own_domain() -> None:
    pud = get_corpus("hi-en", "pud")
    assert pud.file_split("news") == ("train", "n")
    assert pud.file_split("wikipedia") == ("train", "w")
    assert (pud.domain_of("news"), pud.domain_of("wikipedia")) == ("news", "wikipedia")
    assert get_corpus("hi-en", "vg").file_split("dev") == ("dev", None)


def test_recipes_name_catalogued_splits() -> None:
    for pair, recipe in RECIPES.items():
        for take in (*recipe.train, *recipe.dev, *recipe.tests.values()):
            assert take.split in get_corpus(pair, take.corpus).fetchable_splits(), take


def test_mirror_and_catalogue_agree(corpora: Path) -> None:
    """Every catalogued mirror split is in the mirror, and every mirror folder is catalogued."""
    for pair, known in CORPORA.items():
        folders = {c.mirror_folder for c in known.values() if c.mirror_folder}
        assert folders == {p.name for p in (corpora / pair).iterdir() if p.is_dir()}, pair
        for corpus in known.values():
            if corpus.mirror_folder:
                for split in corpus.splits:
                    indic_path, en_paths, _ = mirror_files(corpus, split, corpora)
                    assert indic_path.is_file() and all(p.is_file() for p in en_paths)


def test_monolingual_mirror_and_catalogue_agree(corpora: Path) -> None:
    """Every monolingual folder of the mirror (mono-<lang>/) is catalogued, and its files exist."""
    folders = {f"{p.parent.name}/{p.name}" for p in corpora.glob("mono-*/*") if p.is_dir()}
    assert folders == {c.mirror_folder for c in MONO_CORPORA.values()}
    for corpus in MONO_CORPORA.values():
        assert corpus.kind == "monolingual"
        for name in corpus.files:
            assert (corpora / corpus.mirror_folder / name).is_file(), (corpus.name, name)
