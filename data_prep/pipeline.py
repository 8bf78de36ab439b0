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
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

import datasets
from tqdm.auto import tqdm

from data_prep.catalog import get_corpus, pair_langs
from data_prep.parts import PartBuilder, PrepareOptions, log_peak, part_name
from data_prep.recipes import RECIPES, Take, extra_take
from data_prep.split import HeldOut
from data_prep.tokenizer import TokenizerSpec, train_sentencepiece
from indic_common.atomic import atomic_dir, remove_stale
from indic_common.errors import DataError

log = logging.getLogger(__name__)

WRITE_BATCH = 10_000  # training pairs read at a time when writing the files


def _write_lines(path: Path, lines: Iterator[str]) -> int:
    n = 0
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for line in lines:
            f.write(line + "\n")
            n += 1
    return n


def _length_stats(texts: Iterable[str]) -> dict:
    """Words per segment: mean, median, 95th percentile and maximum ({} for no segments)."""
    return _histogram_stats(Counter(len(t.split()) for t in texts))


def _histogram_stats(histogram: Counter[int]) -> dict:
    """`_length_stats` from a histogram {words: segments}, so a corpus is counted, not held.

    Over the sorted word counts w[0..n-1]: median w[n // 2], p95 w[int(0.95 * (n - 1))].
    """
    n = histogram.total()
    if not n:
        return {}
    values = sorted(histogram)

    def nth(i: int) -> int:  # w[i]
        for value in values:
            i -= histogram[value]
            if i < 0:
                return value
        raise IndexError(i)

    return {
        # An exact integer sum, divided once: what statistics.fmean gives on the list.
        "mean_words": round(sum(v * c for v, c in histogram.items()) / n, 2),
        "median_words": nth(n // 2),
        "p95_words": nth(int(0.95 * (n - 1))),
        "max_words": values[-1],
    }


def _write_train(
    folder: Path, train: datasets.Dataset, indic_lang: str, en_lang: str
) -> tuple[dict, list[str]]:
    """Write train.<xx>, train.en, train.origin and train.domain in one pass over batches;
    return the stats (pairs, words per side) and the sorted domains."""
    files = {
        "indic": f"train.{indic_lang}",
        "en": f"train.{en_lang}",
        "origin": "train.origin",
        "domain": "train.domain",
    }
    words: dict[str, Counter[int]] = {"indic": Counter(), "en": Counter()}
    domains: set[str] = set()
    with ExitStack() as stack:
        out = {
            column: stack.enter_context((folder / name).open("w", encoding="utf-8", newline="\n"))
            for column, name in files.items()
        }
        progress = stack.enter_context(
            tqdm(
                total=len(train),
                desc="writing train",
                unit="lines",
                disable=not datasets.is_progress_bar_enabled(),  # as the steps' bars
            )
        )
        for batch in train.iter(batch_size=WRITE_BATCH):
            for column, f in out.items():
                f.writelines(line + "\n" for line in batch[column])
            for side, counter in words.items():
                counter.update(len(t.split()) for t in batch[side])
            domains.update(batch["domain"])
            progress.update(len(batch["indic"]))
    stats = {
        "pairs": len(train),
        indic_lang: _histogram_stats(words["indic"]),
        en_lang: _histogram_stats(words["en"]),
    }
    return stats, sorted(domains)


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
        log_peak("dev and test sets")
        train = datasets.concatenate_datasets(prep.train_parts(train_takes, held_out))
        log_peak("training parts fetched, cleaned and filtered")
        if options.max_train is not None and len(train) > options.max_train:
            train = train.shuffle(seed=options.seed).select(range(options.max_train))
        if len(train) == 0:
            raise DataError(
                f"{pair}: no training pairs left after filtering (see the counts "
                "per step with --verbose); check the corpus files or the limits"
            )
        train_stats, domains = _write_train(tmp, train, indic_lang, en_lang)
        log_peak("training files written")
        prep.stats["train"].update(train_stats)
        prep.stats["dev"].update(_write_held_out(tmp, "dev", dev, indic_lang))
        for name, ds in devs.items():
            prep.stats["dev"][name] = _write_held_out(tmp, f"dev-{name}", ds, indic_lang)
        for name, ds in tests.items():
            prep.stats["tests"][name].update(_write_held_out(tmp, f"test-{name}", ds, indic_lang))
        if options.tokenizer_from is not None:
            models = _copy_tokenizers(tmp, options.tokenizer_from, indic_lang, en_lang)
        else:
            models = _train_tokenizers(tmp, indic_lang, en_lang, options.tokenizer)
            log_peak("SentencePiece trained")
        meta = {
            "pair": pair,
            "langs": [indic_lang, en_lang],
            "tokenizer": models,
            "tokenizer_spec": (
                {"from": str(options.tokenizer_from)}
                if options.tokenizer_from is not None
                else asdict(options.tokenizer)
            ),
            "domains": domains,
            "dev": {"en_refs": prep.stats["dev"]["en_refs"]},
            "devs": {
                name: {"en_refs": prep.stats["dev"][name]["en_refs"], "lines": len(ds)}
                for name, ds in devs.items()
            },
            "tests": {
                name: {"en_refs": s["en_refs"], "lines": s["lines"]}
                for name, s in prep.stats["tests"].items()
            },
            "corpora": training_corpora(pair, train_takes),
        }
        (tmp / "meta.json").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (tmp / "stats.json").write_text(
            json.dumps(prep.stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    log.info("prepared %s: %d training pairs", final, prep.stats["train"]["pairs"])
    return final


def training_corpora(pair: str, takes: Iterable[Take]) -> dict[str, dict]:
    """What a model trained on the pair learns from: each training corpus's description,
    licence and parts (a model card names them, seq2seq/evaluate/store.py)."""
    corpora: dict[str, dict] = {}
    for take in takes:
        corpus = get_corpus(pair, take.corpus)
        entry = corpora.setdefault(
            corpus.name,
            {"description": corpus.description, "licence": corpus.licence, "parts": []},
        )
        entry["parts"].append(part_name(take))
    return corpora


def _held_out_segments(sets: list[datasets.Dataset]) -> Iterator[str]:
    for ds in sets:
        yield from ds["indic"]
        for refs in ds["en"]:
            yield from refs


def _copy_tokenizers(folder: Path, bundle: Path, indic_lang: str, en_lang: str) -> dict[str, str]:
    """The SentencePiece models of a model bundle (its src.spm.model and tgt.spm.model),
    pinned: written as this folder's tokenizers instead of training new ones."""
    meta_path = bundle / "metadata.json"
    if not meta_path.is_file():
        raise DataError(
            f"{bundle}: not a model bundle (no metadata.json); --tokenizer-from takes a folder "
            "such as pretrained/hi-en or models/hi-en"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    langs = {meta.get("src_lang"): "src", meta.get("tgt_lang"): "tgt"}
    if set(langs) != {indic_lang, en_lang}:
        raise DataError(
            f"{bundle}: translates {meta.get('src_lang')}->{meta.get('tgt_lang')}, not a "
            f"direction of {indic_lang}-{en_lang}; take a bundle of this pair"
        )
    protos = {lang: (bundle / f"{side}.spm.model").read_bytes() for lang, side in langs.items()}
    if protos[indic_lang] == protos[en_lang]:  # one joint model
        (folder / "spm.model").write_bytes(protos[indic_lang])
        return {indic_lang: "spm.model", en_lang: "spm.model"}
    for lang, proto in protos.items():
        (folder / f"spm.{lang}.model").write_bytes(proto)
    return {lang: f"spm.{lang}.model" for lang in (indic_lang, en_lang)}


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
