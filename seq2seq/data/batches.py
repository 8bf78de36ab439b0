"""Parallel data for training: token-bucket batch sampler, collate, the DataModule (the training
pairs themselves: corpus.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Sampler

from indic_common.errors import DataError
from indic_common.special import BOS_ID, EOS_ID, PAD_ID, domain_tag
from seq2seq.config import DataConfig
from seq2seq.data.corpus import EncodedCorpus, TrainingPlan
from seq2seq.data.prepared import PreparedPair

log = logging.getLogger(__name__)


class Batch(NamedTuple):
    """A padded batch; `tgt_in` starts with BOS, `tgt_out` ends with EOS."""

    src_ids: Tensor  # (B, S)
    src_lens: Tensor  # (B,)
    tgt_in: Tensor  # (B, T)
    tgt_out: Tensor  # (B, T)
    num_tokens: int  # real target tokens (EOS included)

    @property
    def num_seqs(self) -> int:
        """Sentences in the batch."""
        return self.src_ids.size(0)


def collate(items: list[tuple[np.ndarray, np.ndarray]]) -> Batch:
    """Pad a list of (src ids, tgt ids) into a Batch."""
    b = len(items)
    s = max(len(src) for src, _ in items)
    t = max(len(tgt) for _, tgt in items) + 1
    src_ids = torch.full((b, s), PAD_ID, dtype=torch.long)
    tgt_in = torch.full((b, t), PAD_ID, dtype=torch.long)
    tgt_out = torch.full((b, t), PAD_ID, dtype=torch.long)
    for i, (src, tgt) in enumerate(items):
        src_ids[i, : len(src)] = torch.from_numpy(src.astype(np.int64))
        tgt_t = torch.from_numpy(tgt.astype(np.int64))
        tgt_in[i, 0] = BOS_ID
        tgt_in[i, 1 : len(tgt) + 1] = tgt_t
        tgt_out[i, : len(tgt)] = tgt_t
        tgt_out[i, len(tgt)] = EOS_ID
    src_lens = torch.tensor([len(src) for src, _ in items], dtype=torch.long)
    return Batch(src_ids, src_lens, tgt_in, tgt_out, int((tgt_out != PAD_ID).sum()))


def first_batches(corpus: EncodedCorpus, batch_tokens: int, seed: int, n: int) -> list[Batch]:
    """The first `n` batches of a run's first epoch, as training draws them (the precision
    probe and benchmarks time or compare steps on them)."""
    sampler = TokenBucketSampler(corpus.src_lens, corpus.tgt_lens, batch_tokens, seed)
    return [collate([corpus[i] for i in idx]) for idx in islice(iter(sampler), n)]


class TokenBucketSampler(Sampler[list[int]]):
    """Batches of similar-length pairs holding about `batch_tokens` padded target tokens.

    Each epoch: a seeded shuffle, then pools of ~100 batches sorted by length and cut into
    batches, then the batches shuffled; numpy throughout (a 4M-pair epoch is planned in
    about a second, with 8 bytes a pair). Same seed and epoch -> same batches. Under DDP every
    rank takes every `world_size`-th batch of the same list, and all ranks get equal counts.
    `resume = (epoch, n)` drops the first n batches of that epoch, to resume a run exactly.
    """

    def __init__(
        self,
        src_lens: np.ndarray,
        tgt_lens: np.ndarray,
        batch_tokens: int,
        seed: int,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.src_lens, self.tgt_lens = src_lens, tgt_lens
        self.batch_tokens, self.seed, self.shuffle = batch_tokens, seed, shuffle
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.resume: tuple[int, int] | None = None
        self._memo: tuple[int, list[np.ndarray]] | None = None  # (epoch, its batches)

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of each epoch."""
        self.epoch = epoch

    def _batches(self) -> list[np.ndarray]:
        if self._memo is not None and self._memo[0] == self.epoch:
            return self._memo[1]
        rng = np.random.default_rng([self.seed, self.epoch])
        n = len(self.tgt_lens)
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        pool = max(1, 100 * self.batch_tokens // max(1, int(np.mean(self.tgt_lens))))
        longest = np.maximum(self.src_lens, self.tgt_lens).astype(np.int64)
        batches: list[np.ndarray] = []
        for start in range(0, n, pool):
            chunk = order[start : start + pool]
            chunk = chunk[np.lexsort((self.src_lens[chunk], self.tgt_lens[chunk]))]
            batches += _cut(chunk, longest[chunk], self.batch_tokens)
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        per_rank = len(batches) // self.world_size if self.world_size > 1 else len(batches)
        result = batches[self.rank :: self.world_size][:per_rank]
        self._memo = (self.epoch, result)
        return result

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        skip = 0
        if self.resume is not None and self.resume[0] == self.epoch:
            skip = self.resume[1]
        self.resume = None
        for batch in batches[skip:]:
            yield batch.tolist()

    def __len__(self) -> int:
        return len(self._batches())


def _cut(order: np.ndarray, longest: np.ndarray, budget: int) -> list[np.ndarray]:
    """Cut pairs sorted by length into batches, in order: a batch takes the next pair while
    (its longest side) x (its pairs) stays within `budget`; a pair over it alone is a batch."""
    batches = []
    start = 0
    while start < len(order):
        # At most budget // (first pair's length) pairs fit: lengths only grow from there.
        window = longest[start : start + budget // max(1, int(longest[start])) + 1]
        size = np.maximum.accumulate(window) * np.arange(1, len(window) + 1)
        over = size > budget
        k = max(1, int(np.argmax(over))) if over.any() else len(window)
        batches.append(order[start : start + k])
        start += k
    return batches


class TranslationData(pl.LightningDataModule):
    """Training and dev data of one direction, read from `data/<pair>/`."""

    def __init__(self, cfg: DataConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed
        self.prepared = PreparedPair(Path(cfg.root) / cfg.folder())
        self.src_vocab = self.prepared.vocab(cfg.src_lang)
        self.tgt_vocab = self.prepared.vocab(cfg.tgt_lang)
        self.train_corpus: EncodedCorpus | None = None
        self._plan: TrainingPlan | None = None
        self.sampler: TokenBucketSampler | None = None
        self.resume: tuple[int, int] | None = None  # (epoch, batches done), set on resume
        self.domains: list[str] = []  # with data.domain_tags: the training lines' domains
        self.dev_domain: str | None = None  # ... and the dev set's (most lines)
        self.direction_lines: dict[str, int] = {}  # a multilingual model: lines per epoch
        # Languages whose prepared text is written in another's script (data_prep --unify-script)
        self.unified_script: dict[str, str] = self.prepared.meta.get("unified_script", {})
        into = [lang for lang in cfg.targets if lang in self.unified_script]
        if into:  # the way back into Bengali or Tamil letters is not one to one
            raise DataError(
                f"{self.prepared.root}: its {', '.join(into)} text is written in another "
                f"script's letters (data_prep --unify-script), so a model cannot translate into "
                f"{', '.join(into)} from it; prepare the data without --unify-script"
            )

    def setup(self, stage: str | None = None) -> None:
        """Encode the training split (once) and the dev sources, of every direction."""
        if self.train_corpus is not None:
            return
        c = self.cfg
        self._plan = TrainingPlan(c, self.seed, self._prefix)
        if c.pairs:
            self.direction_lines = self._plan.direction_lines
            log.info(
                "lines per epoch after temperature %g: %s", c.temperature, self.direction_lines
            )
        if c.domain_tags:
            self.domains = self._plan.domains
        self.train_corpus = self._plan.encode(self.src_vocab, self.tgt_vocab, c.max_len)
        if len(self.train_corpus) == 0:
            raise DataError(
                f"{self.prepared.root}: no training pairs within data.max_len={c.max_len} pieces"
            )
        self.dev_src_ids, self.dev_tgt_ids = [], []
        refs: list[list[str]] = []
        dev_domains: list[str] = []
        for direction in c.directions:
            src_lang, tgt_lang = direction.split("-")
            prepared = PreparedPair(Path(c.root) / c.folder(direction))
            dev_src = prepared.read(c.dev_set, src_lang)[: c.dev_max_sents]
            dev_refs = [r[: c.dev_max_sents] for r in prepared.references(c.dev_set, tgt_lang)]
            domains = prepared.domains(c.dev_set)[: c.dev_max_sents] if c.domain_tags else []
            dev_domains += domains
            prefix = [
                self._prefix(tgt_lang, d, c.dev_set) for d in domains or [None] * len(dev_src)
            ]
            ids = self.src_vocab.encode_batch(dev_src)
            self.dev_src_ids += [[*p, *i] for p, i in zip(prefix, ids)]
            self.dev_tgt_ids += self.tgt_vocab.encode_batch(dev_refs[0])
            refs = _join_references(refs, dev_refs)
        self.dev_refs = refs
        if dev_domains:
            self.dev_domain = max(set(dev_domains), key=dev_domains.count)

    def _prefix(self, tgt_lang: str, domain: str | None, name: str) -> tuple[int, ...]:
        """The ids before a source: the target language's tag (a multilingual model), then
        the domain's tag (data.domain_tags); a tokenizer without them is an error."""
        pieces = ([f"<2{tgt_lang}>"] if self.cfg.pairs else []) + (
            [domain_tag(domain)] if domain is not None else []
        )
        ids = tuple(self.src_vocab.piece_id(p) for p in pieces)
        if None in ids:
            missing = pieces[ids.index(None)]
            raise DataError(
                f"{self.prepared.root}: its tokenizer has no piece {missing} ({name}); run "
                f"`make data PAIR={self.cfg.pair}` again"
            )
        return ids  # type: ignore[return-value]

    def train_dataloader(self) -> DataLoader:
        """Token-bucket batches over the training pairs (sharded by rank under DDP)."""
        assert self.train_corpus is not None
        if self.cfg.sample_alpha:  # Lightning asks for a new loader every epoch
            epoch = self.trainer.current_epoch if self.trainer else 0
            self.train_corpus = self._plan.encode(
                self.src_vocab,
                self.tgt_vocab,
                self.cfg.max_len,
                self.cfg.sample_alpha,
                seed=self.seed * 100_003 + 2 * epoch,
            )
        rank, world = (
            (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        )
        self.sampler = TokenBucketSampler(
            self.train_corpus.src_lens,
            self.train_corpus.tgt_lens,
            self.cfg.batch_tokens,
            self.seed,
            rank=rank,
            world_size=world,
        )
        self.sampler.resume, self.resume = self.resume, None
        return DataLoader(
            self.train_corpus,
            batch_sampler=self.sampler,
            collate_fn=collate,
            num_workers=self.cfg.num_workers,
        )

    def val_dataloader(self) -> DataLoader:
        """Dev pairs in fixed batches: (sentence indices, Batch against the first reference)."""
        return DataLoader(
            list(range(len(self.dev_src_ids))), batch_size=64, collate_fn=self._dev_batch
        )

    def _dev_batch(self, indices: list[int]) -> tuple[list[int], Batch]:
        limit = self.cfg.max_len
        items = [
            (
                np.array(self.dev_src_ids[i][:limit] or [EOS_ID], dtype=np.int32),
                np.array(self.dev_tgt_ids[i][: limit - 1], dtype=np.int32),
            )
            for i in indices
        ]
        return indices, collate(items)


def _join_references(refs: list[list[str]], more: list[list[str]]) -> list[list[str]]:
    """Append one dev set's reference streams to the joined ones; a set with fewer streams
    repeats its first (BLEU against a repeated reference is BLEU against it once)."""
    if not refs:
        return [list(r) for r in more]
    width = max(len(refs), len(more))
    refs = refs + [list(refs[0]) for _ in range(width - len(refs))]
    more = more + [more[0] for _ in range(width - len(more))]
    return [a + list(b) for a, b in zip(refs, more)]
