"""The training pairs as token stores and an index (seq2seq/data/corpus.py), and the token-bucket
sampler: the same pairs as reading the files line by line, and batches that cover every pair."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_config

from indic_common.errors import DataError
from seq2seq.data.batches import TokenBucketSampler, TranslationData, first_batches
from seq2seq.data.prepared import PreparedPair


def _with_synthetic(data_root: Path, tmp_path: Path) -> Path:
    """A copy of the prepared hi-en folder with a hand-made synthetic part of 5 pairs."""
    folder = tmp_path / "data" / "hi-en"
    shutil.copytree(data_root / "hi-en", folder)
    syn = folder / "synthetic"
    syn.mkdir()
    (syn / "hand.hi").write_text("".join(f"वाक्य {i}\n" for i in range(5)), encoding="utf-8")
    (syn / "hand.en").write_text("".join(f"sentence {i}\n" for i in range(5)), encoding="utf-8")
    (syn / "hand.json").write_text(json.dumps({"lines": 5}), encoding="utf-8")
    return folder


def test_pairs_are_the_lines_read_plainly(data_root: Path, tmp_path: Path) -> None:
    """Upsampling, domain tags and a synthetic part repeated twice give, pair for pair, what
    reading the files into lists gives."""
    folder = _with_synthetic(data_root, tmp_path)
    cfg = tiny_config(
        folder.parent,
        tmp_path,
        data={"domain_tags": True, "upsample": {"post2012": 3}, "synthetic": {"hand": 2}},
    )
    data = TranslationData(cfg.data, seed=1)
    data.setup()

    prepared = PreparedPair(folder)
    src, tgt = prepared.read("train", "hi"), prepared.read("train", "en")
    domains, origin = prepared.domains("train"), prepared.read("train", "origin")
    repeat = [3 if o.startswith("post2012/") else 1 for o in origin]
    pairs = [(src[i], tgt[i], domains[i]) for i in range(len(src)) for _ in range(repeat[i])]
    hand = [(f"वाक्य {i}", f"sentence {i}", "backtranslation") for i in range(5)]
    pairs += hand * 2
    vocab = data.src_vocab

    def expected(s: str, t: str, d: str) -> tuple[list[int], list[int]]:
        return [vocab.piece_id(f"<dom:{d}>"), *vocab.encode(s)], data.tgt_vocab.encode(t)

    want = [expected(*p) for p in pairs]
    want = [(s, t) for s, t in want if len(s) <= cfg.data.max_len and len(t) < cfg.data.max_len]
    corpus = data.train_corpus
    got = [(corpus[i][0].tolist(), corpus[i][1].tolist()) for i in range(len(corpus))]
    assert got == want
    assert corpus.src_lens.tolist() == [len(s) for s, _ in want]
    assert corpus.tgt_lens.tolist() == [len(t) + 1 for _, t in want]
    assert data.domains == sorted({d for *_, d in pairs})


def test_sides_of_different_lengths_are_one_line_error(data_root: Path, tmp_path: Path) -> None:
    folder = _with_synthetic(data_root, tmp_path)
    (folder / "synthetic" / "hand.en").write_text("one\n", encoding="utf-8")
    cfg = tiny_config(folder.parent, tmp_path, data={"synthetic": {"hand": 1}})
    with pytest.raises(
        DataError, match=r"hand.hi has 5 lines and .*hand.en 1; make the part again"
    ):
        TranslationData(cfg.data, seed=1).setup()


def _batches(sampler: TokenBucketSampler) -> list[list[int]]:
    return list(iter(sampler))


def test_token_buckets_cover_every_pair_within_the_budget() -> None:
    rng = np.random.default_rng(0)
    src = rng.integers(1, 60, 5000).astype(np.int32)
    tgt = rng.integers(2, 60, 5000).astype(np.int32)
    src[7] = 900  # longer than the budget alone: a batch of its own
    sampler = TokenBucketSampler(src, tgt, batch_tokens=800, seed=3)
    batches = _batches(sampler)
    assert sorted(i for b in batches for i in b) == list(range(5000))
    for b in batches:
        longest = max(max(src[i], tgt[i]) for i in b)
        assert longest * len(b) <= 800 or len(b) == 1
    assert [7] in batches
    assert len(sampler) == len(batches)
    # Batches are full: adding the next pair of the sorted pool would pass the budget.
    assert np.mean([len(b) for b in batches]) > 0.5 * 800 / np.mean(np.maximum(src, tgt))

    again = TokenBucketSampler(src, tgt, batch_tokens=800, seed=3)
    assert _batches(again) == batches
    again.set_epoch(1)
    assert _batches(again) != batches


def test_token_buckets_split_between_ranks() -> None:
    rng = np.random.default_rng(1)
    src, tgt = rng.integers(1, 40, 3001), rng.integers(2, 40, 3001)
    ranks = [TokenBucketSampler(src, tgt, 400, seed=1, rank=r, world_size=2) for r in (0, 1)]
    first, second = (_batches(s) for s in ranks)
    assert len(first) == len(second) > 0
    assert not {i for b in first for i in b} & {i for b in second for i in b}
    whole = _batches(TokenBucketSampler(src, tgt, 400, seed=1))
    assert len(whole) - len(first) - len(second) in (0, 1)


def test_resume_skips_the_batches_done() -> None:
    src = tgt = np.arange(1, 501, dtype=np.int32) % 37 + 1
    sampler = TokenBucketSampler(src, tgt, 200, seed=5)
    sampler.set_epoch(2)
    full = _batches(sampler)
    sampler.resume = (2, 4)
    assert _batches(sampler) == full[4:]
    assert _batches(sampler) == full  # once only


def test_first_batches_are_the_ones_training_starts_with(data_root: Path, tmp_path: Path) -> None:
    """The precision probe's batches (first_batches) are the first ones the training loader
    yields, tensor for tensor."""
    cfg = tiny_config(data_root, tmp_path)
    data = TranslationData(cfg.data, seed=4)
    data.setup()
    probe = first_batches(data.train_corpus, cfg.data.batch_tokens, 4, 3)
    loader = iter(data.train_dataloader())
    assert len(probe) == 3
    for got in probe:
        want = next(loader)
        assert got.num_tokens == want.num_tokens
        for a, b in zip(got[:4], want[:4]):
            assert a.equal(b)
