"""Named corpora per language pair and everywhere each can be fetched from (recipes.py
combines them).

A corpus can come from three places, tried in this order by `fetch.py`:
- the offline mirror: `<mirror>/<pair>/<mirror_folder>/<split>.<lang>` plain text, one segment a
  line; extra English references as `<split>.en.0 .. <split>.en.3`;
- a Hugging Face `datasets` id (and config), loaded through `datasets.load_dataset`: from the
  mirror's copy of the dataset repository in the hub's own layout, `<mirror>/hub/<id>/` (as
  `huggingface-cli download --repo-type dataset <id> --local-dir <mirror>/hub/<id>` writes it;
  a config's files in `<config>/` or `data/<config>/`, or named by the copy's README), else
  from the hub;
- a URL to an archive, downloaded and extracted by `datasets.DownloadManager`.

Every corpus has a kind, what its segments are: "sentences", "dictionary" (words and short
phrases), "interface" (software strings with placeholders) or "monolingual". A split can differ
from its corpus (the Post et al. `dict` split is a dictionary); `Corpus.kind_of` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from indic_common.errors import DataError
from indic_common.languages import PAIRS

# Splits that are held out by name; any other split of a corpus can be trained on.
HELD_OUT_SPLITS = ("dev", "devtest", "test", "challenge")

Kind = Literal["sentences", "dictionary", "interface", "monolingual"]


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
    # Consecutive lines with the same `<split>.<group_suffix>` line and the same source are one
    # segment translated several times: they become one row with several English references.
    merge_segments: bool = False
    detokenize_en: bool = False  # the English side is Moses-tokenised: detokenise it on reading
    kind: Kind = "sentences"
    split_kinds: dict[str, Kind] = field(default_factory=dict)  # splits of another kind
    # What the sentences are about (indic_common.special.DOMAINS): each line's domain is
    # written beside it (<set>.domain) for the source-side domain tags.
    domain: str = "general"
    # Splits made of another split's documents: name -> (split, group prefix, domain), e.g.
    # PUD's `news`: the lines of `train` whose document id starts with "n", of domain news.
    sections: dict[str, tuple[str, str, str]] = field(default_factory=dict)

    def kind_of(self, split: str) -> Kind:
        """What the segments of one split are: the split's own kind, else the corpus's."""
        return self.split_kinds.get(split, self.kind)

    def domain_of(self, split: str) -> str:
        """The domain of a split's lines: a section's own, the corpus's for sentences, else
        the kind (dictionary, interface, monolingual)."""
        if split in self.sections:
            return self.sections[split][2]
        kind = self.kind_of(split)
        return self.domain if kind == "sentences" else kind

    def file_split(self, split: str) -> tuple[str, str | None]:
        """The split whose files hold `split`, and the document prefix that picks its lines
        (None: every line)."""
        if split in self.sections:
            whole, prefix, _ = self.sections[split]
            return whole, prefix
        return split, None

    def fetchable_splits(self) -> tuple[str, ...]:
        """Every split that can be fetched: the catalogued ones, then those only online."""
        online = tuple(s for s in (self.url.members if self.url else ()) if s not in self.splits)
        return self.splits + online

    def training_split(self) -> str | None:
        """The split `--extra-train NAME` takes: `train` if there is one, else the first that
        is not held out by name (a dictionary's `dict`, `l10n`); None when every one is."""
        splits = self.fetchable_splits()
        if "train" in splits:
            return "train"
        return next((s for s in splits if s not in HELD_OUT_SPLITS), None)


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
        split_kinds={"dict": "dictionary"},
        domain="wikipedia",
    )


def _anki(pair: str) -> Corpus:
    return Corpus(
        name="anki",
        pair=pair,
        description="Tatoeba sentences as packaged by manythings.org",
        licence="CC-BY 2.0 (France), per-line attribution",
        splits=("train",),
        mirror_folder="tatoeba-manythings-anki",
        domain="conversation",
    )


def _visual_genome(pair: str, folder: str, lang_name: str) -> Corpus:
    return Corpus(
        name="vg",
        pair=pair,
        description=f"{lang_name} Visual Genome image-region captions",
        licence="non-commercial research (CC BY-NC-SA 4.0 upstream)",
        splits=("train", "dev", "test", "challenge"),
        mirror_folder=folder,
        domain="captions",
    )


def _debian(pair: str, lang_name: str) -> Corpus:
    return Corpus(
        name="debian",
        pair=pair,
        description=f"Debian 12 gettext catalogues, English-{lang_name} interface strings",
        licence="each package's own (mostly GPL-2.0+, LGPL-2.0+, MPL-2.0)",
        splits=("l10n",),
        mirror_folder="debian-l10n",
        kind="interface",
    )


def _samanantar(pair: str, lang: str) -> Corpus:
    return Corpus(
        name="samanantar",
        pair=pair,
        description=f"AI4Bharat Samanantar ({lang})",
        licence="CC0",
        splits=("train",),
        hub=HubSource(
            "ai4bharat/samanantar",
            lang,
            translation_column=None,
            indic_column="tgt",
            en_column="src",
        ),
    )


def _opus100(pair: str, config: str) -> Corpus:
    return Corpus(
        name="opus100",
        pair=pair,
        description=f"OPUS-100 {config}",
        licence="see OPUS",
        splits=("train", "dev", "test"),
        hub=HubSource("Helsinki-NLP/opus-100", config, split_names={"dev": "validation"}),
    )


