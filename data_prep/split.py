"""Seeded, document-aware carving of splits; de-duplication by 8-byte pair hashes; removal of
dev/test overlap, exact or by a shared 8-gram of words."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

import datasets
import numpy as np


def carve(
    ds: datasets.Dataset, key: str, seed: int, skip: int = 0, head: int | None = None
) -> datasets.Dataset:
    """Select segments over a seeded shuffle of whole documents (the `group` column).

    Documents are shuffled with a generator seeded by `seed` and `key` (the corpus and split),
    so a dev set carved with `head=N` and the training part carved with `skip=N` from the
    same split are exact complements. Whole documents go to one side; the counts are reached
    at document boundaries. Selected segments keep their original order.
    """
    if skip == 0 and head is None:
        return ds
    order: dict[str, list[int]] = {}
    for i, group in enumerate(ds["group"]):
        order.setdefault(group, []).append(i)
    groups = list(order)
    random.Random(f"{seed}:{key}").shuffle(groups)
    chosen: list[int] = []
    seen = 0
    for group in groups:
        if seen >= skip and (head is None or seen - skip < head):
            chosen.extend(order[group])
        seen += len(order[group])
    return ds.select(sorted(chosen))


def pair_hashes(indic: list[str], en: list[str]) -> np.ndarray:
    """The 8-byte blake2b digest of each pair's `indic<TAB>en` as a uint64, shape (N,).

    De-duplication keeps these, not the text: 8 bytes a pair. Two different pairs share a
    hash (and the later one is dropped as a repeat) with probability about n²/2^65 for n
    distinct pairs: 4e-11 at 40k pairs, 4e-7 at 4M.
    """
    digests = b"".join(
        hashlib.blake2b(f"{s}\t{t}".encode(), digest_size=8).digest() for s, t in zip(indic, en)
    )
    return np.frombuffer(digests, dtype="<u8")


def first_occurrences(hashes: list[np.ndarray]) -> list[np.ndarray]:
    """Which rows of each part (in order) to keep: those whose hash no earlier row has, in the
    part itself or in an earlier part; one boolean mask per part, shape (N_part,)."""
    if not hashes:
        return []
    flat = np.concatenate(hashes)
    _, first = np.unique(flat, return_index=True)  # the index of each value's first occurrence
    keep = np.zeros(len(flat), dtype=bool)
    keep[first] = True
    return np.split(keep, np.cumsum([len(h) for h in hashes])[:-1])


def contamination_key(text: str) -> str:
    """Held-out text is matched case-insensitively, so `A tree` in test removes `a tree`."""
    return text.casefold()


NGRAM = 8  # words; a training segment sharing this many consecutive words is a near-duplicate


def ngram_hashes(text: str, n: int = NGRAM) -> set[bytes]:
    """8-byte digests of every n-gram of lower-cased whitespace words (none below n words)."""
    words = contamination_key(text).split()
    return {
        hashlib.blake2b(" ".join(words[i : i + n]).encode(), digest_size=8).digest()
        for i in range(len(words) - n + 1)
    }


class HeldOut:
    """Every Indic and English segment of the dev and test sets, for removing overlap.

    It holds the segments' case-folded text, for exact matches, and digests of their 8-grams
    of words, for near-duplicates; a segment under 8 words can only match exactly.
    """

    def __init__(self, segments: Iterable[str]) -> None:
        self._keys: set[str] = set()
        self._ngrams: set[bytes] = set()
        for segment in segments:
            if segment:
                self._keys.add(contamination_key(segment))
                self._ngrams |= ngram_hashes(segment)

    def contains(self, text: str) -> bool:
        """True when `text` is, up to case, a dev or test segment."""
        return contamination_key(text) in self._keys

    def overlaps(self, indic: str, en: str) -> bool:
        """True when the pair's source or target also appears in a dev or test set."""
        return self.contains(indic) or self.contains(en)

    def overlaps_ngram(self, text: str) -> bool:
        """True when `text` shares an 8-gram of words with a dev or test segment (any side)."""
        return not self._ngrams.isdisjoint(ngram_hashes(text))

    def near_duplicate(self, indic: str, en: str) -> bool:
        """True when the pair's source or target shares an 8-gram with a dev or test segment."""
        return self.overlaps_ngram(indic) or self.overlaps_ngram(en)
