"""The training pairs of a run, built without a Python object per line: each training file is
encoded once into a token store (piece ids in one flat array with offsets), and the pairs are
an index into the stores (upsampled parts repeat a line number, not the line) with the ids each
source starts with (a language tag, a domain tag).

Memory is the stores (2 bytes a piece for vocabularies up to 65,536 pieces) and ~20 bytes a
pair; a 4M-pair corpus held as Python lists of ids needed about 10 GB.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import chain, islice
from pathlib import Path
from typing import NamedTuple

import numpy as np
from torch.utils.data import Dataset

from indic_common.errors import DataError
from seq2seq.config import DataConfig
from seq2seq.data.prepared import PreparedPair
from seq2seq.model.vocab import Vocab

log = logging.getLogger(__name__)

CHUNK_LINES = 20_000  # lines encoded at a time


class TokenStore(NamedTuple):
    """Piece ids of many lines: line i is `ids[offsets[i]:offsets[i + 1]]`."""

    ids: np.ndarray  # uint16 (vocabularies up to 65,536 pieces) or int32
    offsets: np.ndarray  # int64, one more than the lines

    @property
    def lens(self) -> np.ndarray:
        """Pieces per line."""
        return np.diff(self.offsets)

    def line(self, i: int) -> np.ndarray:
        """The ids of line i (a view)."""
        return self.ids[self.offsets[i] : self.offsets[i + 1]]


def id_dtype(vocab: Vocab) -> type:
    """The smallest integer type that holds the vocabulary's ids."""
    return np.uint16 if len(vocab) <= 1 << 16 else np.int32


def encode_lines(
    lines: Iterable[str], vocab: Vocab, alpha: float = 0.0, seed: int = 0
) -> TokenStore:
    """Encode lines a chunk at a time into one store. With `alpha`, segmentations are sampled,
    one line after another from `seed` (the same seed gives the same pieces)."""
    dtype = id_dtype(vocab)
    ids: list[np.ndarray] = []
    lens: list[np.ndarray] = []
    it = iter(lines)
    first = True
    while chunk := list(islice(it, CHUNK_LINES)):
        encoded = vocab.encode_batch(chunk, alpha, seed if first else None)
        first = False
        n = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
        ids.append(np.fromiter(chain.from_iterable(encoded), dtype=dtype, count=int(n.sum())))
        lens.append(n)
    offsets = np.zeros(sum(len(n) for n in lens) + 1, dtype=np.int64)
    if lens:
        np.cumsum(np.concatenate(lens), out=offsets[1:])
    return TokenStore(np.concatenate(ids) if ids else np.zeros(0, dtype), offsets)


class EncodedCorpus(Dataset):
    """Training pairs as views into a source and a target store: pair i is line `lines[i]`
    of both, its source after the ids `prefixes[prefix_ids[i]]` (a language tag, a domain tag).
    Pairs with an empty source or over `max_len` pieces (the target with its EOS) are skipped.
    """

    def __init__(
        self,
        src: TokenStore,
        tgt: TokenStore,
        lines: np.ndarray,
        prefix_ids: np.ndarray,
        prefixes: Sequence[tuple[int, ...]],
        max_len: int,
    ) -> None:
        self._src, self._tgt = src, tgt
        self._prefixes = [np.asarray(p, dtype=src.ids.dtype) for p in prefixes]
        prefix_lens = np.array([len(p) for p in prefixes] or [0], dtype=np.int64)
        src_lens = src.lens[lines] + prefix_lens[prefix_ids]
        tgt_lens = tgt.lens[lines] + 1  # EOS (or BOS) added at collate time
        keep = (src_lens > 0) & (src_lens <= max_len) & (tgt_lens <= max_len)
        if not keep.all():
            log.info(
                "skipped %d of %d pairs (empty or over %d pieces)",
                int((~keep).sum()),
                len(keep),
                max_len,
            )
        self._lines = lines[keep]
        self._prefix_ids = prefix_ids[keep]
        self.src_lens = src_lens[keep].astype(np.int32)
        self.tgt_lens = tgt_lens[keep].astype(np.int32)

    @classmethod
    def from_text(
        cls,
        src_lines: list[str],
        tgt_lines: list[str],
        src_vocab: Vocab,
        tgt_vocab: Vocab,
        max_len: int,
        prefixes: list[tuple[int, ...]] | None = None,
    ) -> EncodedCorpus:
        """Parallel lines in memory (tests, small tools); `prefixes`: the ids before each
        source, empty or not."""
        table = sorted(set(prefixes or [()]))
        code = {p: i for i, p in enumerate(table)}
        prefix_ids = np.array([code[p] for p in prefixes or [()] * len(src_lines)], np.int32)
        return cls(
            encode_lines(src_lines, src_vocab),
            encode_lines(tgt_lines, tgt_vocab),
            np.arange(len(src_lines), dtype=np.int64),
            prefix_ids,
            table,
            max_len,
        )

    def __len__(self) -> int:
        return len(self._lines)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        line = self._lines[i]
        src = self._src.line(line)
        prefix = self._prefixes[self._prefix_ids[i]]
        if len(prefix):
            src = np.concatenate([prefix, src])
        return src, self._tgt.line(line)


