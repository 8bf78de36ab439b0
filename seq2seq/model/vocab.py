"""SentencePiece vocabularies: text <-> piece ids, with the reserved ids the model relies on."""

from __future__ import annotations

import re
from pathlib import Path

import sentencepiece as spm

from indic_common.errors import BundleError
from indic_common.normalize import collapse_spaces
from indic_common.special import BOS_ID, EOS_ID, PAD_ID, UNK_ID

# Control characters and line or paragraph separators. Byte-fallback pieces (<0x0A>, <0x1C>,
# ...) can decode to them, and a sampling decoder draws such pieces now and then; one output must
# stay one line of text, so each run of them becomes a space.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


class Vocab:
    """One SentencePiece model: encode text to ids and decode ids back."""

    def __init__(self, model_proto: bytes, origin: str) -> None:
        self.model_proto = model_proto
        self._sp = spm.SentencePieceProcessor()
        try:
            self._sp.LoadFromSerializedProto(model_proto)
        except (RuntimeError, OSError) as e:
            raise BundleError(f"{origin}: not a SentencePiece model ({e})") from None
        if (self._sp.pad_id(), self._sp.unk_id(), self._sp.bos_id(), self._sp.eos_id()) != (
            PAD_ID,
            UNK_ID,
            BOS_ID,
            EOS_ID,
        ):
            raise BundleError(
                f"{origin}: SentencePiece model has other reserved ids than "
                "pad=0 unk=1 bos=2 eos=3; train it with python -m data_prep"
            )

    @classmethod
    def from_file(cls, path: Path) -> Vocab:
        """Load a `.model` file."""
        if not path.is_file():
            raise BundleError(f"{path}: SentencePiece model not found")
        return cls(path.read_bytes(), str(path))

    def __len__(self) -> int:
        return self._sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Text to piece ids (no BOS/EOS)."""
        return self._sp.encode(text)

    def encode_batch(
        self, texts: list[str], alpha: float = 0.0, seed: int | None = 0
    ) -> list[list[int]]:
        """Many texts to piece ids at once (SentencePiece's own threads). With `alpha`, each
        segmentation is sampled (subword regularisation), one text after another from `seed`
        so that the same seed gives the same pieces; `seed=None` goes on from where the last
        call left the generator (one stream encoded in chunks)."""
        if not alpha:
            return self._sp.encode(texts)
        if seed is not None:
            spm.set_random_generator_seed(seed)
        return [self._sp.encode(t, enable_sampling=True, alpha=alpha, nbest_size=-1) for t in texts]

    def decode(self, ids: list[int]) -> str:
        """Piece ids to text; padding, BOS and EOS are skipped. Never more than one line: control
        characters and line separators (byte pieces decode to them) become single spaces."""
        text = self._sp.decode([i for i in ids if i not in (PAD_ID, BOS_ID, EOS_ID)])
        if _CONTROL.search(text) is None:
            return text
        return collapse_spaces(_CONTROL.sub(" ", text))

    def piece_id(self, piece: str) -> int | None:
        """The id of a reserved piece (e.g. a domain tag), None if this model lacks it."""
        i = self._sp.piece_to_id(piece)
        return None if i == UNK_ID and piece != "<unk>" else i

    def pieces(self, ids: list[int]) -> list[str]:
        """The piece strings of ids, e.g. for attention plot labels."""
        return [self._sp.id_to_piece(i) for i in ids]
