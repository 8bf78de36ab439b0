"""Monolingual English for back-translation: `data/<pair>/mono.en`, filtered against the pair.

`prepare_mono(pair, out_root, mirror)` reads the English sides of the Post et al. (2012)
training splits (`<mirror>/mono-en/<folder>/training.<xx>-en.en`, six languages: the same
kind of Indian Wikipedia pages as the test), normalises them as training English is, and
drops, each counted in `mono.json`:
- empty lines and lines over the word limit;
- repeats of a line already kept;
- lines equal (up to case) to the English of a training pair of the prepared folder, and
  lines whose segment we hold as a real pair (the `seg_ids` of the hi-en training part);
- lines equal to, or sharing an 8-gram of words with, any dev or test segment of the pair.

What is kept is shuffled (seeded) so that the first N lines are a sample of every source, and
written atomically with `mono.origin` (the source file of each line). The prepared folder
must exist: its tokenizer and held-out sets are not touched.

For `data/multi/` (`prepare_mono("multi", ...)`) the English is filtered against every pair of
the folder (a bn-en test reference must not become a hi-en synthetic target), then dealt in
turn into the pairs' folders (`data/multi/<pair>/mono.en`), so that each direction
back-translates different English; the counts go to `data/multi/mono.json`, written last.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from data_prep.catalog import MONO_CORPORA, get_corpus, pair_langs
from data_prep.clean import LengthLimits
from data_prep.split import HeldOut, contamination_key
from indic_common.atomic import open_atomic, write_text
from indic_common.errors import DataError
from indic_common.normalize import normalize_en
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
    sources: tuple[MonoSource, ...] = MONO_SOURCES,
) -> Path:
    """Write `mono.en` and `mono.origin` into `out_root/<pair>/`, then `mono.json`; returns
    mono.json. A multilingual folder (its meta.json lists `pairs`) is filtered against every
    pair, and each pair's folder gets every n-th kept line (n the number of pairs)."""
    folder = out_root / pair
    meta = _read_meta(folder, pair)
    pairs = meta.get("pairs")
    if pairs is None:
        pair_langs(pair)
    # The folders that get a share of the English, each with its meta.json.
    shares = {folder / n: _read_meta(folder / n, pair) for n in pairs} if pairs else {folder: meta}
    held_out = HeldOut(line for share, m in shares.items() for line in _held_out_lines(share, m))
    train_en = {contamination_key(t) for share in shares for t in iter_lines(share / "train.en")}
    kept, counts = _filtered(folder, held_out, train_en, mirror, seed, limits, sources)
    stats = {"pair": pair, "seed": seed, **counts}
    per_pair = {}
    for i, share in enumerate(shares):
        lines = kept[i :: len(shares)]
        _write_mono(share, lines)
        per_pair[share.name] = len(lines)
    if pairs:
        stats["per_pair"] = per_pair
    write_text(folder / "mono.json", json.dumps(stats, indent=2) + "\n")
    return folder / "mono.json"


def _filtered(
    folder: Path,
    held_out: HeldOut,
    train_en: set[str],
    mirror: Path,
    seed: int,
    limits: LengthLimits | None,
    sources: tuple[MonoSource, ...],
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
                f"holds {_POST2012.mirror_folder}/"
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
            text = normalize_en(line)
            key = contamination_key(text)
            if not text:
                counts["empty"] += 1
            elif len(text.split()) > limits.max_words:
                counts["too_long"] += 1
            elif key in seen:
                counts["repeat"] += 1
            elif key in train_en or (seg is not None and seg in held_segments):
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
            f"{stats['sources']}); check the mirror's {_POST2012.mirror_folder}/ files"
        )
    random.Random(f"{seed}:mono").shuffle(kept)
    stats["lines"] = len(kept)
    return kept, stats


def _write_mono(folder: Path, kept: list[tuple[str, str]]) -> None:
    with open_atomic(folder / "mono.en") as f:
        f.writelines(text + "\n" for text, _ in kept)
    with open_atomic(folder / "mono.origin") as f:
        f.writelines(name + "\n" for _, name in kept)
