"""The parts of a prepared pair: each Take of the recipe fetched, carved and normalised, then
made a dev/test part (unfiltered) or a training part (paired per reference, filtered, each
filter counted, and de-duplicated across the training parts)."""

from __future__ import annotations

import logging
import resource
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import datasets
import numpy as np

from data_prep.catalog import get_corpus, pair_langs
from data_prep.clean import LengthLimits, has_bad_ratio, is_empty, is_too_long
from data_prep.fetch import describe_source, fetch
from data_prep.recipes import Take
from data_prep.split import HeldOut, carve, first_occurrences, pair_hashes
from data_prep.tokenizer import TokenizerSpec
from indic_common.errors import DataError
from indic_common.normalize import IndicNormalizer, normalize_en

log = logging.getLogger(__name__)

HASH = "pair_hash"  # a training pair's uint64 hash, for de-duplication; dropped at the end
HASH_BATCH = 10_000  # rows of the hash column read at a time
TRAIN_FEATURES = datasets.Features(
    {
        "indic": datasets.Value("string"),
        "en": datasets.Value("string"),
        "origin": datasets.Value("string"),  # corpus/split, written to train.origin
        "domain": datasets.Value("string"),
        HASH: datasets.Value("uint64"),
    }
)


@dataclass(frozen=True)
class PrepareOptions:
    """Everything `prepare` needs besides the pair; defaults are the toolkit's defaults."""

    mirror: Path | None = None
    cache_dir: Path | None = None
    seed: int = 1
    ascii_digits: bool = True
    limits: LengthLimits = field(default_factory=LengthLimits)
    tokenizer: TokenizerSpec = field(default_factory=TokenizerSpec)
    extra_train: tuple[str, ...] = ()  # more training parts: NAME or NAME/SPLIT
    max_train: int | None = None  # keep at most this many training pairs (for tests)
    # A model bundle (e.g. pretrained/hi-en) whose SentencePiece models are kept instead of
    # training new ones, so that the model can be continued or ensembled with new runs.
    tokenizer_from: Path | None = None


PairTest = Callable[[str, str], bool]  # (indic, en) -> keep the pair


@dataclass
class _TrainPart:
    """One training part between the filtering stages, with its counts so far."""

    take: Take
    pairs: datasets.Dataset
    counts: dict
    source: str  # where it was read from, for messages


