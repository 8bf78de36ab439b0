"""What both packages share and neither owns: errors, special ids, text files, normalisation,
atomic writes. `seq2seq` and `data_prep` import from here, never from each other."""
