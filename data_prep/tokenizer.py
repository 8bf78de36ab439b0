"""SentencePiece training: joint or per language, unigram or BPE, with reserved pieces."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import sentencepiece as spm

from indic_common.languages import LANG_TAGS
from indic_common.special import BOS_ID, DOMAINS, EOS_ID, PAD_ID, UNK_ID, domain_tag

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenizerSpec:
    """How to train the subword models of a pair."""

    vocab_size: int = 8000
    joint: bool = True
    model_type: Literal["unigram", "bpe"] = "unigram"
    sample_cap: int = 1_000_000  # sentences sampled for training on large corpora
    byte_fallback: bool = True  # unseen characters (emoji, rare scripts) become bytes
    seed: int = 1


def train_sentencepiece(lines: Iterable[str], prefix: Path, spec: TokenizerSpec) -> Path:
    """Train one SentencePiece model on `lines`; write `prefix.model` and `prefix.vocab`.

    `character_coverage=1.0` keeps every Indic character; the `identity` normalisation rule
    leaves text as the cleaning step wrote it, so decode(encode(x)) gives x back.
    The vocabulary size is a soft limit, so a small corpus yields a smaller vocabulary.
    """
    text_file = prefix.with_name(prefix.name + ".input.txt")
    count = 0
    with text_file.open("w", encoding="utf-8") as f:
        for line in lines:
            if line:
                f.write(line + "\n")
                count += 1
    log.info(
        "training SentencePiece %s (%s, vocab %d) on %d lines",
        prefix.name,
        spec.model_type,
        spec.vocab_size,
        count,
    )
    spm.set_random_generator_seed(spec.seed)
    spm.SentencePieceTrainer.train(
        input=str(text_file),
        model_prefix=str(prefix),
        vocab_size=spec.vocab_size,
        model_type=spec.model_type,
        character_coverage=1.0,
        normalization_rule_name="identity",
        pad_id=PAD_ID,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=EOS_ID,
        pad_piece="<pad>",
        unk_piece="<unk>",
        bos_piece="<s>",
        eos_piece="</s>",
        user_defined_symbols=[*LANG_TAGS, *(domain_tag(d) for d in DOMAINS)],
        byte_fallback=spec.byte_fallback,
        split_digits=True,
        hard_vocab_limit=False,
        max_sentence_length=16384,
        input_sentence_size=spec.sample_cap,
        shuffle_input_sentence=True,
        num_threads=2,
        minloglevel=2,
    )
    text_file.unlink()
    return prefix.with_name(prefix.name + ".model")
