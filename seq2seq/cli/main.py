"""The `seq2seq` command (train, average, config, evaluate, compare, translate, attention, study,
report, curves, serve, backtranslate): the parser, the entry point and exit codes; the handlers (one
library call each) are in commands.py."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from indic_common.errors import Seq2SeqError
from seq2seq.cli.commands import (
    OPTION_OF_FIELD,
    run_attention,
    run_average,
    run_backtranslate,
    run_compare,
    run_config,
    run_curves,
    run_errors,
    run_evaluate,
    run_models,
    run_report,
    run_serve,
    run_speedup,
    run_store,
    run_study,
    run_train,
    run_translate,
)
from seq2seq.config import decode_options


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the program, the error, where to look)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_ensemble_option(p: argparse.ArgumentParser, text: str) -> None:
    """--ensemble MODEL, repeatable: the bundles decoded with --model as one."""
    p.add_argument("--ensemble", action="append", default=[], metavar="MODEL", help=text)


def _add_decode_options(
    p: argparse.ArgumentParser,
    model: bool = True,
    only: tuple[str, ...] | None = None,
    nbest: bool = False,
) -> None:
    """The decoding flags of DecodeConfig (those named in `only`, else all; --nbest only with
    `nbest`, for a command that prints n-best lists), and the model's with `model`."""
    if model:
        p.add_argument("--model", required=True, help="model bundle folder, e.g. models/hi-en")
        _add_ensemble_option(
            p,
            "another bundle of the same prepared data, decoded with --model as one model "
            "(the mean of their distributions); repeat for more; --model's settings hold",
        )
        p.add_argument("--device", default="cpu", help="cpu or cuda")
        p.add_argument(
            "--domain",
            help="domain tag of a model trained with data.domain_tags, e.g. wikipedia "
            "(default: its dev set's; prepared test sets use each line's own)",
        )
        p.add_argument(
            "--from",
            dest="src_lang",
            help="a multilingual model's source language (default: read from each line's script)",
        )
        p.add_argument(
            "--to", dest="tgt_lang", help="a multilingual model's target language, e.g. en"
        )
    if model or only is None:
        p.add_argument(
            "--exact",
            action="store_true",
            help="exact fp32 search over the whole vocabulary, without the speed-ups the "
            "model's bundle records (seq2seq speedup)",
        )
    for option in decode_options():
        if option.flag is None or (option.name == "nbest" and not nbest):
            continue
        if only is not None and option.flag not in only:
            continue
        if option.type is bool:  # on by default: the flag turns it off (--no-split)
            p.add_argument(option.flag, action="store_const", const=False, help=option.help)
        else:
            p.add_argument(
                option.flag,
                type=option.type,
                default=None,
                help=f"{option.help} (default: the model's)",
            )


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "overrides",
        nargs="*",
        metavar="[SECTION.]KEY=VALUE",
        help="e.g. train.max_steps=500 name=hi-en-long",
    )


