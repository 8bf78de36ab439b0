"""The network: SentencePiece vocabularies, the LSTM encoder-decoder with its attention and
recurrence, a trained model on disk (bundle) and several decoded as one (ensemble)."""
