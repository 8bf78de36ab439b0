"""`python -m data_prep PAIR [PAIR ...] [--mirror DIR] [--out data]`: prepare language pairs."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import datasets

from data_prep.catalog import CORPORA, PAIRS
from data_prep.clean import LengthLimits
from data_prep.mono import mono_langs, prepare_mono
from data_prep.multi import MULTI, MULTI_VOCAB, prepare_multi
from data_prep.pipeline import PrepareOptions, prepare
from data_prep.tokenizer import TokenizerSpec
from indic_common.errors import DataError, Seq2SeqError

MIRROR_ENV = "INDIC_SEQ2SEQ_MIRROR"


def build_parser() -> argparse.ArgumentParser:
    """The command line of the data pipeline."""
    p = argparse.ArgumentParser(prog="python -m data_prep", description=__doc__)
    p.add_argument(
        "pairs",
        nargs="+",
        metavar="PAIR",
        help=f"{', '.join(PAIRS)}, all, or multi (one folder for a multilingual model)",
    )
    p.add_argument("--out", type=Path, default=Path("data"), help="prepared-data root (data/)")
    p.add_argument(
        "--mirror",
        type=Path,
        default=None,
        help="offline mirror folder: plain-text corpora as <pair>/<corpus>/, hub datasets "
        f"copied as hub/<owner>/<name>/ (or ${MIRROR_ENV})",
    )
    p.add_argument("--cache-dir", type=Path, default=None, help="datasets cache folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--vocab-size",
        type=int,
        default=None,
        help=f"SentencePiece pieces ({TokenizerSpec.vocab_size}; multi: {MULTI_VOCAB})",
    )
    p.add_argument(
        "--separate-vocab",
        action="store_true",
        help="one SentencePiece model per language instead of a joint one",
    )
    p.add_argument(
        "--tokenizer-from",
        type=Path,
        metavar="BUNDLE",
        help="keep the SentencePiece models of a model bundle (e.g. pretrained/hi-en) instead "
        "of training new ones, so that the model can be continued or ensembled with new runs",
    )
    p.add_argument("--model-type", choices=("unigram", "bpe"), default=TokenizerSpec.model_type)
    p.add_argument(
        "--sample-cap",
        type=int,
        default=TokenizerSpec.sample_cap,
        help="sentences sampled to train SentencePiece",
    )
    p.add_argument("--max-words", type=int, default=LengthLimits.max_words)
    p.add_argument("--max-ratio", type=float, default=LengthLimits.max_ratio)
    p.add_argument(
        "--keep-indic-digits",
        action="store_true",
        help="keep Devanagari/Bengali/Tamil digits instead of mapping them to 0-9",
    )
    p.add_argument(
        "--extra-train",
        action="append",
        default=[],
        metavar="NAME[/SPLIT]",
        help="add a catalogued corpus's training split (iitb, freedict, debian, ...) or a "
        "named split of it; repeatable",
    )
    p.add_argument("--max-train", type=int, default=None, help="cap the training pairs")
    p.add_argument(
        "--mono",
        action="store_true",
        help="write monolingual text for back-translation into the already prepared pairs "
        "instead of preparing them: data/<pair>/mono.en (in-domain English, the mirror's "
        "mono-en/) and, where the mirror has the pair's mono-<xx>/, mono.<xx>; multi: a "
        "different share of the English into each pair's folder of data/multi/",
    )
    p.add_argument(
        "--unify-script",
        action="store_true",
        help="multi only: write the Bengali and Tamil sources in Devanagari letters, so that "
        "related words share pieces (use another --out, e.g. data/deva)",
    )
    p.add_argument("--list", action="store_true", help="list the catalogue and exit")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def _print_catalogue() -> None:
    for pair, corpora in CORPORA.items():
        print(pair)
        for c in corpora.values():
            where = ", ".join(
                w for w, ok in (("mirror", c.mirror_folder), ("hub", c.hub), ("url", c.url)) if ok
            )
            by_kind: dict[str, list[str]] = {}
            for split in c.splits:
                by_kind.setdefault(c.kind_of(split), []).append(split)
            kinds = "; ".join(f"{kind}: {' '.join(splits)}" for kind, splits in by_kind.items())
            print(f"  {c.name:<13} {c.description} [{kinds}; {where}; {c.licence}]")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the pipeline; errors are one line on stderr and exit status 2."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not sys.stderr.isatty():  # a log file or CI: each step's plain line (-v), no bars
        datasets.disable_progress_bars()
    if args.list:
        _print_catalogue()
        return 0
    mirror = args.mirror or (Path(os.environ[MIRROR_ENV]) if os.environ.get(MIRROR_ENV) else None)
    pairs = list(PAIRS) if args.pairs == ["all"] else args.pairs
    options = PrepareOptions(
        mirror=mirror,
        cache_dir=args.cache_dir,
        seed=args.seed,
        ascii_digits=not args.keep_indic_digits,
        limits=replace(LengthLimits(), max_words=args.max_words, max_ratio=args.max_ratio),
        tokenizer=TokenizerSpec(
            vocab_size=args.vocab_size or TokenizerSpec.vocab_size,
            joint=not args.separate_vocab,
            model_type=args.model_type,
            sample_cap=args.sample_cap,
            seed=args.seed,
        ),
        extra_train=tuple(args.extra_train),
        max_train=args.max_train,
        tokenizer_from=args.tokenizer_from,
    )
    try:
        if args.unify_script and pairs != [MULTI]:
            raise DataError("--unify-script applies to `multi` alone (one joint tokenizer)")
        if args.tokenizer_from and (len(pairs) != 1 or MULTI in pairs):
            raise DataError(
                "--tokenizer-from: name one pair (e.g. hi-en), that of the bundle's model"
            )
        for pair in pairs:
            if args.mono:
                if mirror is None:
                    raise DataError("--mono reads the mirror's mono-en/ folder: pass --mirror")
                for lang in mono_langs(pair, mirror):
                    path = prepare_mono(
                        pair,
                        args.out,
                        mirror,
                        args.seed,
                        options.limits,
                        lang=lang,
                        ascii_digits=options.ascii_digits,
                    )
                    print(f"prepared {path}")
                continue
            if pair == MULTI:
                spec = replace(options.tokenizer, vocab_size=args.vocab_size or MULTI_VOCAB)
                unify = "hi" if args.unify_script else None
                folder = prepare_multi(
                    args.out, replace(options, tokenizer=spec), unify_script=unify
                )
            else:
                folder = prepare(pair, args.out, options)
            print(f"prepared {folder}")
    except Seq2SeqError as e:
        print(f"data_prep: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
