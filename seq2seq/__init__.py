"""indic-seq2seq: LSTM encoder-decoder translation between English and Indian languages."""

__version__ = "0.1.0"
