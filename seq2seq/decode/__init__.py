"""Decoding: greedy and beam search over a model's steps (search), and text in, text out
(translate: the Translator)."""
