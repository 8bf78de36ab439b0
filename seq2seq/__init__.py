"""indic-seq2seq: LSTM encoder-decoder translation between English and Indian languages.

    from seq2seq import Translator
    tr = Translator.load("models/hi-en", beam_size=5)
    tr.translate(["भारत की राजधानी नई दिल्ली है ।"])

`import seq2seq` is cheap: the translator (torch, SentencePiece) is imported on first use,
and translating never imports the trainer (PyTorch Lightning).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"
__all__ = ["Translator", "Translation", "Hypothesis", "__version__"]

if TYPE_CHECKING:
    from seq2seq.decode.translate import Hypothesis, Translation, Translator


def __getattr__(name: str) -> object:
    if name in ("Translator", "Translation", "Hypothesis"):
        from seq2seq.decode import translate

        return getattr(translate, name)
    raise AttributeError(f"module 'seq2seq' has no attribute {name!r}")
