"""`python -m data_prep multi`: one prepared folder for a multilingual model, `data/multi/`.

    data/multi/
      hi-en/ bn-en/ ta-en/   each pair's files as `python -m data_prep PAIR` writes them (its
                             training pairs filtered once more, below); its meta.json points
                             to the joint tokenizer
      spm.model              one joint SentencePiece model over every language's training text
      meta.json              the pairs, the languages, the tokenizer, each pair's held-out sets
      stats.json             per pair: training pairs kept, and dropped for overlapping another
                             pair's dev or test sets

With `unify_script="hi"` (`--unify-script`), every Bengali and Tamil file (training, dev and
test sources) is written in Devanagari letters and the joint tokenizer is trained on them, so
related words share pieces; meta.json's `unified_script` names the languages, and the model's
translator writes their input the same way. Only for models that read these languages.

Built from the per-pair folders, prepared first where missing. The pairs share their English
side, so a training pair of one pair that equals, or shares an 8-gram of words with, a dev or
test segment of *another* pair is dropped: a model trained on hi-en English would otherwise
have seen a bn-en test reference.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

from data_prep.mono import held_out_of
from data_prep.parts import PrepareOptions
from data_prep.pipeline import prepare
from data_prep.tokenizer import train_sentencepiece
from indic_common.atomic import atomic_dir
from indic_common.errors import DataError
from indic_common.languages import PAIRS
from indic_common.script import to_script
from indic_common.textfile import iter_lines

log = logging.getLogger(__name__)

MULTI = "multi"
MULTI_PAIRS = PAIRS  # every pair, in indic_common.languages' order
MULTI_VOCAB = 16000  # four languages, three scripts: twice a bilingual pair's 8,000 pieces
_TRAIN_FILES = ("origin", "domain")  # besides the two languages


def prepare_multi(
    out_root: Path,
    options: PrepareOptions,
    pairs: tuple[str, ...] = MULTI_PAIRS,
    unify_script: str | None = None,
) -> Path:
    """Write `out_root/multi/` atomically from the per-pair folders; returns the folder.
    `unify_script` ("hi"): the other Indic languages written in its script."""
    metas = {}
    for pair in pairs:
        if not (out_root / pair / "meta.json").is_file():
            log.info("preparing %s first", pair)
            prepare(pair, out_root, options)
        if not (out_root / pair / "train.domain").is_file():
            raise DataError(
                f"{out_root / pair}: prepared before domain tags (train.domain missing); run "
                f"`make data PAIR={pair}` again, then `make data PAIR={MULTI}`"
            )
        metas[pair] = json.loads((out_root / pair / "meta.json").read_text(encoding="utf-8"))
    held_out = {pair: held_out_of(out_root / pair, metas[pair]) for pair in pairs}
    final = out_root / MULTI
    indics = [pair.split("-")[0] for pair in pairs]
    unified = {lang: unify_script for lang in indics if unify_script not in (None, lang)}
    stats: dict = {"pairs": {}}
    with atomic_dir(final) as tmp:
        for pair, indic in zip(pairs, indics):
            src, dst = out_root / pair, tmp / pair
            dst.mkdir()
            script = unified.get(indic)
            for path in src.iterdir():
                if path.is_file() and not path.name.startswith(("train.", "spm.")):
                    if path.suffix == f".{indic}" and script:
                        _write_in_script(path, dst / path.name, indic, script)
                    elif path.name not in ("meta.json", "stats.json"):
                        shutil.copy2(path, dst / path.name)
            # Each pair's folder stays a prepared pair of its own, reading the joint tokenizer.
            pair_meta = dict(metas[pair], tokenizer=dict.fromkeys(pair.split("-"), "../spm.model"))
            if unified:
                pair_meta["unified_script"] = unified
            (dst / "meta.json").write_text(json.dumps(pair_meta, indent=2) + "\n", encoding="utf-8")
            others = [held_out[p] for p in pairs if p != pair]
            stats["pairs"][pair] = _filter_train(src, dst, indic, others, script)
        models = train_sentencepiece(
            _all_training_text(tmp, pairs), tmp / "spm", options.tokenizer
        ).name
        langs = sorted({lang for pair in pairs for lang in pair.split("-")})
        meta = {
            "pair": MULTI,
            "pairs": list(pairs),
            "langs": langs,
            "tokenizer": dict.fromkeys(langs, models),
            "tokenizer_spec": asdict(options.tokenizer),
            **({"unified_script": unified} if unified else {}),
            "domains": sorted({d for m in metas.values() for d in m.get("domains", [])}),
            "per_pair": {
                pair: {k: metas[pair][k] for k in ("dev", "devs", "tests") if k in metas[pair]}
                for pair in pairs
            },
            "corpora": {
                f"{pair}/{name}": corpus
                for pair in pairs
                for name, corpus in metas[pair].get("corpora", {}).items()
            },
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    log.info("prepared %s: %s", final, stats["pairs"])
    return final


def _write_in_script(src: Path, dst: Path, lang: str, script: str) -> None:
    with dst.open("w", encoding="utf-8") as f:
        for line in iter_lines(src):
            f.write(to_script(line, lang, script) + "\n")


def _filter_train(
    src: Path, dst: Path, indic: str, others: list, script: str | None = None
) -> dict:
    """Copy a pair's training files, without the pairs that overlap another pair's held-out
    segments (the Indic side written in `script`'s letters if given); returns the counts."""
    names = (indic, "en", *_TRAIN_FILES)
    streams = [iter_lines(src / f"train.{name}") for name in names]
    outs = [(dst / f"train.{name}").open("w", encoding="utf-8") for name in names]
    counts = {"read": 0, "kept": 0, "dropped_in_other_dev_or_test": 0, "dropped_near_other": 0}
    try:
        for row in zip(*streams, strict=True):
            counts["read"] += 1
            indic_text, en_text = row[0], row[1]
            if any(h.overlaps(indic_text, en_text) for h in others):
                counts["dropped_in_other_dev_or_test"] += 1
            elif any(h.near_duplicate(indic_text, en_text) for h in others):
                counts["dropped_near_other"] += 1
            else:
                counts["kept"] += 1
                if script:
                    row = (to_script(indic_text, indic, script), *row[1:])
                for f, text in zip(outs, row):
                    f.write(text + "\n")
    except ValueError:
        raise DataError(
            f"{src}: its train.* files differ in length; run `make data PAIR={src.name}` again"
        ) from None
    finally:
        for f in outs:
            f.close()
    if counts["kept"] == 0:
        raise DataError(f"{src}: no training pair left after the cross-pair filter")
    return counts


def _all_training_text(folder: Path, pairs: tuple[str, ...]) -> Iterator[str]:
    for pair in pairs:
        for lang in pair.split("-"):
            yield from iter_lines(folder / pair / f"train.{lang}")
