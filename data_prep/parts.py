"""The parts of a prepared pair: each Take of the recipe fetched, carved and normalised, then
made a dev/test part (unfiltered) or a training part (paired per reference and filtered, each
filter counted)."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import datasets

from data_prep.catalog import get_corpus, pair_langs
from data_prep.clean import LengthLimits, has_bad_ratio, is_empty, is_too_long
from data_prep.fetch import describe_source, fetch
from data_prep.recipes import Take
from data_prep.split import Deduplicator, HeldOut, carve
from data_prep.tokenizer import TokenizerSpec
from indic_common.errors import DataError
from indic_common.normalize import IndicNormalizer, normalize_en

log = logging.getLogger(__name__)

TRAIN_FEATURES = datasets.Features(
    {"indic": datasets.Value("string"), "en": datasets.Value("string")}
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

        ds = ds.map(normalise, batched=True, **_uncached(f"normalising {part_name(take)}"))
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
            kept = ds.filter(
                lambda r: bool(r["indic"]) and any(r["en"]),
                **_uncached(f"checking {part_name(take)}"),
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

        return ds.map(
            lambda r: {"en": fill(r["en"])}, **_uncached(f"filling {role} references")
        ), counts

    def train_part(self, take: Take, dedup: Deduplicator, held_out: HeldOut) -> datasets.Dataset:
        """Build one training part: pairs exploded per reference, filtered, de-duplicated."""
        ds = self.load(take)
        all_refs = take.all_refs

        def explode(batch: dict) -> dict:
            indic, en = [], []
            for src, refs in zip(batch["indic"], batch["en"]):
                for ref in refs if all_refs else refs[:1]:
                    indic.append(src)
                    en.append(ref)
            return {"indic": indic, "en": en}

        name = part_name(take)
        pairs = ds.map(
            explode,
            batched=True,
            remove_columns=ds.column_names,
            features=TRAIN_FEATURES,
            **_uncached(f"pairing {name}"),
        )
        counts = {
            "kind": get_corpus(self.pair, take.corpus).kind_of(take.split),
            "raw_segments": self._raw,
            "normalised_changed": self._changed,
            "pairs": len(pairs),
        }
        limits = self.options.limits
        steps = (
            ("dropped_empty", lambda r: not is_empty(r["indic"], r["en"])),
            ("dropped_too_long", lambda r: not is_too_long(r["indic"], r["en"], limits)),
            ("dropped_ratio", lambda r: not has_bad_ratio(r["indic"], r["en"], limits)),
            ("dropped_duplicate", lambda r: dedup.is_new(r["indic"], r["en"])),
            ("dropped_in_dev_or_test", lambda r: not held_out.overlaps(r["indic"], r["en"])),
            ("dropped_near_duplicate", lambda r: not held_out.near_duplicate(r["indic"], r["en"])),
        )
        for step, keep in steps:
            before = len(pairs)
            pairs = pairs.filter(keep, **_uncached(f"{step} {name}"))
            counts[step] = before - len(pairs)
        counts["kept"] = len(pairs)
        if counts["pairs"] and not counts["kept"]:
            dropped = ", ".join(f"{step} {counts[step]}" for step, _ in steps if counts[step])
            raise DataError(
                f"training part {name}: no training pairs left after filtering ({dropped}) of "
                f"the {counts['pairs']} read from {self._source}; check the files, the limits "
                "(--max-words, --max-ratio) or the recipe"
            )
        pairs = pairs.add_column("origin", [f"{take.corpus}/{take.split}"] * len(pairs))
        domain = get_corpus(self.pair, take.corpus).domain_of(take.split)
        pairs = pairs.add_column("domain", [domain] * len(pairs))
        if take.weight > 1:
            pairs = datasets.concatenate_datasets([pairs] * take.weight)
        counts["weight"], counts["final"] = take.weight, len(pairs)
        self.stats["train"].setdefault("parts", {})[name] = counts
        return pairs


def _uncached(desc: str) -> dict:
    """map/filter arguments: a fresh fingerprint, so `datasets` neither reuses a cached result
    nor hashes our functions (and the de-duplication set they hold) to fingerprint them."""
    return {"load_from_cache_file": False, "new_fingerprint": uuid.uuid4().hex, "desc": desc}


def part_name(take: Take) -> str:
    """A part's name in stats.json: corpus/split and its cut, e.g. post2012/dev[skip 500]."""
    cut = (f"[skip {take.skip}]" if take.skip else "") + (
        f"[head {take.head}]" if take.head else ""
    )
    return f"{take.corpus}/{take.split}{cut}"