class _Direction(NamedTuple):
    """One direction's training pairs: line numbers into the run's stores (weighted, with the
    synthetic parts), each pair's prefix id and the domains its lines are of."""

    direction: str
    lines: np.ndarray
    prefix_ids: np.ndarray
    domains: list[str]


class TrainingPlan:
    """Which lines of which files make the training pairs of a run, in what weights, with what
    source prefixes; `encode` turns it into an EncodedCorpus.

    `prefix_of(tgt_lang, domain, name)` gives the ids before a source (see TranslationData).
    """

    def __init__(
        self,
        cfg: DataConfig,
        seed: int,
        prefix_of: Callable[[str, str | None, str], tuple[int, ...]],
    ) -> None:
        self.cfg = cfg
        # (source file, target file, lines), in store order
        self.files: list[tuple[Path, Path, int]] = []
        self.prefixes: list[tuple[int, ...]] = []
        self._prefix_code: dict[tuple[int, ...], int] = {}
        self._counted = 0  # lines of the files so far: the next file's first store line
        directions = [self._direction(d, prefix_of) for d in cfg.directions]
        if cfg.pairs:
            directions = _temperature_sample(directions, cfg.temperature, seed)
        self.direction_lines = {d.direction: len(d.lines) for d in directions}
        self.lines = np.concatenate([d.lines for d in directions])
        self.prefix_ids = np.concatenate([d.prefix_ids for d in directions])
        self.domains = sorted({name for d in directions for name in d.domains})

    def _add_file(
        self, prepared: PreparedPair, name: str, src_lang: str, tgt_lang: str, remedy: str
    ) -> int:
        """Put a file pair into the stores; return its first store line (both sides checked to
        have one line count; `remedy` says how to make the pair again if not)."""
        src, tgt = prepared.path(name, src_lang), prepared.path(name, tgt_lang)
        counts = [_count_lines(src), _count_lines(tgt)]
        if counts[0] != counts[1]:
            raise DataError(f"{src} has {counts[0]} lines and {tgt} {counts[1]}; {remedy}")
        first = self._counted
        self.files.append((src, tgt, counts[0]))
        self._counted += counts[0]
        return first

    def _code(self, prefix: tuple[int, ...]) -> int:
        if prefix not in self._prefix_code:
            self._prefix_code[prefix] = len(self.prefixes)
            self.prefixes.append(prefix)
        return self._prefix_code[prefix]

    def _direction(self, direction: str, prefix_of) -> _Direction:
        c = self.cfg
        src_lang, tgt_lang = direction.split("-")
        prepared = PreparedPair(Path(c.root) / c.folder(direction))
        remake = f"run `make data PAIR={prepared.root.name}` again"
        first = self._add_file(prepared, "train", src_lang, tgt_lang, remake)
        n = self._counted - first
        if c.domain_tags:
            domain_codes, domain_names = prepared.domain_codes("train")
            prepared.check_aligned("train", n, domain=domain_codes)
        else:
            domain_codes, domain_names = np.zeros(n, np.int32), [None]
        # A multilingual model's shared weighting may name parts only some pairs have.
        index = prepared.train_index(c.upsample, c.train_parts, lines=n, only_known=bool(c.pairs))
        # The prefix of each domain the chosen lines have (not of a part train_parts left out).
        used = np.unique(domain_codes[index])
        line_prefix = np.zeros(len(domain_names), np.int32)
        for i in used:
            line_prefix[i] = self._code(prefix_of(tgt_lang, domain_names[i], "train"))
        lines = [index + first]
        prefix_ids = [line_prefix[domain_codes[index]]]
        domains = [domain_names[i] for i in used] if c.domain_tags else []
        real = len(index)
        parts = [(n, t, "source") for n, t in c.synthetic.items()]
        parts += [(n, t, "target") for n, t in c.forward.items()]
        for name, times, side in parts:
            prepared.check_synthetic(name, src_lang, tgt_lang, side)
            remake = f"make the part again with {prepared.synthetic_command(name)}"
            syn_first = self._add_file(prepared, f"synthetic/{name}", src_lang, tgt_lang, remake)
            syn_lines = np.arange(syn_first, self._counted, dtype=np.int64)
            lines.append(np.tile(syn_lines, times))
            # A synthetic source is tagged (tagged back-translation); a forward-translated
            # part's source is real text, read with no domain tag.
            tagged = c.domain_tags and side == "source"
            code = self._code(prefix_of(tgt_lang, "backtranslation" if tagged else None, "train"))
            prefix_ids.append(np.full(len(syn_lines) * times, code, np.int32))
            if tagged and len(syn_lines) and "backtranslation" not in domains:
                domains.append("backtranslation")
        total = sum(len(x) for x in lines)
        if parts:
            log.info(
                "%s: synthetic pairs %s: %d, real %d (%.2f:1; at most 2:1 recommended)",
                direction,
                c.synthetic | c.forward,
                total - real,
                real,
                (total - real) / max(real, 1),
            )
        return _Direction(direction, np.concatenate(lines), np.concatenate(prefix_ids), domains)

    def encode(
        self, src_vocab: Vocab, tgt_vocab: Vocab, max_len: int, alpha: float = 0.0, seed: int = 0
    ) -> EncodedCorpus:
        """Encode the files (each line once, however often the pairs repeat it)."""

        def read(side: int) -> Iterator[str]:
            for *paths, lines in self.files:  # whole lines only: those _count_lines counted
                with paths[side].open(encoding="utf-8", newline="\n") as f:
                    yield from (line.rstrip("\n") for line in islice(f, lines))

        src = encode_lines(read(0), src_vocab, alpha, seed)
        tgt = encode_lines(read(1), tgt_vocab, alpha, seed + 1)
        return EncodedCorpus(src, tgt, self.lines, self.prefix_ids, self.prefixes, max_len)


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def _temperature_sample(parts: list[_Direction], t: float, seed: int) -> list[_Direction]:
    """Repeat each direction's pairs so that their shares are proportional to n_i ** (1/t),
    the largest direction read once (nothing dropped); fractions are a seeded subset."""
    sizes = [len(p.lines) for p in parts]
    weights = [(n / sum(sizes)) ** (1.0 / t) for n in sizes]
    scale = max(n / w for n, w in zip(sizes, weights))  # the largest direction: once
    rng = random.Random(f"{seed}:temperature")
    out = []
    for part, n, w in zip(parts, sizes, weights):
        want = round(scale * w)
        extra = np.array(sorted(rng.sample(range(n), want % n)), dtype=np.int64)
        index = np.concatenate([np.tile(np.arange(n, dtype=np.int64), want // n), extra])
        out.append(part._replace(lines=part.lines[index], prefix_ids=part.prefix_ids[index]))
    return out
