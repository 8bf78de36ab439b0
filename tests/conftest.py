"""Shared fixtures: a small mirror cut from the real corpora, prepared data, a tiny trained model.

The real corpora live next to the project (`../shared/corpora`, or $INDIC_SEQ2SEQ_MIRROR).
A fixture (made once per test run) copies the first lines of every file into a temporary
mirror, so every test runs the real pipeline on real text in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from data_prep.pipeline import PrepareOptions, prepare
from data_prep.tokenizer import TokenizerSpec
from seq2seq.config import config_from_dict
from seq2seq.train.precision import bf16_unsupported

ROOT = Path(__file__).resolve().parents[1]
CORPORA = Path(os.environ.get("INDIC_SEQ2SEQ_MIRROR", ROOT.parent / "shared" / "corpora"))
# Lines kept per split in the small mirror; the Bible needs enough for its carved dev/test.
CUT = {"train": 600, "dict": 200, "l10n": 200, "challenge": 40}
# The Post et al. training part and HindEnCorp are long sentences: a few keep the tiny model's
# training mix (and its loss curve) close to what the other corpora make it.
CUT_BY_CORPUS = {
    "bible-tamil-ov1957-kjv": 1800,
    "post2012-mturk-wikipedia-train-partial": 120,
    "hindencorp-tides-sample": 120,
}
CUT_DEFAULT = 80
# Tests of bf16 autocast run where oneDNN can run bf16 (not on AVX2-only CPUs, most laptops).
BF16_UNAVAILABLE = bf16_unsupported(torch.device("cpu"))
requires_bf16 = pytest.mark.skipif(BF16_UNAVAILABLE is not None, reason=str(BF16_UNAVAILABLE))


def cut_mirror(src: Path, dst: Path, pairs: tuple[str, ...]) -> Path:
    """Copy the first lines of every corpus file of `pairs` from `src` to `dst`."""
    for pair in pairs:
        for corpus in sorted((src / pair).iterdir()):
            if not corpus.is_dir():
                continue
            out = dst / pair / corpus.name
            out.mkdir(parents=True, exist_ok=True)
            for f in corpus.iterdir():
                if f.suffix == ".md":
                    continue
                split = f.name.split(".")[0]
                n = CUT_BY_CORPUS.get(corpus.name, CUT.get(split, CUT_DEFAULT))
                with f.open(encoding="utf-8") as fin:
                    lines = [line for _, line in zip(range(n), fin)]
                out.joinpath(f.name).write_text("".join(lines), encoding="utf-8")
    return dst


@pytest.fixture(scope="session")
def corpora() -> Path:
    """The full offline mirror of the real corpora."""
    if not (CORPORA / "hi-en").is_dir():
        pytest.fail(
            f"real corpora not found at {CORPORA}: put shared/corpora next to the "
            "project or set INDIC_SEQ2SEQ_MIRROR"
        )
    return CORPORA


@pytest.fixture(scope="session")
def mini_mirror(corpora: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A mirror with the first few hundred lines of every hi-en, ta-en and bn-en file."""
    return cut_mirror(corpora, tmp_path_factory.mktemp("mirror"), ("hi-en", "ta-en", "bn-en"))


def small_options(mirror: Path, cache: Path, **kw) -> PrepareOptions:
    """Pipeline options for the small mirror: a small vocabulary, a test cache folder."""
    return PrepareOptions(
        mirror=mirror,
        cache_dir=cache,
        tokenizer=TokenizerSpec(vocab_size=kw.pop("vocab_size", 600)),
        **kw,
    )


@pytest.fixture(scope="session")
def data_root(mini_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`data/` with hi-en prepared from the small mirror."""
    root = tmp_path_factory.mktemp("data")
    prepare("hi-en", root, small_options(mini_mirror, tmp_path_factory.mktemp("cache")))
    return root


def tiny_config(data_root: Path, work: Path, **sections) -> object:
    """A 64-unit hi->en experiment on the prepared small data; sections override fields."""
    raw = {
        "data": {
            "src_lang": "hi",
            "tgt_lang": "en",
            "root": str(data_root),
            "batch_tokens": 600,
            "max_len": 60,
            "dev_max_sents": 40,
        },
        "model": {"emb_dim": 64, "hidden_dim": 64, "attn_dim": 64, "dropout": 0.1},
        "train": {
            "max_steps": 100,
            "val_every_steps": 50,
            "lr": 0.005,
            "threads": 2,
            "run_dir": str(work / "runs"),
            "output_dir": str(work / "models"),
            "log_every_steps": 10,
            "precision": "32-true",  # `auto` times the machine: tests of it set it
        },
        "decode": {"beam_size": 3, "batch_size": 16},
    }
    for section, fields in sections.items():
        if isinstance(fields, dict):
            raw.setdefault(section, {}).update(fields)
        else:
            raw[section] = fields
    return config_from_dict(raw, "tiny test config")


@pytest.fixture(scope="session")
def tiny_bundle(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hi->en bundle with attention, trained for 100 steps (once per test run)."""
    from seq2seq.train.trainer import train

    work = tmp_path_factory.mktemp("tiny")
    return train(tiny_config(data_root, work))
