"""Data pipeline: fetch parallel corpora, clean them, split them and train SentencePiece."""