_HI_EN = (
    _visual_genome("hi-en", "hindi-visual-genome-1.1", "Hindi"),
    _post2012("hi-en", "hi", dict_split=False),
    Corpus(
        name="post2012train",
        pair="hi-en",
        description="Post et al. (2012) training split, 1,092 segments x 1-4 English references",
        licence="CC BY-SA 3.0",
        splits=("train",),
        mirror_folder="post2012-mturk-wikipedia-train-partial",
        group_suffix="seg_ids",
        group_pattern=r"^([^_]+)_",
        merge_segments=True,
        domain="wikipedia",
    ),
    Corpus(
        name="hindencorp",
        pair="hi-en",
        description="HindEnCorp 0.5, its TIDES news and general prose (sample)",
        licence="CC BY-NC-SA 3.0",
        splits=("train",),
        mirror_folder="hindencorp-tides-sample",
        detokenize_en=True,
        domain="news",
    ),
    Corpus(
        name="freedict",
        pair="hi-en",
        description="FreeDict English-Hindi 1.6, words and short phrases",
        licence="GPL-2.0-or-later",
        splits=("dict",),
        mirror_folder="freedict-eng-hin",
        kind="dictionary",
    ),
    _debian("hi-en", "Hindi"),
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
        name="xquad",
        pair="hi-en",
        description="XQuAD: English Wikipedia paragraphs (SQuAD v1.1 dev) professionally "
        "translated into Hindi; sentences paired by position, questions, whole paragraphs",
        licence="CC BY-SA 4.0",
        splits=("sentences", "questions", "paragraphs"),
        mirror_folder="xquad-wikipedia",
        domain="wikipedia",
    ),
    Corpus(
        name="pud",
        pair="hi-en",
        description="Universal Dependencies PUD: 500 news and 500 Wikipedia sentences, "
        "professionally translated into Hindi",
        licence="CC BY-SA 3.0",
        # `train` is the file; the recipe holds the news out as a general-domain dev set
        splits=("wikipedia", "news"),
        mirror_folder="ud-pud",
        group_suffix="ids",
        group_pattern=r"^(.*)\d{3}$",  # n01001011: document n01001, sentence 011
        domain="wikipedia",
        sections={"wikipedia": ("train", "w", "wikipedia"), "news": ("train", "n", "news")},
    ),
    _samanantar("hi-en", "hi"),
    _opus100("hi-en", "en-hi"),
)

_TA_EN = (
    Corpus(
        name="bible",
        pair="ta-en",
        description="Tamil OV 1957 x KJV, verse-aligned",
        licence="public domain texts; MIT packaging",
        splits=("train",),
        mirror_folder="bible-tamil-ov1957-kjv",
        domain="bible",
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
        domain="news",
    ),
    _debian("ta-en", "Tamil"),
    _anki("ta-en"),
    _samanantar("ta-en", "ta"),
    _opus100("ta-en", "en-ta"),
)

_BN_EN = (
    _visual_genome("bn-en", "bengali-visual-genome-1.0", "Bengali"),
    _post2012("bn-en", "bn", dict_split=True),
    _debian("bn-en", "Bengali"),
    _anki("bn-en"),
    _samanantar("bn-en", "bn"),
    _opus100("bn-en", "bn-en"),
)

# Every pair of indic_common.languages, with the corpora that name it (a new language's
# pair starts empty).
CORPORA: dict[str, dict[str, Corpus]] = {
    pair: {c.name: c for c in (*_HI_EN, *_TA_EN, *_BN_EN) if c.pair == pair} for pair in PAIRS
}


@dataclass(frozen=True)
class MonoCorpus:
    """A monolingual corpus of the mirror: `<mirror>/mono-<lang>/<folder>/<file>`, one segment
    a line (material for back-translation into `lang`'s direction)."""

    name: str
    lang: str
    description: str
    licence: str
    folder: str
    files: tuple[str, ...]
    kind: Kind = "monolingual"

    @property
    def mirror_folder(self) -> str:
        """The folder inside the mirror."""
        return f"mono-{self.lang}/{self.folder}"


MONO_CORPORA: dict[str, MonoCorpus] = {
    c.name: c
    for c in (
        MonoCorpus(
            name="post2012mono",
            lang="en",
            description="English side of the Post et al. (2012) training splits (Wikipedia "
            "pages of six Indian languages, translated by Mechanical Turk workers)",
            licence="CC BY-SA 3.0",
            folder="post2012-mturk-wikipedia-training-en",
            files=(  # the English of six languages' Wikipedia, by file
                "training.hi-en.en",
                "training.bn-en.en",
                "training.ta-en.en",
                "training.te-en.en",
                "training.ml-en.en",
                "training.ur-en.en",
            ),
        ),
        MonoCorpus(
            name="wikisource",
            lang="ta",
            description="Tamil Wikisource sentences (literary and non-fiction prose; digits "
            "spelled out as words), as prepared for Mozilla Common Voice",
            licence="CC0 (text); MIT (packaging)",
            folder="tamil-wikisource-sentences",
            files=("train.ta",),
        ),
        MonoCorpus(
            name="commonvoice",
            lang="hi",
            description="Mozilla Common Voice sentence collector, Hindi (mostly news headlines)",
            licence="CC0 1.0",
            folder="common-voice-sentences",
            files=("train.hi",),
        ),
        MonoCorpus(
            name="langres",
            lang="bn",
            description="google/language-resources text-to-speech prompts, Bengali "
            "(Wikipedia-like statements)",
            licence="CC BY 4.0",
            folder="google-language-resources-prompts",
            files=("train.bn",),
        ),
    )
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
