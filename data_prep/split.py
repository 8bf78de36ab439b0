"""Seeded, document-aware carving of splits; de-duplication; removal of dev/test overlap."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable

import datasets


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


def pair_hash(indic: str, en: str) -> bytes:
    """A 16-byte digest of a pair: the de-duplication set holds these, not the text."""
    return hashlib.blake2b(f"{indic}\t{en}".encode(), digest_size=16).digest()


class Deduplicator:
    """Keeps the first occurrence of each exact (Indic, English) pair."""

    def __init__(self) -> None:
        self._seen: set[bytes] = set()

    def is_new(self, indic: str, en: str) -> bool:
        """True the first time a pair is seen, False on every repeat."""
        digest = pair_hash(indic, en)
        if digest in self._seen:
            return False
        self._seen.add(digest)
        return True


def contamination_key(text: str) -> str:
    """Held-out text is matched case-insensitively, so `A tree` in test removes `a tree`."""
    return text.casefold()


class HeldOut:
    """Every Indic and English segment of the dev and test sets, for removing overlap."""

    def __init__(self, segments: Iterable[str]) -> None:
        self._keys = {contamination_key(s) for s in segments if s}

    def overlaps(self, indic: str, en: str) -> bool:
        """True when the pair's source or target also appears in a dev or test set."""
        return contamination_key(indic) in self._keys or contamination_key(en) in self._keys
