"""Monolingual text for back-translation: `data/<pair>/mono.<lang>`, filtered against the pair.

`prepare_mono(pair, out_root, mirror)` reads the English sides of the Post et al. (2012)
training splits (`<mirror>/mono-en/<folder>/training.<xx>-en.en`, six languages: the same
kind of Indian Wikipedia pages as the test), normalises them as training English is, and
drops, each counted in `mono.json`:
- empty lines and lines over the word limit;
- repeats of a line already kept;
- lines equal (up to case) to the English of a training pair of the prepared folder, and
  lines whose segment we hold as a real pair (the `seg_ids` of the hi-en training part);
- lines equal to, or sharing an 8-gram of words with, any dev or test segment of the pair.

`prepare_mono(pair, ..., lang="ta")` does the same for the pair's Indian language from the
mirror's `mono-<lang>/` corpora (data_prep.catalog.MONO_CORPORA), normalised as training text
of that language is (digits to ASCII unless `ascii_digits` is off): `mono.ta`, `mono.ta.origin`
and `mono.ta.json`, the target side of synthetic pairs for the direction into it.

What is kept is shuffled (seeded) so that the first N lines are a sample of every source, and
written atomically with its origin file (the source of each line). The prepared folder must
exist: its tokenizer and held-out sets are not touched.

For `data/multi/` (`prepare_mono("multi", ...)`, English only) the English is filtered against
every pair of the folder (a bn-en test reference must not become a hi-en synthetic target), then
dealt in turn into the pairs' folders (`data/multi/<pair>/mono.en`), so that each direction
back-translates different English; the counts go to `data/multi/mono.json`, written last.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from data_prep.catalog import MONO_CORPORA, PAIRS, get_corpus, pair_langs
from data_prep.clean import LengthLimits
from data_prep.split import HeldOut, contamination_key
from indic_common.atomic import open_atomic, write_text
from indic_common.errors import DataError
from indic_common.normalize import IndicNormalizer, normalize_en
from indic_common.textfile import iter_lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonoSource:
    """One monolingual English file of the mirror, and the real pairs that share its segments
    (a corpus of a pair, whose `<split>.seg_ids` name the same segments)."""

    name: str  # e.g. "post2012mono/hi", written to mono.origin
    path: str  # inside the mirror
    held_pairs: tuple[str, str, str] | None = None  # (pair, corpus, split)


_POST2012 = MONO_CORPORA["post2012mono"]
# One source per file (training.<xx>-en.en: the English of <xx> Wikipedia), named by <xx>.
MONO_SOURCES = tuple(
    MonoSource(
        f"post2012mono/{name.split('.')[1].split('-')[0]}",
        f"{_POST2012.mirror_folder}/{name}",
        ("hi-en", "post2012train", "train") if name == "training.hi-en.en" else None,
    )
    for name in _POST2012.files
)


def mono_sources(lang: str) -> tuple[MonoSource, ...]:
    """The mirror's monolingual files of a language: the six English files, or every file of
    the `mono-<lang>/` corpora of an Indian language."""
    if lang == "en":
        return MONO_SOURCES
    return tuple(
        MonoSource(f"{c.name}/{name}", f"{c.mirror_folder}/{name}")
        for c in MONO_CORPORA.values()
        if c.lang == lang
        for name in c.files
    )


def mono_langs(pair: str, mirror: Path) -> list[str]:
    """The languages `--mono` prepares for a pair: English, then the pair's Indian language
    when the mirror holds one of its monolingual corpora (multi: English only)."""
    if pair not in PAIRS:
        return ["en"]
    indic, _ = pair_langs(pair)
    held = any((mirror / s.path).is_file() for s in mono_sources(indic))
    return ["en", indic] if held else ["en"]


def mono_files(lang: str) -> tuple[str, str, str]:
    """The names of a prepared folder's monolingual text, origin and counts files in `lang`
    (English keeps the names it had: mono.en, mono.origin, mono.json)."""
    if lang == "en":
        return "mono.en", "mono.origin", "mono.json"
    return f"mono.{lang}", f"mono.{lang}.origin", f"mono.{lang}.json"


def held_out_of(folder: Path, meta: dict) -> HeldOut:
    """Every line of every dev and test file of a prepared folder (both languages, every
    reference)."""
    return HeldOut(_held_out_lines(folder, meta))


def _held_out_lines(folder: Path, meta: dict) -> Iterator[str]:
    names = [
        "dev",
        *(f"dev-{d}" for d in meta.get("devs", {})),
        *(f"test-{t}" for t in meta["tests"]),
    ]
    for name in names:
        for path in sorted(folder.glob(f"{name}.*")):
            if path.suffix not in (".doc", ".domain"):
                yield from iter_lines(path)


def _read_meta(folder: Path, pair: str) -> dict:
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise DataError(f"{folder}: no prepared data; run `make data PAIR={pair}` first")
    return json.loads(meta_path.read_text(encoding="utf-8"))


def _held_segments(mirror: Path, held: tuple[str, str, str] | None) -> set[str]:
    """The segment ids of the real pairs we hold for a monolingual source."""
    if held is None:
        return set()
    pair, corpus_name, split = held
    corpus = get_corpus(pair, corpus_name)
    path = mirror / pair / str(corpus.mirror_folder) / f"{split}.seg_ids"
    return set(iter_lines(path)) if path.is_file() else set()


def prepare_mono(
    pair: str,
    out_root: Path,
    mirror: Path,
    seed: int = 1,
    limits: LengthLimits | None = None,
    sources: tuple[MonoSource, ...] | None = None,
    lang: str = "en",
    ascii_digits: bool = True,
) -> Path:
    """Write the monolingual text of `lang` (English, or the pair's Indian language) and its
    origin file into `out_root/<pair>/`, then its counts (mono_files); returns the counts'
    path. A multilingual folder (its meta.json lists `pairs`) is filtered against every pair,
    and each pair's folder gets every n-th kept line (n the number of pairs)."""
    folder = out_root / pair
    meta = _read_meta(folder, pair)
    pairs = meta.get("pairs")
    if pairs is None:
        indic, _ = pair_langs(pair)
        if lang not in ("en", indic):
            raise DataError(f"{pair}: monolingual text is English or {indic}, not {lang!r}")
    elif lang != "en":
        raise DataError(f"{folder}: a multilingual folder takes monolingual English only")
    sources = sources if sources is not None else mono_sources(lang)
    if not sources:
        raise DataError(f"no monolingual corpus of {lang!r} is catalogued (data_prep.catalog)")
    # The folders that get a share of the text, each with its meta.json.
    shares = {folder / n: _read_meta(folder / n, pair) for n in pairs} if pairs else {folder: meta}
    held_out = HeldOut(line for share, m in shares.items() for line in _held_out_lines(share, m))
    train = {contamination_key(t) for share in shares for t in iter_lines(share / f"train.{lang}")}
    normalize = normalize_en if lang == "en" else IndicNormalizer(lang, ascii_digits)
    kept, counts = _filtered(folder, held_out, train, mirror, seed, limits, sources, normalize)
    stats = {"pair": pair, "lang": lang, "seed": seed, **counts}
    per_pair = {}
    text_name, origin_name, counts_name = mono_files(lang)
    for i, share in enumerate(shares):
        lines = kept[i :: len(shares)]
        _write_mono(share / text_name, share / origin_name, lines)
        per_pair[share.name] = len(lines)
    if pairs:
        stats["per_pair"] = per_pair
    write_text(folder / counts_name, json.dumps(stats, indent=2) + "\n")
    return folder / counts_name


def _filtered(
    folder: Path,
    held_out: HeldOut,
    train_keys: set[str],
    mirror: Path,
    seed: int,
    limits: LengthLimits | None,
    sources: tuple[MonoSource, ...],
    normalize: Callable[[str], str] = normalize_en,
) -> tuple[list[tuple[str, str]], dict]:
    """The kept (line, source name) pairs of the sources, shuffled, and their counts."""
    limits = limits or LengthLimits()
    seen: set[str] = set()
    kept: list[tuple[str, str]] = []
    stats: dict = {"sources": {}}
    for source in sources:
        path = mirror / source.path
        seg_path = path.with_suffix(".seg_ids")
        if not path.is_file():
            raise DataError(
                f"{path}: monolingual file not found; pass --mirror with the folder that "
                f"holds {Path(source.path).parent}/"
            )
        held_segments = _held_segments(mirror, source.held_pairs)
        segs = iter_lines(seg_path) if seg_path.is_file() and held_segments else None
        counts = dict.fromkeys(
            ("read", "empty", "too_long", "repeat", "real_pair", "held_out", "near_held_out"), 0
        )
        counts["kept"] = 0
        for line in iter_lines(path):
            seg = next(segs, None) if segs is not None else None
            counts["read"] += 1
            text = normalize(line)
            key = contamination_key(text)
            if not text:
                counts["empty"] += 1
            elif len(text.split()) > limits.max_words:
                counts["too_long"] += 1
            elif key in seen:
                counts["repeat"] += 1
            elif key in train_keys or (seg is not None and seg in held_segments):
                counts["real_pair"] += 1
            elif held_out.contains(text):
                counts["held_out"] += 1
            elif held_out.overlaps_ngram(text):
                counts["near_held_out"] += 1
            else:
                seen.add(key)
                kept.append((text, source.name))
                counts["kept"] += 1
        if counts["read"] == 0:
            raise DataError(f"{path}: empty file; a monolingual file holds one segment a line")
        stats["sources"][source.name] = counts
        log.info("%s: %s", source.name, counts)
    if not kept:
        raise DataError(
            f"{folder}: every monolingual line was filtered out (counts per source: "
            f"{stats['sources']}); check the mirror's monolingual files"
        )
    random.Random(f"{seed}:mono").shuffle(kept)
    stats["lines"] = len(kept)
    return kept, stats


def _write_mono(text_path: Path, origin_path: Path, kept: list[tuple[str, str]]) -> None:
    with open_atomic(text_path) as f:
        f.writelines(text + "\n" for text, _ in kept)
    with open_atomic(origin_path) as f:
        f.writelines(name + "\n" for _, name in kept)