class PartBuilder:
    """Builds the parts of one run: fetched, carved, normalised and (training) filtered; holds
    the normalisers and the stats being counted."""

    def __init__(self, pair: str, options: PrepareOptions) -> None:
        self.pair, self.options = pair, options
        self.indic_lang, _ = pair_langs(pair)
        self.norm_indic = IndicNormalizer(self.indic_lang, options.ascii_digits)
        self.stats: dict = {"pair": pair, "seed": options.seed, "train": {}, "dev": {}, "tests": {}}

    def load(self, take: Take) -> datasets.Dataset:
        """Fetch, carve and normalise one part; count segments changed by normalisation."""
        corpus = get_corpus(self.pair, take.corpus)
        ds = fetch(corpus, take.split, self.options.mirror, self.options.cache_dir)
        ds = carve(ds, f"{take.corpus}/{take.split}", self.options.seed, take.skip, take.head)
        self._source = describe_source(corpus, take.split, self.options.mirror)
        if len(ds) == 0:  # the cut takes nothing (a skip past the end): a recipe's sizes
            log.warning("%s: no segments left after the cut", part_name(take))
        changed = [0]

        def normalise(batch: dict) -> dict:
            indic = [self.norm_indic(t) for t in batch["indic"]]
            en = [[normalize_en(r) for r in refs] for refs in batch["en"]]
            changed[0] += sum(a != b for a, b in zip(indic, batch["indic"]))
            changed[0] += sum(
                a != b for refs_a, refs_b in zip(en, batch["en"]) for a, b in zip(refs_a, refs_b)
            )
            return {"indic": indic, "en": en}

        ds = _step(ds, "map", normalise, f"normalising {part_name(take)}", batched=True)
        self._raw, self._changed = len(ds), changed[0]
        return ds

    def held_out_set(self, takes: tuple[Take, ...], role: str) -> tuple[datasets.Dataset, dict]:
        """Build a dev or test set: normalised, unfiltered, references filled to one count.

        Lines with an empty source or no reference at all are dropped; an empty reference
        is replaced by the line's first non-empty one, which leaves BLEU's n-gram maxima
        and closest reference length as if it were absent.
        """
        parts, counts = [], {}
        for take in takes:
            ds = self.load(take)
            kept = _step(
                ds,
                "filter",
                lambda r: bool(r["indic"]) and any(r["en"]),
                f"checking {part_name(take)}",
            )
            counts[part_name(take)] = {
                "raw": self._raw,
                "normalised_changed": self._changed,
                "dropped_empty": self._raw - len(kept),
                "kept": len(kept),
            }
            if self._raw and not len(kept):
                raise DataError(
                    f"{role} part {part_name(take)}: every line has an empty source or no "
                    f"reference, in {self._source}"
                )
            domain = get_corpus(self.pair, take.corpus).domain_of(take.split)
            parts.append(kept.add_column("domain", [domain] * len(kept)))
        ds = datasets.concatenate_datasets(parts)
        if not len(ds):
            raise DataError(f"{role}: no lines in {', '.join(counts)}; check the recipe's cuts")
        n_refs = max(len(refs) for refs in ds["en"])

        def fill(refs: list[str]) -> list[str]:
            first = next(r for r in refs if r)
            filled = [r or first for r in refs]
            return filled + [first] * (n_refs - len(filled))

        return _step(
            ds, "map", lambda r: {"en": fill(r["en"])}, f"filling {role} references"
        ), counts

    def train_parts(self, takes: tuple[Take, ...], held_out: HeldOut) -> list[datasets.Dataset]:
        """Build the training parts in recipe order: pairs exploded per reference, filtered,
        de-duplicated across parts (a pair stays in the first part that holds it), upsampled.

        Each part is filtered by length first; then every part is de-duplicated at once, by
        8-byte hashes (`split.pair_hashes`) read as one array, not a set of seen pairs; then
        dev/test overlap is removed. Every count means what it did when the set of seen pairs
        sat between the two, so stats.json does not change.
        """
        parts = []
        for take in takes:
            parts.append(self._paired(take))
            log_peak(f"{part_name(take)} paired and filtered by length")
        keep = first_occurrences([_hashes(part.pairs) for part in parts])
        log_peak("duplicates found")
        for part, mask in zip(parts, keep):
            before = len(part.pairs)
            # A batched filter, not `select(rows)`, which lists every row index in Python.
            part.pairs = _step(
                part.pairs,
                "filter",
                _rows_in(mask),
                f"dropped_duplicate {part_name(part.take)}",
                with_indices=True,
                batched=True,
                input_columns=[HASH],
            )
            part.counts["dropped_duplicate"] = before - len(part.pairs)
        log_peak("duplicates dropped")
        overlap: tuple[tuple[str, PairTest], ...] = (
            ("dropped_in_dev_or_test", lambda s, t: not held_out.overlaps(s, t)),
            ("dropped_near_duplicate", lambda s, t: not held_out.near_duplicate(s, t)),
        )
        finished = []
        for part in parts:
            self._filter(part, overlap)
            part.counts["kept"] = len(part.pairs)
            pairs = part.pairs.remove_columns(HASH)
            if part.take.weight > 1:
                pairs = datasets.concatenate_datasets([pairs] * part.take.weight)
            part.counts["weight"], part.counts["final"] = part.take.weight, len(pairs)
            self.stats["train"].setdefault("parts", {})[part_name(part.take)] = part.counts
            finished.append(pairs)
        return finished

    def _paired(self, take: Take) -> _TrainPart:
        """Load one training part: pairs exploded per reference, each with its origin, domain
        and hash; without empty, over-long or badly proportioned pairs."""
        ds = self.load(take)
        all_refs = take.all_refs
        corpus = get_corpus(self.pair, take.corpus)
        origin, domain = f"{take.corpus}/{take.split}", corpus.domain_of(take.split)

        def explode(batch: dict) -> dict:
            indic, en = [], []
            for src, refs in zip(batch["indic"], batch["en"]):
                for ref in refs if all_refs else refs[:1]:
                    indic.append(src)
                    en.append(ref)
            n = len(indic)
            return {
                "indic": indic,
                "en": en,
                "origin": [origin] * n,
                "domain": [domain] * n,
                HASH: pair_hashes(indic, en),
            }

        if len(ds):
            pairs = _step(
                ds,
                "map",
                explode,
                f"pairing {part_name(take)}",
                batched=True,
                remove_columns=ds.column_names,
                features=TRAIN_FEATURES,
            )
        else:  # `map` over no rows would return no columns at all
            pairs = datasets.Dataset.from_dict(dict.fromkeys(TRAIN_FEATURES, []), TRAIN_FEATURES)
        counts = {
            "kind": corpus.kind_of(take.split),
            "raw_segments": self._raw,
            "normalised_changed": self._changed,
            "pairs": len(pairs),
        }
        part = _TrainPart(take, pairs, counts, self._source)
        limits = self.options.limits
        self._filter(
            part,
            (
                ("dropped_empty", lambda s, t: not is_empty(s, t)),
                ("dropped_too_long", lambda s, t: not is_too_long(s, t, limits)),
                ("dropped_ratio", lambda s, t: not has_bad_ratio(s, t, limits)),
            ),
        )
        return part

    def _filter(self, part: _TrainPart, steps: tuple[tuple[str, PairTest], ...]) -> None:
        """Keep the pairs that pass each test in turn, counting the drops of each step; raise
        DataError when nothing is left of a part that had pairs."""
        for step, keep in steps:
            before = len(part.pairs)
            part.pairs = _step(
                part.pairs,
                "filter",
                _batched(keep),
                f"{step} {part_name(part.take)}",
                batched=True,
                input_columns=["indic", "en"],
            )
            part.counts[step] = before - len(part.pairs)
        if part.counts["pairs"] and not len(part.pairs):
            counts = part.counts
            dropped = ", ".join(
                f"{step} {n}" for step, n in counts.items() if step.startswith("dropped_") and n
            )
            raise DataError(
                f"training part {part_name(part.take)}: no training pairs left after filtering "
                f"({dropped}) of the {counts['pairs']} read from {part.source}; check the files, "
                "the limits (--max-words, --max-ratio) or the recipe"
            )


