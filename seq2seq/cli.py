"""`seq2seq train|config|evaluate|translate|attention|study|report`: argparse and one library
call each. The only module that sees argv, exit codes and whether output is a terminal."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from indic_common.atomic import open_atomic
from indic_common.errors import ConfigError, Seq2SeqError
from indic_common.textfile import decode_lines, iter_lines

# Decoding options: (option, DecodeConfig field, type, help). Values are checked by
# DecodeConfig itself; an error on a field is reported under the option's name.
DECODE_OPTIONS = (
    ("--beam", "beam_size", int, "beam size (1: greedy)"),
    ("--batch-size", "batch_size", int, "sentences per decoding batch"),
    ("--length-penalty", "length_penalty", float, "GNMT length penalty weight (0: off)"),
    ("--max-len-ratio", "max_len_ratio", float, "at most this many pieces per source piece"),
    ("--min-len-ratio", "min_len_ratio", float, "no end before this many pieces per source piece"),
    ("--no-repeat-ngram", "no_repeat_ngram", int, "never repeat an n-gram of N pieces (0: off)"),
)
NBEST_OPTION = ("--nbest", "nbest", int, "hypotheses per line")
_OPTIONS = {
    field: (option, option[2:].replace("-", "_"))
    for option, field, *_ in (*DECODE_OPTIONS, NBEST_OPTION)
}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the program, the error, where to look)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _decode_overrides(args: argparse.Namespace) -> dict:
    return {
        field: getattr(args, dest)
        for field, (_, dest) in _OPTIONS.items()
        if getattr(args, dest, None) is not None
    }


def _translator(args: argparse.Namespace):
    from seq2seq.translate import Translator

    return Translator.load(Path(args.model), args.device, **_decode_overrides(args))


def run_train(args: argparse.Namespace) -> int:
    from seq2seq.config import config_to_yaml, load_config

    cfg = load_config(Path(args.config), args.overrides)
    if args.print_config:
        print(config_to_yaml(cfg), end="")
        return 0
    from seq2seq.train import train

    out = train(cfg, args.resume, args.overwrite, progress_bar=sys.stdout.isatty())
    print(f"model bundle: {out}")
    return 0


def run_config(args: argparse.Namespace) -> int:
    from seq2seq.config import config_to_yaml, load_config

    print(config_to_yaml(load_config(Path(args.config), args.overrides)), end="")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from seq2seq.evaluate import evaluate_files, evaluate_split

    if bool(args.src) != bool(args.ref):
        raise ConfigError("--src and --ref go together: the source file and 1+ reference files")
    translator = _translator(args)
    out_dir = Path(args.out_dir or Path("eval") / translator.bundle.cfg.data.direction)
    if args.src:
        refs = [Path(r) for r in args.ref]
        results = [evaluate_files(translator, Path(args.src), refs, out_dir)]
    else:
        results = evaluate_split(translator, Path(args.data_root), args.split, out_dir)
    for r in results:
        print(r.describe())
    return 0


def _input_lines(args: argparse.Namespace) -> Iterable[str]:
    if args.sentences:
        return args.sentences
    if args.input:
        return iter_lines(Path(args.input))
    return decode_lines(sys.stdin.buffer, "<stdin>")


def _format(translation, as_json: bool, nbest: int) -> str:
    hyps = translation.hypotheses
    if as_json:
        rows = [{"text": h.text, "score": round(h.score, 4)} for h in hyps]
        return json.dumps({"source": translation.source, "hypotheses": rows}, ensure_ascii=False)
    if nbest > 1:
        return "\n".join(f"{h.score:.4f}\t{h.text}" for h in hyps)
    return translation.best


def _write_all(stream: Iterable, f: TextIO, as_json: bool, nbest: int) -> None:
    for t in stream:
        f.write(_format(t, as_json, nbest) + "\n")
        f.flush()


def run_translate(args: argparse.Namespace) -> int:
    translator = _translator(args)
    nbest = translator.decode.nbest
    if not args.sentences and not args.input and sys.stdin.isatty():
        print("Type a sentence and press Enter (Ctrl-D to quit).", file=sys.stderr)
        lines = iter(lambda: _prompt("> "), None)
        _write_all(translator.translate_stream(lines, chunk_lines=1), sys.stdout, args.json, nbest)
        return 0
    if args.output:  # opened first: a folder that does not exist fails before any decoding
        with open_atomic(Path(args.output)) as f:
            _write_all(translator.translate_stream(_input_lines(args)), f, args.json, nbest)
    else:
        _write_all(translator.translate_stream(_input_lines(args)), sys.stdout, args.json, nbest)
    return 0


def _prompt(text: str) -> str | None:
    try:
        return input(text)
    except EOFError:
        print(file=sys.stderr)
        return None


def run_attention(args: argparse.Namespace) -> int:
    from seq2seq.plots import plot_attention

    a = _translator(args).align(args.sentence)
    title = args.sentence if args.title else None
    path = plot_attention(a.weights, a.src_pieces, a.tgt_pieces, Path(args.output), title=title)
    print(f"{' '.join(a.tgt_pieces)}\nattention map: {path}")
    return 0


def run_study(args: argparse.Namespace) -> int:
    from seq2seq.study import format_table
    from seq2seq.study import run_study as study

    models = {}
    for spec in args.model:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise ConfigError(f"--model {spec!r}: write NAME=FOLDER, e.g. attention=models/hi-en")
        models[name] = Path(folder)
    table = study(
        models,
        args.split,
        Path(args.data_root),
        Path(args.output),
        args.examples,
        _decode_overrides(args),
    )
    print(format_table(table))
    print(f"wrote {args.output}/length.json, length.png, hypotheses and attention maps")
    return 0


def run_report(args: argparse.Namespace) -> int:
    from seq2seq.report import write_report

    results = write_report(
        Path(args.model),
        Path(args.output),
        Path(args.data_root),
        args.samples,
        not args.no_variants,
        device=args.device,
        decode_overrides=_decode_overrides(args),
    )
    for t in results["tests"].values():
        print(
            f"{t['test_set']}: BLEU {t['BLEU']:.2f}  chrF++ {t['chrF++']:.2f}  "
            f"BLEU lower-cased {t['BLEU_lc']:.2f}  ({t['references']} references)"
        )
    print(f"wrote {args.output}")
    return 0


def _add_decode_options(p: argparse.ArgumentParser, model: bool = True) -> None:
    if model:
        p.add_argument("--model", required=True, help="model bundle folder, e.g. models/hi-en")
        p.add_argument("--device", default="cpu", help="cpu or cuda")
    for option, _, kind, text in DECODE_OPTIONS:
        p.add_argument(option, type=kind, default=None, help=f"{text} (default: the model's)")


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
    p.add_argument("--out-dir", help="where hypotheses and scores go (eval/<direction>)")
    p.set_defaults(run=run_evaluate)

    p = sub.add_parser("translate", help="translate sentences, a file or stdin")
    _add_decode_options(p)
    p.add_argument("sentences", nargs="*", metavar="SENTENCE")
    p.add_argument("--input", help="input file, one sentence a line")
    p.add_argument("--output", help="output file (default: stdout)")
    p.add_argument(NBEST_OPTION[0], type=int, default=None, help=NBEST_OPTION[3])
    p.add_argument("--json", action="store_true", help="one JSON object per line")
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
    return parser


def _message(e: Seq2SeqError, args: argparse.Namespace) -> str:
    """The error's text; a bad decode value the user typed is named by its option."""
    key = getattr(e, "key", None)
    if key in _OPTIONS and getattr(args, _OPTIONS[key][1], None) is not None:
        return str(e).replace(f"decode.{key}", _OPTIONS[key][0], 1)
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
