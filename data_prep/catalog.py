"""Named corpora per language pair and everywhere each can be fetched from (recipes.py
combines them).

A corpus can come from three places, tried in this order by `fetch.py`:
- the offline mirror: `<mirror>/<pair>/<mirror_folder>/<split>.<lang>` plain text, one segment a
  line; extra English references as `<split>.en.0 .. <split>.en.3`;
- a Hugging Face `datasets` id (and config), loaded through `datasets.load_dataset`;
- a URL to an archive, downloaded and extracted by `datasets.DownloadManager`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from indic_common.errors import DataError

PAIRS = ("hi-en", "ta-en", "bn-en")


@dataclass(frozen=True)
class HubSource:
    """A dataset on the Hugging Face hub (or a local folder in the hub's own layout)."""

    path: str
    config: str | None = None
    # How to read a row: "translation" (a dict column keyed by language code, as in
    # cfilt/iitb-english-hindi and OPUS-100) or the names of the Indic and English columns.
    translation_column: str | None = "translation"
    indic_column: str | None = None
    en_column: str | None = None
    split_names: dict[str, str] = field(default_factory=dict)  # our split -> hub split


@dataclass(frozen=True)
class UrlSource:
    """An archive online; `members` maps a split to its (Indic file, English file) inside it."""

    url: str
    members: dict[str, tuple[str, str]]


@dataclass(frozen=True)
class Corpus:
    """One named parallel corpus of a pair and everywhere it can be fetched from."""

    name: str
    pair: str
    description: str
    licence: str
    splits: tuple[str, ...]
    mirror_folder: str | None = None
    hub: HubSource | None = None
    url: UrlSource | None = None
    # Lines of `<split>.<group_suffix>` name the document a segment comes from; carved splits
    # take whole documents so that no document straddles train and dev/test.
    group_suffix: str | None = None
    group_pattern: str = r"^(.*)$"


def _post2012(pair: str, lang: str, dict_split: bool) -> Corpus:
    splits = ("dev", "devtest", "test") + (("dict",) if dict_split else ())
    return Corpus(
        name="post2012",
        pair=pair,
        description="Post, Callison-Burch & Osborne (2012) Wikipedia, 4 English references",
        licence="CC BY-SA 3.0",
        splits=splits,
        mirror_folder="post2012-mturk-wikipedia",
        url=UrlSource(
            url="https://github.com/joshua-decoder/indian-parallel-corpora/archive/master.tar.gz",
            members={
                "train": (
                    f"indian-parallel-corpora-master/{pair}/training.{pair}.{lang}",
                    f"indian-parallel-corpora-master/{pair}/training.{pair}.en",
                )
            },
        ),
        group_suffix="seg_ids",
        group_pattern=r"^([^_]+)_",
    )


def _anki(pair: str) -> Corpus:
    return Corpus(
        name="anki",
        pair=pair,
        description="Tatoeba sentences as packaged by manythings.org",
        licence="CC-BY 2.0 (France), per-line attribution",
        splits=("train",),
        mirror_folder="tatoeba-manythings-anki",
    )


def _visual_genome(pair: str, folder: str, lang_name: str) -> Corpus:
    return Corpus(
        name="vg",
        pair=pair,
        description=f"{lang_name} Visual Genome image-region captions",
        licence="non-commercial research (CC BY-NC-SA 4.0 upstream)",
        splits=("train", "dev", "test", "challenge"),
        mirror_folder=folder,
    )


CORPORA: dict[str, dict[str, Corpus]] = {
    "hi-en": {
        c.name: c
        for c in (
            _visual_genome("hi-en", "hindi-visual-genome-1.1", "Hindi"),
            _post2012("hi-en", "hi", dict_split=False),
            _anki("hi-en"),
            Corpus(
                name="iitb",
                pair="hi-en",
                description="IIT Bombay English-Hindi corpus (1.6M)",
                licence="CC BY-NC 4.0",
                splits=("train", "dev", "test"),
                hub=HubSource("cfilt/iitb-english-hindi", split_names={"dev": "validation"}),
            ),
            Corpus(
                name="samanantar",
                pair="hi-en",
                description="AI4Bharat Samanantar (hi)",
                licence="CC0",
                splits=("train",),
                hub=HubSource(
                    "ai4bharat/samanantar",
                    "hi",
                    translation_column=None,
                    indic_column="tgt",
                    en_column="src",
                ),
            ),
            Corpus(
                name="opus100",
                pair="hi-en",
                description="OPUS-100 en-hi",
                licence="see OPUS",
                splits=("train", "dev", "test"),
                hub=HubSource("Helsinki-NLP/opus-100", "en-hi", split_names={"dev": "validation"}),
            ),
        )
    },
    "ta-en": {
        c.name: c
        for c in (
            Corpus(
                name="bible",
                pair="ta-en",
                description="Tamil OV 1957 x KJV, verse-aligned",
                licence="public domain texts; MIT packaging",
                splits=("train",),
                mirror_folder="bible-tamil-ov1957-kjv",
                group_suffix="ref",
                group_pattern=r"^(.*):",
            ),
            _post2012("ta-en", "ta", dict_split=True),
            Corpus(
                name="wmt18",
                pair="ta-en",
                description="MIDAS WMT18 EnTam dev/test (lower-cased)",
                licence="none stated",
                splits=("dev", "test"),
                mirror_folder="midas-wmt2018-entam-devtest",
            ),
            _anki("ta-en"),
            Corpus(
                name="samanantar",
                pair="ta-en",
                description="AI4Bharat Samanantar (ta)",
                licence="CC0",
                splits=("train",),
                hub=HubSource(
                    "ai4bharat/samanantar",
                    "ta",
                    translation_column=None,
                    indic_column="tgt",
                    en_column="src",
                ),
            ),
            Corpus(
                name="opus100",
                pair="ta-en",
                description="OPUS-100 en-ta",
                licence="see OPUS",
                splits=("train", "dev", "test"),
                hub=HubSource("Helsinki-NLP/opus-100", "en-ta", split_names={"dev": "validation"}),
            ),
        )
    },
    "bn-en": {
        c.name: c
        for c in (
            _visual_genome("bn-en", "bengali-visual-genome-1.0", "Bengali"),
            _post2012("bn-en", "bn", dict_split=True),
            _anki("bn-en"),
            Corpus(
                name="samanantar",
                pair="bn-en",
                description="AI4Bharat Samanantar (bn)",
                licence="CC0",
                splits=("train",),
                hub=HubSource(
                    "ai4bharat/samanantar",
                    "bn",
                    translation_column=None,
                    indic_column="tgt",
                    en_column="src",
                ),
            ),
            Corpus(
                name="opus100",
                pair="bn-en",
                description="OPUS-100 bn-en",
                licence="see OPUS",
                splits=("train", "dev", "test"),
                hub=HubSource("Helsinki-NLP/opus-100", "bn-en", split_names={"dev": "validation"}),
            ),
        )
    },
}


def pair_langs(pair: str) -> tuple[str, str]:
    """Split a pair name into (Indic language, "en"); unknown pairs raise DataError."""
    if pair not in PAIRS:
        raise DataError(f"unknown pair {pair!r}: choose one of {', '.join(PAIRS)}")
    indic, en = pair.split("-")
    return indic, en


def get_corpus(pair: str, name: str) -> Corpus:
    """Look a corpus up by name; an unknown name raises DataError listing the known ones."""
    pair_langs(pair)
    known = CORPORA[pair]
    if name not in known:
        raise DataError(
            f"unknown corpus {name!r} for {pair}: known corpora are {', '.join(sorted(known))}"
        )
    return known[name]
