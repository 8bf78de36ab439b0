"""Parallel data for training: encoded corpus, token-bucket batch sampler, collate, DataModule."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytorch_lightning as pl
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from indic_common.errors import DataError
from indic_common.special import BOS_ID, EOS_ID, PAD_ID, domain_tag
from seq2seq.config import DataConfig
from seq2seq.prepared import PreparedPair
from seq2seq.vocab import Vocab

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


class EncodedCorpus(Dataset):
    """Sentence pairs as piece ids in two flat int32 arrays with offsets (compact in RAM)."""

    def __init__(self, src: Sequence[list[int]], tgt: Sequence[list[int]]) -> None:
        self._src, self._src_off = _flatten(src)
        self._tgt, self._tgt_off = _flatten(tgt)
        self.src_lens = np.diff(self._src_off)
        self.tgt_lens = np.diff(self._tgt_off) + 1  # EOS (or BOS) added at collate time

    @classmethod
    def from_text(
        cls,
        src_lines: list[str],
        tgt_lines: list[str],
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        max_len: int,
        tags: list[int] | None = None,
        alpha: float = 0.0,
        seed: int = 0,
    ) -> EncodedCorpus:
        """Encode parallel lines, skipping empty pairs and pairs longer than `max_len` pieces;
        `tags` puts one id (a domain tag) before each source; `alpha` samples segmentations."""
        src = src_vocab.encode_batch(src_lines, alpha, seed)
        if tags is not None:
            src = [[tag, *ids] if ids else ids for tag, ids in zip(tags, src)]
        tgt = tgt_vocab.encode_batch(tgt_lines, alpha, seed + 1)
        keep = [
            i
            for i, (s, t) in enumerate(zip(src, tgt))
            if 0 < len(s) <= max_len and 0 < len(t) + 1 <= max_len
        ]
        if len(keep) < len(src):
            log.info(
                "skipped %d of %d pairs (empty or over %d pieces)",
                len(src) - len(keep),
                len(src),
                max_len,
            )
        return cls([src[i] for i in keep], [tgt[i] for i in keep])

    def __len__(self) -> int:
        return len(self.src_lens)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        return (
            self._src[self._src_off[i] : self._src_off[i + 1]],
            self._tgt[self._tgt_off[i] : self._tgt_off[i + 1]],
        )


def _flatten(seqs: Sequence[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(seqs) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in seqs])
    flat = np.fromiter((i for s in seqs for i in s), dtype=np.int32, count=int(offsets[-1]))
    return flat, offsets


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


class TokenBucketSampler(Sampler[list[int]]):
    """Batches of similar-length pairs holding about `batch_tokens` padded target tokens.

    Each epoch: a seeded shuffle, then pools of ~100 batches sorted by length and cut into
    batches, then the batches shuffled. Same seed and epoch -> same batches. Under DDP every
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

    def set_epoch(self, epoch: int) -> None:
        """Called by Lightning at the start of each epoch."""
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        rng = random.Random(f"{self.seed}:{self.epoch}")
        order = list(range(len(self.tgt_lens)))
        if self.shuffle:
            rng.shuffle(order)
        pool = max(1, 100 * self.batch_tokens // max(1, int(np.mean(self.tgt_lens))))
        batches: list[list[int]] = []
        for start in range(0, len(order), pool):
            chunk = sorted(
                order[start : start + pool], key=lambda i: (self.tgt_lens[i], self.src_lens[i])
            )
            batch: list[int] = []
            longest = 0
            for i in chunk:
                longest_if = max(longest, int(self.tgt_lens[i]), int(self.src_lens[i]))
                if batch and longest_if * (len(batch) + 1) > self.batch_tokens:
                    batches.append(batch)
                    batch, longest_if = [], max(int(self.tgt_lens[i]), int(self.src_lens[i]))
                batch.append(i)
                longest = longest_if
            if batch:
                batches.append(batch)
        if self.shuffle:
            rng.shuffle(batches)
        per_rank = len(batches) // self.world_size if self.world_size > 1 else len(batches)
        return batches[self.rank :: self.world_size][:per_rank]

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._batches()
        skip = 0
        if self.resume is not None and self.resume[0] == self.epoch:
            skip = self.resume[1]
        self.resume = None
        yield from batches[skip:]

    def __len__(self) -> int:
        return len(self._batches())


class TranslationData(pl.LightningDataModule):
    """Training and dev data of one direction, read from `data/<pair>/`."""

    def __init__(self, cfg: DataConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed
        self.prepared = PreparedPair(Path(cfg.root) / cfg.pair)
        self.src_vocab = self.prepared.vocab(cfg.src_lang)
        self.tgt_vocab = self.prepared.vocab(cfg.tgt_lang)
        self.train_corpus: EncodedCorpus | None = None
        self.sampler: TokenBucketSampler | None = None
        self.resume: tuple[int, int] | None = None  # (epoch, batches done), set on resume
        self.domains: list[str] = []  # with data.domain_tags: the training lines' domains
        self.dev_domain: str | None = None  # ... and the dev set's (most lines)

    def setup(self, stage: str | None = None) -> None:
        """Encode the training split (once) and the dev sources."""
        if self.train_corpus is None:
            c, prepared = self.cfg, self.prepared
            src, tgt = prepared.read("train", c.src_lang), prepared.read("train", c.tgt_lang)
            domains = prepared.domains("train") if c.domain_tags else None
            if domains is not None:
                prepared.check_aligned("train", len(src), domain=domains)
            index = prepared.train_index(c.upsample, c.train_parts, lines=len(src))
            src, tgt = [src[i] for i in index], [tgt[i] for i in index]
            tags = None
            if domains is not None:
                self.domains = sorted({domains[i] for i in index})
                tags = self._tags([domains[i] for i in index], "train")
            self._train_text = (src, tgt, tags)  # re-segmented each epoch with sample_alpha
            self.train_corpus = EncodedCorpus.from_text(
                src, tgt, self.src_vocab, self.tgt_vocab, c.max_len, tags
            )
            if len(self.train_corpus) == 0:
                raise DataError(
                    f"{self.prepared.root}: no training pairs within "
                    f"data.max_len={c.max_len} pieces"
                )
            dev_src = self.prepared.read(c.dev_set, c.src_lang)[: c.dev_max_sents]
            self.dev_refs = [
                r[: c.dev_max_sents] for r in self.prepared.references(c.dev_set, c.tgt_lang)
            ]
            self.dev_src_ids = self.src_vocab.encode_batch(dev_src)
            if c.domain_tags:
                dev_domains = prepared.domains(c.dev_set)[: c.dev_max_sents]
                self.dev_domain = max(set(dev_domains), key=dev_domains.count)
                tags = self._tags(dev_domains, c.dev_set)
                self.dev_src_ids = [[t, *ids] for t, ids in zip(tags, self.dev_src_ids)]
            self.dev_tgt_ids = self.tgt_vocab.encode_batch(self.dev_refs[0])

    def _tags(self, domains: list[str], name: str) -> list[int]:
        """The tag id of each line's domain; a tokenizer without the tags is an error."""
        ids = {}
        for domain in sorted(set(domains)):
            ids[domain] = self.src_vocab.piece_id(domain_tag(domain))
            if ids[domain] is None:
                raise DataError(
                    f"{self.prepared.root}: its tokenizer has no tag for domain {domain!r} "
                    f"({name}.domain); run `make data PAIR={self.prepared.root.name}` again"
                )
        return [ids[d] for d in domains]

    def train_dataloader(self) -> DataLoader:
        """Token-bucket batches over the training pairs (sharded by rank under DDP)."""
        assert self.train_corpus is not None
        if self.cfg.sample_alpha:  # Lightning asks for a new loader every epoch
            epoch = self.trainer.current_epoch if self.trainer else 0
            src, tgt, tags = self._train_text
            self.train_corpus = EncodedCorpus.from_text(
                src,
                tgt,
                self.src_vocab,
                self.tgt_vocab,
                self.cfg.max_len,
                tags,
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
