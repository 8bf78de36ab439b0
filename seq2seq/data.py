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
        prefixes: list[tuple[int, ...]] | None = None,
        alpha: float = 0.0,
        seed: int = 0,
    ) -> EncodedCorpus:
        """Encode parallel lines, skipping empty pairs and pairs longer than `max_len` pieces;
        `prefixes` puts ids (a language tag, a domain tag) before each source, empty or not;
        `alpha` samples segmentations."""
        src = src_vocab.encode_batch(src_lines, alpha, seed)
        if prefixes is not None:  # an empty source keeps its tags (dummy back-translation)
            src = [[*prefix, *ids] for prefix, ids in zip(prefixes, src)]
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
        self.prepared = PreparedPair(Path(cfg.root) / cfg.folder())
        self.src_vocab = self.prepared.vocab(cfg.src_lang)
        self.tgt_vocab = self.prepared.vocab(cfg.tgt_lang)
        self.train_corpus: EncodedCorpus | None = None
        self.sampler: TokenBucketSampler | None = None
        self.resume: tuple[int, int] | None = None  # (epoch, batches done), set on resume
        self.domains: list[str] = []  # with data.domain_tags: the training lines' domains
        self.dev_domain: str | None = None  # ... and the dev set's (most lines)
        self.direction_lines: dict[str, int] = {}  # a multilingual model: lines per epoch

    def setup(self, stage: str | None = None) -> None:
        """Encode the training split (once) and the dev sources, of every direction."""
        if self.train_corpus is not None:
            return
        c = self.cfg
        parts = [_DirectionText.read(c, d, self._prefix) for d in c.directions]
        if c.pairs:
            parts = _temperature_sample(parts, c.temperature, self.seed)
            self.direction_lines = {p.direction: len(p.src) for p in parts}
            log.info(
                "lines per epoch after temperature %g: %s", c.temperature, self.direction_lines
            )
        src = [line for p in parts for line in p.src]
        tgt = [line for p in parts for line in p.tgt]
        prefixes = [prefix for p in parts for prefix in p.prefixes]
        if c.domain_tags:
            self.domains = sorted({d for p in parts for d in p.domains})
        self._train_text = (src, tgt, prefixes)  # re-segmented each epoch with sample_alpha
        self.train_corpus = EncodedCorpus.from_text(
            src, tgt, self.src_vocab, self.tgt_vocab, c.max_len, prefixes
        )
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
            src, tgt, prefixes = self._train_text
            self.train_corpus = EncodedCorpus.from_text(
                src,
                tgt,
                self.src_vocab,
                self.tgt_vocab,
                self.cfg.max_len,
                prefixes,
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


class _DirectionText(NamedTuple):
    """One direction's training lines, weighted (upsample, synthetic parts), with the ids to
    put before each source and each line's domain."""

    direction: str
    src: list[str]
    tgt: list[str]
    prefixes: list[tuple[int, ...]]
    domains: list[str]

    @classmethod
    def read(cls, c: DataConfig, direction: str, prefix_of) -> _DirectionText:
        src_lang, tgt_lang = direction.split("-")
        prepared = PreparedPair(Path(c.root) / c.folder(direction))
        src, tgt = prepared.read("train", src_lang), prepared.read("train", tgt_lang)
        domains = prepared.domains("train") if c.domain_tags else None
        if domains is not None:
            prepared.check_aligned("train", len(src), domain=domains)
        # A multilingual model's shared weighting may name parts only some pairs have.
        index = prepared.train_index(
            c.upsample, c.train_parts, lines=len(src), only_known=bool(c.pairs)
        )
        src, tgt = [src[i] for i in index], [tgt[i] for i in index]
        line_domains = [domains[i] for i in index] if domains is not None else []
        real = len(src)
        for name, times in c.synthetic.items():
            syn_src, syn_tgt = prepared.synthetic(name, src_lang, tgt_lang)
            src += syn_src * times
            tgt += syn_tgt * times
            if domains is not None:
                line_domains += ["backtranslation"] * (len(syn_src) * times)
        if c.synthetic:
            log.info(
                "%s: synthetic pairs %s: %d, real %d (%.2f:1; at most 2:1 recommended)",
                direction,
                c.synthetic,
                len(src) - real,
                real,
                (len(src) - real) / max(real, 1),
            )
        cache: dict[str | None, tuple[int, ...]] = {}
        prefixes = []
        for d in line_domains or [None] * len(src):
            if d not in cache:
                cache[d] = prefix_of(tgt_lang, d, "train")
            prefixes.append(cache[d])
        return cls(direction, src, tgt, prefixes, line_domains)


def _temperature_sample(parts: list[_DirectionText], t: float, seed: int) -> list[_DirectionText]:
    """Repeat each direction's lines so that their shares are proportional to n_i ** (1/t),
    the largest direction read once (nothing dropped); fractions are a seeded subset."""
    sizes = [len(p.src) for p in parts]
    weights = [(n / sum(sizes)) ** (1.0 / t) for n in sizes]
    scale = max(n / w for n, w in zip(sizes, weights))  # the largest direction: once
    rng = random.Random(f"{seed}:temperature")
    out = []
    for part, n, w in zip(parts, sizes, weights):
        want = round(scale * w)
        index = list(range(n)) * (want // n) + sorted(rng.sample(range(n), want % n))
        out.append(
            _DirectionText(
                part.direction,
                [part.src[i] for i in index],
                [part.tgt[i] for i in index],
                [part.prefixes[i] for i in index],
                [part.domains[i] for i in index] if part.domains else [],
            )
        )
    return out


def _join_references(refs: list[list[str]], more: list[list[str]]) -> list[list[str]]:
    """Append one dev set's reference streams to the joined ones; a set with fewer streams
    repeats its first (BLEU against a repeated reference is BLEU against it once)."""
    if not refs:
        return [list(r) for r in more]
    width = max(len(refs), len(more))
    refs = refs + [list(refs[0]) for _ in range(width - len(refs))]
    more = more + [more[0] for _ in range(width - len(more))]
    return [a + list(b) for a, b in zip(refs, more)]
