"""Fetching through the same code as for real downloads: a dataset in the Hugging Face hub's
own layout (parquet shards, `translation` column) and an archive behind a URL, both local."""

from __future__ import annotations

import tarfile
from pathlib import Path

import datasets
import pytest

from data_prep.catalog import Corpus, HubSource, UrlSource
from data_prep.fetch import fetch
from indic_common.errors import DataError

PAIRS = [
    ("यह एक इनडोर दृश्य है", "it is an indoor scene"),
    ("कंप्यूटर स्क्रीन चालू", "Computer screens turned on"),
]


def _hub_folder(root: Path) -> Path:
    """Write a dataset as the hub stores it: data/<split>-00000-of-00001.parquet."""
    ds = datasets.Dataset.from_dict({"translation": [{"hi": hi, "en": en} for hi, en in PAIRS]})
    (root / "data").mkdir(parents=True)
    ds.to_parquet(str(root / "data" / "train-00000-of-00001.parquet"))
    ds.select([0]).to_parquet(str(root / "data" / "validation-00000-of-00001.parquet"))
    return root


def test_hub_layout_loads_through_load_dataset(tmp_path: Path) -> None:
    corpus = Corpus(
        name="local-iitb",
        pair="hi-en",
        description="",
        licence="",
        splits=("train", "dev"),
        hub=HubSource(str(_hub_folder(tmp_path / "hub")), split_names={"dev": "validation"}),
    )
    train = fetch(corpus, "train", mirror=None, cache_dir=tmp_path / "cache")
    assert train["indic"][:] == [hi for hi, _ in PAIRS]
    assert train["en"][:] == [[en] for _, en in PAIRS]
    assert len(fetch(corpus, "dev", mirror=None, cache_dir=tmp_path / "cache")) == 1


def test_hub_columns_by_name(tmp_path: Path) -> None:
    root = tmp_path / "hub"
    (root / "data").mkdir(parents=True)
    datasets.Dataset.from_dict(
        {"src": [en for _, en in PAIRS], "tgt": [hi for hi, _ in PAIRS]}
    ).to_parquet(str(root / "data" / "train-00000-of-00001.parquet"))
    corpus = Corpus(
        name="local-samanantar",
        pair="hi-en",
        description="",
        licence="",
        splits=("train",),
        hub=HubSource(str(root), translation_column=None, indic_column="tgt", en_column="src"),
    )
    ds = fetch(corpus, "train", mirror=None, cache_dir=tmp_path / "cache")
    assert ds[1] == {"indic": PAIRS[1][0], "en": [PAIRS[1][1]], "group": "1"}


def test_unreachable_hub_is_a_clear_error(tmp_path: Path) -> None:
    corpus = Corpus(
        name="gone",
        pair="hi-en",
        description="",
        licence="",
        splits=("train",),
        hub=HubSource(str(tmp_path / "no-such-dataset")),
    )
    with pytest.raises(DataError, match="cannot load .* offline, pass --mirror DIR"):
        fetch(corpus, "train", mirror=None, cache_dir=tmp_path / "cache")


def test_url_archive_is_downloaded_and_extracted(tmp_path: Path) -> None:
    src = tmp_path / "src" / "corpus-master" / "hi-en"
    src.mkdir(parents=True)
    (src / "training.hi").write_text("".join(hi + "\n" for hi, _ in PAIRS), encoding="utf-8")
    (src / "training.en").write_text("".join(en + "\n" for _, en in PAIRS), encoding="utf-8")
    archive = tmp_path / "master.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "src" / "corpus-master", arcname="corpus-master")
    corpus = Corpus(
        name="post",
        pair="hi-en",
        description="",
        licence="",
        splits=("train",),
        url=UrlSource(
            str(archive),
            {"train": ("corpus-master/hi-en/training.hi", "corpus-master/hi-en/training.en")},
        ),
    )
    ds = fetch(corpus, "train", mirror=None, cache_dir=tmp_path / "cache")
    assert ds["indic"][:] == [hi for hi, _ in PAIRS]


def test_split_nowhere_to_be_found(tmp_path: Path) -> None:
    corpus = Corpus(
        name="mirror-only",
        pair="hi-en",
        description="",
        licence="",
        splits=("train",),
        mirror_folder="nothing-here",
    )
    with pytest.raises(DataError, match="has no split 'train'"):
        fetch(corpus, "train", mirror=tmp_path, cache_dir=tmp_path / "cache")
