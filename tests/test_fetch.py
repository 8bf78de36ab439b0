"""Fetching through the same code as for real downloads: a dataset in the Hugging Face hub's
own layout (parquet shards, `translation` column; also as the mirror's copy under `hub/`, with a
config's own folder) and an archive behind a URL, both local; and the mirror's corpora that need
more than line pairing (segments, detokenisation)."""

from __future__ import annotations

import tarfile
from pathlib import Path

import datasets
import pytest

from data_prep.catalog import Corpus, HubSource, UrlSource, get_corpus
from data_prep.fetch import describe_source, fetch, in_mirror
from indic_common.errors import DataError
from indic_common.textfile import read_lines

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


def test_mirror_copy_of_a_hub_dataset_is_read_offline(tmp_path: Path) -> None:
    """`huggingface-cli download ... --local-dir <mirror>/hub/cfilt/iitb-english-hindi`."""
    mirror = tmp_path / "mirror"
    folder = _hub_folder(mirror / "hub" / "cfilt" / "iitb-english-hindi")
    iitb = get_corpus("hi-en", "iitb")
    assert not in_mirror(iitb, "train", tmp_path / "other")
    assert in_mirror(iitb, "train", mirror) and in_mirror(iitb, "dev", mirror)
    assert describe_source(iitb, "train", mirror).startswith(str(folder))
    train = fetch(iitb, "train", mirror, cache_dir=tmp_path / "cache")
    assert list(train) == [
        {"indic": hi, "en": [en], "group": str(i)} for i, (hi, en) in enumerate(PAIRS)
    ]
    assert fetch(iitb, "dev", mirror, cache_dir=tmp_path / "cache")["indic"][:] == [PAIRS[0][0]]


def _samanantar_copy(root: Path, layout: str) -> None:
    """ai4bharat/samanantar as the hub holds it: one folder of parquet shards per config."""
    rows = {"idx": [0, 1], "src": [en for _, en in PAIRS], "tgt": [hi for hi, _ in PAIRS]}
    other = {"idx": [0], "src": ["not this one"], "tgt": ["বাংলা"]}
    if layout == "readme":  # files elsewhere, named by the README's configs
        (root / "parts").mkdir(parents=True)
        datasets.Dataset.from_dict(rows).to_parquet(str(root / "parts" / "hindi.parquet"))
        datasets.Dataset.from_dict(other).to_parquet(str(root / "parts" / "bengali.parquet"))
        (root / "README.md").write_text(
            "---\nconfigs:\n"
            "- config_name: bn\n  data_files:\n  - split: train\n    path: parts/bengali.parquet\n"
            "- config_name: hi\n  data_files:\n  - split: train\n    path: parts/hindi.parquet\n"
            "---\n",
            encoding="utf-8",
        )
        return
    for config, table in (("hi", rows), ("bn", other)):
        (root / layout / config).mkdir(parents=True)
        shard = root / layout / config / "train-00000-of-00001.parquet"
        datasets.Dataset.from_dict(table).to_parquet(str(shard))


@pytest.mark.parametrize(
    "layout", ["", "data", "readme"], ids=["<config>", "data-<config>", "readme"]
)
def test_mirror_copy_reads_the_hub_config(layout: str, tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    _samanantar_copy(mirror / "hub" / "ai4bharat" / "samanantar", layout)
    ds = fetch(get_corpus("hi-en", "samanantar"), "train", mirror, cache_dir=tmp_path / "cache")
    assert list(ds) == [
        {"indic": hi, "en": [en], "group": str(i)} for i, (hi, en) in enumerate(PAIRS)
    ]


def test_mirror_copy_without_the_split_is_a_clear_error(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    folder = _hub_folder(mirror / "hub" / "cfilt" / "iitb-english-hindi")
    iitb = get_corpus("hi-en", "iitb")
    with pytest.raises(DataError) as e:
        fetch(iitb, "test", mirror, cache_dir=tmp_path / "cache")
    message = str(e.value)
    assert message.startswith(f"{folder}: cannot load iitb/test (split 'test') from this copy")
    assert "Unknown split" in message and "huggingface-cli download" in message
    assert "\n" not in message
    with pytest.raises(DataError, match="has no split 'wmt' in the mirror"):  # not catalogued
        fetch(iitb, "wmt", mirror, cache_dir=tmp_path / "cache")


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


def test_post2012_training_lines_of_one_segment_become_one_row(
    mini_mirror: Path, tmp_path: Path
) -> None:
    corpus = get_corpus("hi-en", "post2012train")
    folder = mini_mirror / "hi-en" / str(corpus.mirror_folder)
    seg_ids, en = read_lines(folder / "train.seg_ids"), read_lines(folder / "train.en")
    ds = fetch(corpus, "train", mini_mirror, cache_dir=tmp_path / "cache")
    assert len(ds) == len(set(seg_ids)) < len(seg_ids)
    assert [ref for refs in ds["en"] for ref in refs] == en  # every translation, in order
    assert max(len(refs) for refs in ds["en"]) == 4
    first = ds[0]
    assert first["en"] == en[: seg_ids.count(seg_ids[0])]
    assert first["group"] == seg_ids[0].split("_")[0]  # the document, for carving


@pytest.mark.parametrize(
    "line, expected",  # line numbers of hindencorp-tides-sample/train.en, from 1
    [
        (
            10,
            "The FIs are expected to offload the stake in favour of Suzuki (currently 50 per "
            "cent stakeholder) and to the general public later.",
        ),
        (
            37,
            "After you have made enough to rebuild the cottage, I shall take you back as my "
            "Queen.”",
        ),
        (
            29,
            "the arrangements for setting short-term goals, regularly reviewing your child's "
            "progress towards those goals, and how your child's progress is to be monitored.",
        ),
        (40, "Perhaps there are problems that you don't know about."),
    ],
)
def test_hindencorp_english_is_detokenised(
    line: int, expected: str, mini_mirror: Path, tmp_path: Path
) -> None:
    corpus = get_corpus("hi-en", "hindencorp")
    ds = fetch(corpus, "train", mini_mirror, cache_dir=tmp_path / "cache")
    assert ds[line - 1]["en"] == [expected]
    for (en,) in ds["en"]:
        assert " , " not in en and not en.endswith(" ."), en
        assert "-LRB-" not in en and " ”" not in en and " n't" not in en, en


def test_empty_corpus_file_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "hi-en" / "freedict-eng-hin"
    folder.mkdir(parents=True)
    (folder / "dict.hi").write_text("", encoding="utf-8")
    (folder / "dict.en").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=f"^{folder / 'dict.hi'}: empty file"):
        fetch(get_corpus("hi-en", "freedict"), "dict", tmp_path, cache_dir=tmp_path / "cache")


def test_a_section_holds_its_documents_only(corpora: Path, tmp_path: Path) -> None:
    """PUD's news and Wikipedia halves, read from its one `train` file by document id."""
    pud = get_corpus("hi-en", "pud")
    whole = fetch(pud, "train", corpora, cache_dir=tmp_path / "cache")
    news = fetch(pud, "news", corpora, cache_dir=tmp_path / "cache")
    wiki = fetch(pud, "wikipedia", corpora, cache_dir=tmp_path / "cache")
    assert len(news) == len(wiki) == 500 and len(whole) == 1000
    assert all(g.startswith("n") for g in news["group"])
    assert all(g.startswith("w") for g in wiki["group"])
    assert sorted([*news["indic"], *wiki["indic"]]) == sorted(whole["indic"])
