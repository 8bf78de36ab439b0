"""prepare(pair, ...): fetch, clean, split and tokenise a pair into `data/<pair>/`, atomically.

The folder serves both directions (hi->en and en->hi) and holds:
    train.<xx> train.en                   training pairs (cleaned, de-duplicated, upsampled)
    train.origin                          corpus/split of each training pair, e.g. post2012/dev
    train.domain, <set>.domain            each line's domain (wikipedia, captions, ...)
    dev.<xx> dev.en [dev.en.1 ..]         the dev set; extra English references numbered
    test-<name>.<xx> test-<name>.en [..]  one test set per name, e.g. test-post2012
    spm.model (joint) or spm.<lang>.model SentencePiece models
    meta.json                             pair, files, tokenizer models, reference counts
    stats.json                            counts per cleaning step, length statistics
"""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import datasets
from tqdm.auto import tqdm

from data_prep.catalog import get_corpus, pair_langs
from data_prep.parts import PartBuilder, PrepareOptions
from data_prep.recipes import RECIPES, extra_take
from data_prep.split import Deduplicator, HeldOut
from data_prep.tokenizer import TokenizerSpec, train_sentencepiece
from indic_common.atomic import atomic_dir, remove_stale
from indic_common.errors import DataError

log = logging.getLogger(__name__)


def _write_lines(path: Path, lines: Iterator[str]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
            n += 1
    return n


def _length_stats(texts: list[str]) -> dict:
    words = sorted(len(t.split()) for t in texts)
    if not words:
        return {}
    return {
        "mean_words": round(statistics.fmean(words), 2),
        "median_words": words[len(words) // 2],
        "p95_words": words[int(0.95 * (len(words) - 1))],
        "max_words": words[-1],
    }


def _write_held_out(folder: Path, name: str, ds: datasets.Dataset, indic_lang: str) -> dict:
    _write_lines(folder / f"{name}.{indic_lang}", iter(ds["indic"]))
    _write_lines(folder / f"{name}.doc", iter(ds["group"]))  # per-document scores
    _write_lines(folder / f"{name}.domain", iter(ds["domain"]))  # per-line domain tags
    refs = ds["en"]
    n_refs = len(refs[0])
    for k in range(n_refs):
        suffix = "en" if k == 0 else f"en.{k}"
        _write_lines(folder / f"{name}.{suffix}", (r[k] for r in refs))
    return {
        "lines": len(ds),
        "en_refs": n_refs,
        indic_lang: _length_stats(ds["indic"]),
        "en": _length_stats([r[0] for r in refs]),
    }


def prepare(pair: str, out_root: Path, options: PrepareOptions | None = None) -> Path:
    """Prepare `out_root/<pair>/`; nothing appears there until every file is written."""
    options = options or PrepareOptions()
    indic_lang, en_lang = pair_langs(pair)
    recipe = RECIPES[pair]
    if options.mirror is not None and not options.mirror.is_dir():
        raise DataError(
            f"mirror folder {options.mirror} does not exist: pass --mirror with the "
            "folder holding <pair>/<corpus>/ text files, or leave it out to download"
        )
    train_takes = recipe.train + tuple(extra_take(pair, x, recipe) for x in options.extra_train)
    for take in train_takes + recipe.dev + tuple(recipe.tests.values()):
        get_corpus(pair, take.corpus)  # unknown names fail before any work
    prep = PartBuilder(pair, options)
    for stale in remove_stale(out_root):
        log.info("removed %s, left behind by a killed run", stale)
    final = out_root / pair
    with atomic_dir(final) as tmp:
        dev, prep.stats["dev"]["parts"] = prep.held_out_set(recipe.dev, "dev")
        # Each dev part on its own too: the Wikipedia dev (dev-post2012) selects the models
        # of that domain, and the caption dev is reported apart (data.dev_set).
        devs = {t.corpus: prep.held_out_set((t,), f"dev-{t.corpus}")[0] for t in recipe.dev}
        tests = {}
        for name, take in recipe.tests.items():
            tests[name], prep.stats["tests"][name] = prep.held_out_set((take,), f"test-{name}")
            prep.stats["tests"][name] = {"parts": prep.stats["tests"][name]}
        held_out = HeldOut(_held_out_segments([dev, *tests.values()]))
        dedup = Deduplicator()
        train = datasets.concatenate_datasets(
            [prep.train_part(take, dedup, held_out) for take in train_takes]
        )
        if options.max_train is not None and len(train) > options.max_train:
            train = train.shuffle(seed=options.seed).select(range(options.max_train))
        if len(train) == 0:
            raise DataError(
                f"{pair}: no training pairs left after filtering (see the counts "
                "per step with --verbose); check the corpus files or the limits"
            )
        n = _write_lines(
            tmp / f"train.{indic_lang}",
            tqdm((r["indic"] for r in train), total=len(train), desc="writing train", unit="lines"),
        )
        _write_lines(tmp / f"train.{en_lang}", (r["en"] for r in train))
        _write_lines(tmp / "train.origin", iter(train["origin"]))
        _write_lines(tmp / "train.domain", iter(train["domain"]))
        prep.stats["train"].update(
            {
                "pairs": n,
                indic_lang: _length_stats(train["indic"]),
                en_lang: _length_stats(train["en"]),
            }
        )
        prep.stats["dev"].update(_write_held_out(tmp, "dev", dev, indic_lang))
        for name, ds in devs.items():
            prep.stats["dev"][name] = _write_held_out(tmp, f"dev-{name}", ds, indic_lang)
        for name, ds in tests.items():
            prep.stats["tests"][name].update(_write_held_out(tmp, f"test-{name}", ds, indic_lang))
        models = _train_tokenizers(tmp, indic_lang, en_lang, options.tokenizer)
        meta = {
            "pair": pair,
            "langs": [indic_lang, en_lang],
            "tokenizer": models,
            "tokenizer_spec": asdict(options.tokenizer),
            "domains": sorted(set(train["domain"])),
            "dev": {"en_refs": prep.stats["dev"]["en_refs"]},
            "devs": {
                name: {"en_refs": prep.stats["dev"][name]["en_refs"], "lines": len(ds)}
                for name, ds in devs.items()
            },
            "tests": {
                name: {"en_refs": s["en_refs"], "lines": s["lines"]}
                for name, s in prep.stats["tests"].items()
            },
        }
        (tmp / "meta.json").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (tmp / "stats.json").write_text(
            json.dumps(prep.stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    log.info("prepared %s: %d training pairs", final, prep.stats["train"]["pairs"])
    return final


def _held_out_segments(sets: list[datasets.Dataset]) -> Iterator[str]:
    for ds in sets:
        yield from ds["indic"]
        for refs in ds["en"]:
            yield from refs


def _train_tokenizers(
    folder: Path, indic_lang: str, en_lang: str, spec: TokenizerSpec
) -> dict[str, str]:
    """Train on the training split only; return the model file of each language."""

    def read(lang: str) -> Iterator[str]:
        with (folder / f"train.{lang}").open(encoding="utf-8") as f:
            yield from (line.rstrip("\n") for line in f)

    if spec.joint:

        def both() -> Iterator[str]:
            yield from read(indic_lang)
            yield from read(en_lang)

        model = train_sentencepiece(both(), folder / "spm", spec).name
        return {indic_lang: model, en_lang: model}
    return {
        lang: train_sentencepiece(read(lang), folder / f"spm.{lang}", spec).name
        for lang in (indic_lang, en_lang)
    }