def build_parser() -> argparse.ArgumentParser:
    """One subparser per command."""
    parser = _Parser(prog="seq2seq", description="English-Indic LSTM translation")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    data_root = {"default": "data", "help": "prepared data root (data/)"}

    p = sub.add_parser("train", help="train a model from a YAML config")
    p.add_argument("--config", required=True, help="e.g. configs/hi-en.yaml")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    p.add_argument("--overwrite", action="store_true", help="discard an earlier run's checkpoints")
    p.add_argument("--print-config", action="store_true", help="print the resolved config, stop")
    _add_config_args(p)
    p.set_defaults(run=run_train)

    p = sub.add_parser(
        "average", help="a bundle with the mean weights of its run's best checkpoints"
    )
    p.add_argument("--model", required=True, help="the trained bundle, e.g. models/hi-en")
    p.add_argument(
        "-o", "--output", required=True, help="the averaged bundle, e.g. models/hi-en-avg"
    )
    p.add_argument(
        "--run", dest="run_dir", help="the run folder (default: the bundle config's runs/<name>)"
    )
    p.set_defaults(run=run_average)

    p = sub.add_parser("config", help="print a config with its bases and overrides resolved")
    p.add_argument("config", help="e.g. configs/hi-en.yaml")
    _add_config_args(p)
    p.set_defaults(run=run_config)

    p = sub.add_parser("evaluate", help="BLEU and chrF++ on test sets, hypotheses written")
    _add_decode_options(p)
    p.add_argument("--split", default="test", help="test (all), dev, or e.g. test-post2012")
    p.add_argument("--data-root", **data_root)
    p.add_argument("--src", help="source file (instead of --split)")
    p.add_argument("--ref", action="append", help="reference file; repeat for several")
    p.add_argument(
        "--out-dir",
        help="where hypotheses and scores go (eval/<direction>); a model into several "
        "languages scores every direction, each in a folder of its own, unless --from/--to pick",
    )
    p.set_defaults(run=run_evaluate)

    p = sub.add_parser(
        "compare", help="two systems' hypotheses: paired bootstrap BLEU and chrF++ intervals"
    )
    p.add_argument("base", help="the baseline's hypotheses, one line per source line")
    p.add_argument("new", help="the new system's hypotheses")
    p.add_argument("--ref", action="append", required=True, help="reference file; repeat")
    p.add_argument("--docs", help="the document of each line (e.g. data/hi-en/test-post2012.doc)")
    p.set_defaults(run=run_compare)

    p = sub.add_parser(
        "errors",
        help="kinds of error in outputs: wrong script, numbers lost or spelled out, length",
    )
    p.add_argument("hyps", nargs="+", metavar="NAME=FILE", help="a system's outputs; repeat")
    p.add_argument("--src", required=True, help="the source file, one sentence a line")
    p.add_argument("--ref", required=True, help="the (first) reference file")
    p.add_argument("--to", required=True, dest="tgt_lang", help="the outputs' language, e.g. ta")
    p.set_defaults(run=run_errors)

    p = sub.add_parser("translate", help="translate sentences, a file or stdin")
    _add_decode_options(p, nbest=True)
    p.add_argument("sentences", nargs="*", metavar="SENTENCE")
    p.add_argument("--input", help="input file, one sentence a line")
    p.add_argument("--output", help="output file (default: stdout)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument("--scores", action="store_true", help="the score, a tab, then the text")
    p.set_defaults(run=run_translate)

    p = sub.add_parser("attention", help="plot the attention of one translation")
    _add_decode_options(p)
    p.add_argument("sentence")
    p.add_argument("-o", "--output", default="attention.png", help="PNG, SVG or PDF file")
    p.add_argument("--title", action="store_true", help="put the source sentence on top")
    p.set_defaults(run=run_attention)

    p = sub.add_parser("study", help="quality by source length (Bahdanau et al. 2015, Fig. 2)")
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="NAME=FOLDER",
        help="a model bundle and its name in the plot; repeat for each model",
    )
    _add_decode_options(p, model=False)
    p.add_argument("--split", default="test-post2012", help="a prepared test set")
    p.add_argument("--data-root", **data_root)
    p.add_argument("--examples", type=int, default=3, help="attention maps to draw")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.set_defaults(run=run_study)

    p = sub.add_parser("report", help="a Markdown results page for one model")
    _add_decode_options(p)
    p.add_argument("--data-root", **data_root)
    p.add_argument("--samples", type=int, default=20, help="sample translations to show")
    p.add_argument("--no-variants", action="store_true", help="skip the decoding variants")
    p.add_argument("-o", "--output", required=True, help="Markdown file, e.g. results/hi-en.md")
    p.set_defaults(run=run_report)

    p = sub.add_parser("curves", help="plot dev BLEU (or chrF++) against training time of runs")
    p.add_argument(
        "--run",
        dest="runs",
        action="append",
        required=True,
        metavar="NAME=RUN_FOLDER",
        help="a run folder and its name in the plot, e.g. hi-en=runs/hi-en, or an earlier "
        "plot's .tsv holding a run of that name (results/dev-curves.tsv); repeat",
    )
    p.add_argument("--dev-set", default="dev-post2012", help="the dev set named on the axis")
    p.add_argument(
        "--metric",
        choices=["bleu", "chrf"],
        default="bleu",
        help="the greedy dev score plotted: bleu, or chrf (chrF++, where the run logged it)",
    )
    p.add_argument(
        "-o", "--output", required=True, help="PNG, SVG or PDF file; its points go beside it (.tsv)"
    )
    p.set_defaults(run=run_curves)

    p = sub.add_parser("serve", help="serve models over HTTP, with a web page at /")
    p.add_argument(
        "--model",
        action="append",
        help="a model bundle folder or name (hi-en: models/hi-en, else pretrained/hi-en); "
        "repeat for more; folders joined by + are served as one ensemble (models/a+models/b, "
        "decoded as --ensemble does); none: every model of the store (pretrained/)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    _add_decode_options(p, model=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (8000)")
    p.add_argument("--max-texts", type=int, default=64, help="texts per request (64)")
    p.add_argument("--max-chars", type=int, default=2000, help="characters per text (2000)")
    p.add_argument("--max-batch", type=int, default=64, help="sentences decoded together (64)")
    p.add_argument("--max-wait-ms", type=float, default=5.0, help="wait for a batch to fill (5)")
    p.add_argument("--max-queued", type=int, default=1024, help="sentences waiting, in all")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds a request may take")
    p.add_argument(
        "--api-keys",
        metavar="FILE",
        help="API keys, one a line: then every translation needs one (LibreTranslate's "
        "api_key field; ours: the header Authorization: Bearer KEY)",
    )
    p.add_argument(
        "--cors-origins",
        default="*",
        help="origins a browser may call the server from, comma-separated (*: any)",
    )
    p.set_defaults(run=run_serve)

    p = sub.add_parser("models", help="list the models there are: models/, then pretrained/")
    p.add_argument("--json", action="store_true", help="one JSON object per model")
    p.set_defaults(run=run_models)

    p = sub.add_parser(
        "store", help="keep a trained bundle in the repository's store (pretrained/<name>)"
    )
    p.add_argument("--model", help="the trained bundle, e.g. models/hi-en")
    p.add_argument("--name", required=True, help="the entry's name, e.g. hi-en")
    p.add_argument(
        "--no-tests",
        action="store_true",
        help="do not score the test sets now: the model was chosen on dev, and `--score test` "
        "scores them once, at the close of the work",
    )
    p.add_argument(
        "--score",
        choices=["dev", "test"],
        help="instead of storing a model: score the entry's dev sets (every one prepared) or "
        "its test sets (once) into its card",
    )
    p.add_argument(
        "--command",
        action="append",
        default=[],
        dest="commands",
        help="a command that made the model, for its card; repeat in order (base run first)",
    )
    p.add_argument(
        "--direction",
        help="a multilingual model: the one direction the entry keeps, e.g. bn-en",
    )
    p.add_argument("--cpu", help="the CPU it trained on, where its metadata does not say")
    p.add_argument("--notes", help="a text file: what the model gets wrong, for its card")
    p.add_argument("--data-root", help="prepared data root (default: the bundle config's)")
    p.add_argument(
        "--weights",
        choices=["float16", "int8"],
        default="float16",
        help="how the entry keeps its weights: float16 (default) or int8 with per-row scales",
    )
    _add_ensemble_option(
        p, "another bundle decoded with --model as one model, stored in the same entry; repeat"
    )
    p.set_defaults(run=run_store)

    p = sub.add_parser(
        "speedup",
        help="choose a model's decoding speed-ups (vocabulary shortlist, int8) on dev against "
        "exact search, and record them in its bundle",
    )
    p.add_argument("--model", required=True, help="the bundle, e.g. models/hi-en or hi-en")
    p.add_argument("--data-root", help="prepared data it was trained on (default: its config's)")
    p.add_argument("--out", help="write a copy there instead of changing the bundle in place")
    p.add_argument(
        "--per-piece",
        type=int,
        help="target pieces kept per source piece (default: decode/shortlist.py's, 20)",
    )
    p.add_argument(
        "--frequent",
        type=int,
        help="most frequent target pieces always in (default: decode/shortlist.py's, 300)",
    )
    p.add_argument(
        "--max-delta",
        type=float,
        default=0.3,
        help="largest dev difference from exact search to switch on: BLEU into English, chrF++ "
        "into the Indic languages (0.3)",
    )
    p.set_defaults(run=run_speedup)

    p = sub.add_parser(
        "backtranslate", help="monolingual target-side text -> synthetic training pairs"
    )
    p.add_argument(
        "--input",
        required=True,
        help="one segment a line, named after its "
        "language, e.g. data/hi-en/mono.en (python -m data_prep hi-en --mono)",
    )
    p.add_argument("--to", required=True, help="language of the synthetic sources, e.g. hi")
    p.add_argument(
        "--output",
        required=True,
        help="prefix of the synthetic part, e.g. "
        "data/hi-en/synthetic/bt-greedy (writes .hi, .en, .json)",
    )
    p.add_argument("--model", help="the reverse model, e.g. models/en-hi (not for copy, dummy)")
    _add_ensemble_option(
        p,
        "another reverse model of the same prepared data, decoded with --model as one; "
        "repeat for more",
    )
    p.add_argument(
        "--method",
        default="greedy",
        help="greedy (default), sample, beam, or the "
        "baselines copy (target as source) and dummy (empty source)",
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the sampling (1)")
    p.add_argument("--max-lines", type=int, help="the first N input lines only")
    p.add_argument("--chunk-lines", type=int, default=2000, help="lines per resumable chunk")
    p.add_argument("--batch-size", type=int, default=64, help="sentences per decoding batch")
    _add_decode_options(p, model=False, only=("--min-len-ratio",))
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.set_defaults(run=run_backtranslate)
    return parser


def _message(e: Seq2SeqError, args: argparse.Namespace) -> str:
    """The error's text; a bad decode value the user typed is named by its option."""
    key = getattr(e, "key", None)
    if key in OPTION_OF_FIELD and getattr(args, OPTION_OF_FIELD[key][1], None) is not None:
        return str(e).replace(f"decode.{key}", OPTION_OF_FIELD[key][0], 1)
    return str(e)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `seq2seq` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except Seq2SeqError as e:
        print(f"seq2seq {args.command}: error: {_message(e, args)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"seq2seq {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