def _usable(row: dict) -> bool:
    """A held-out line with a source and at least one reference."""
    return bool(row["indic"]) and any(row["en"])


def _hashes(pairs: datasets.Dataset) -> np.ndarray:
    """The hash column as one uint64 array, shape (N,), read a batch at a time: `datasets`
    reads a whole column through an indices mapping (what `filter` leaves) as one Arrow slice
    per row, gigabytes at millions of pairs."""
    batches = pairs.select_columns(HASH).with_format("arrow").iter(batch_size=HASH_BATCH)
    return np.concatenate([np.zeros(0, np.uint64)] + [b[HASH].to_numpy() for b in batches])


def _rows_in(mask: np.ndarray) -> Callable[[list, list[int]], list[bool]]:
    """A batched `filter` function (a column, the row numbers) keeping the rows `mask` marks."""
    return lambda _, rows: mask[rows].tolist()


def _batched(keep: PairTest) -> Callable[[list[str], list[str]], list[bool]]:
    """A batched `filter` function over the indic and en columns from a test of one pair."""
    return lambda indic, en: [keep(s, t) for s, t in zip(indic, en)]


def _step(
    ds: datasets.Dataset, how: Literal["map", "filter"], fn: Callable, desc: str, **kw
) -> datasets.Dataset:
    """`ds.map` or `ds.filter` as one pipeline step: a fresh fingerprint, so `datasets` neither
    reuses a cached result nor hashes our functions (and the held-out sets they hold) to
    fingerprint them; and one plain log line with its counts, which is all a log file gets
    where the progress bars are off (`python -m data_prep` off a terminal)."""
    fresh = {"load_from_cache_file": False, "new_fingerprint": uuid.uuid4().hex, "desc": desc}
    out = getattr(ds, how)(fn, **fresh, **kw)
    log.info("%s: %d -> %d rows", desc, len(ds), len(out))
    return out


def log_peak(stage: str) -> None:
    """Log the process's peak resident memory so far (with -v): the stage after which it
    rises is the one that holds the memory (benchmarks/scale.py keeps these lines). Beside
    it, the resident memory now in two kinds: anonymous (Python objects, Arrow buffers, the
    tokenizer's tables) and file-backed (pages of memory-mapped Arrow files, which the kernel
    can drop when memory is short)."""
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    now = resident_now()
    kinds = f" (now: anonymous {now['RssAnon']:.0f} MB, file-backed {now['RssFile']:.0f} MB)"
    log.info("%s: peak memory so far %.0f MB%s", stage, peak_mb, kinds if now else "")


def resident_now(pid: int | str = "self") -> dict[str, float]:
    """RssAnon and RssFile of /proc/<pid>/status in MB; {} where there is no such file (or
    no such process), or no memory lines (a process that has exited and not been reaped)."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = dict(line.split(":", 1) for line in lines if line.startswith(("RssAnon", "RssFile")))
    return {k: int(v.split()[0]) / 1024 for k, v in fields.items()}


def part_name(take: Take) -> str:
    """A part's name in stats.json: corpus/split and its cut, e.g. post2012/dev[skip 500]."""
    cut = (f"[skip {take.skip}]" if take.skip else "") + (
        f"[head {take.head}]" if take.head else ""
    )
    return f"{take.corpus}/{take.split}{cut}"
