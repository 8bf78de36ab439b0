"""Scores and what is made from them: BLEU and chrF++ (metrics), scoring test sets and paired
comparisons (scoring), reports, the attention study, plots and training curves, and the store
of scored models with their cards (store)."""
