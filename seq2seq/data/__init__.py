"""Prepared data as the trainer reads it: the files and vocabularies of data/<pair>/
(prepared), the training mix (corpus) and token-bucket batches (batches)."""
