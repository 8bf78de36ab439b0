"""`seq2seq train|evaluate|translate|attention`: argparse and one library call each."""

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


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (the program, the error, where to look)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive(name: str):
    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} must be a whole number, got {value!r}"
            ) from None
        if n < 1:
            raise argparse.ArgumentTypeError(f"{name} must be at least 1, got {n}")
        return n

    return parse


def _decode_overrides(args: argparse.Namespace) -> dict:
    out = {}
    if args.beam is not None:
        out["beam_size"] = args.beam
    if getattr(args, "nbest", None) is not None:
        out["nbest"] = args.nbest
        out.setdefault("beam_size", max(args.nbest, 5))
    if args.batch_size is not None:
        out["batch_size"] = args.batch_size
    for key in ("length_penalty", "max_len_ratio", "min_len_ratio", "no_repeat_ngram"):
        if getattr(args, key) is not None:
            out[key] = getattr(args, key)
    if out.get("no_repeat_ngram", 0) < 0:
        raise ConfigError(
            f"--no-repeat-ngram must be 0 (off) or more, got {out['no_repeat_ngram']}"
        )
    for key in ("min_len_ratio", "max_len_ratio"):
        if out.get(key, 0.0) < 0:
            raise ConfigError(f"--{key.replace('_', '-')} must be 0 or more, got {out[key]}")
    if out.get("nbest", 1) > out.get("beam_size", out.get("nbest", 1)):
        raise ConfigError(f"--nbest {out['nbest']} cannot exceed --beam {out['beam_size']}")
    return out


def _translator(args: argparse.Namespace):
    from seq2seq.translate import Translator

    return Translator.from_bundle(Path(args.model), args.device, **_decode_overrides(args))


def run_train(args: argparse.Namespace) -> int:
    from seq2seq.config import load_config
    from seq2seq.train import train

    cfg = load_config(Path(args.config), args.overrides)
    out = train(cfg, resume=args.resume, overwrite=args.overwrite)
    print(f"model bundle: {out}")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from seq2seq.evaluate import evaluate_files, evaluate_split

    translator = _translator(args)
    out_dir = Path(args.out_dir or Path("eval") / translator.bundle.cfg.data.direction)
    if args.src or args.ref:
        if not (args.src and args.ref):
            raise ConfigError(
                "--src and --ref go together: give the source file and at least one reference file"
            )
        reports = [evaluate_files(translator, Path(args.src), [Path(r) for r in args.ref], out_dir)]
    else:
        reports = evaluate_split(translator, Path(args.data_root), args.split, out_dir)
    for r in reports:
        scores = "  ".join(f"{s['name']} {s['score']:.2f}" for s in r["scores"])
        print(
            f"{r['test_set']}: {scores}  (lower-cased BLEU {r['bleu_lowercase']['score']:.2f}; "
            f"{len(r['references'])} reference(s), {r['sentences']} sentences)"
        )
        for s in r["scores"]:
            print(f"  {s['name']} signature: {s['signature']}")
        print(f"  hypotheses: {r['hypotheses_file']}")
        if r["empty_hypotheses"]:
            print(f"  warning: {r['empty_hypotheses']} empty translations")
    return 0


def _input_lines(args: argparse.Namespace) -> Iterable[str]:
    if args.sentences:
        return args.sentences
    if args.input:
        return iter_lines(Path(args.input))
    return decode_lines(sys.stdin.buffer, "<stdin>")


def _format(translation, as_json: bool, nbest: int) -> str:
    if as_json:
        return json.dumps(
            {
                "source": translation.source,
                "hypotheses": [
                    {"text": h.text, "score": round(h.score, 4)} for h in translation.hypotheses
                ],
            },
            ensure_ascii=False,
        )
    if nbest > 1:
        return "\n".join(f"{h.score:.4f}\t{h.text}" for h in translation.hypotheses)
    return translation.best


def _interactive(translator, as_json: bool, nbest: int) -> None:
    print("Type a sentence and press Enter (Ctrl-D to quit).", file=sys.stderr)
    while True:
        try:
            line = input("> ")
        except EOFError:
            print(file=sys.stderr)
            return
        for t in translator.translate_batch([line]):
            print(_format(t, as_json, nbest), flush=True)


def run_translate(args: argparse.Namespace) -> int:
    translator = _translator(args)
    nbest = translator.decode.nbest
    if not args.sentences and not args.input and sys.stdin.isatty():
        _interactive(translator, args.json, nbest)
        return 0
    stream = translator.translate_stream(_input_lines(args))
    if args.output:
        with open_atomic(Path(args.output)) as f:
            _write_all(stream, f, args.json, nbest)
    else:
        _write_all(stream, sys.stdout, args.json, nbest)
    return 0


def _write_all(stream: Iterable, f: TextIO, as_json: bool, nbest: int) -> None:
    for t in stream:
        f.write(_format(t, as_json, nbest) + "\n")
        f.flush()


def run_attention(args: argparse.Namespace) -> int:
    from seq2seq.plots import plot_attention

    translator = _translator(args)
    alignment = translator.align(args.sentence)
    path = plot_attention(
        alignment.weights,
        alignment.src_pieces,
        alignment.tgt_pieces,
        Path(args.output),
        title=args.sentence if args.title else None,
    )
    print(f"{' '.join(alignment.tgt_pieces)}\nattention map: {path}")
    return 0


def run_study(args: argparse.Namespace) -> int:
    from seq2seq.study import run_study as study

    models = {}
    for spec in args.model:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise ConfigError(f"--model {spec!r}: write NAME=FOLDER, e.g. attention=models/hi-en")
        models[name] = Path(folder)
    overrides = {"beam_size": args.beam} if args.beam else {}
    table = study(
        models, args.split, Path(args.data_root), Path(args.output), args.examples, overrides
    )
    names = list(table["models"])
    print("words   sents  " + "  ".join(f"{n + ' BLEU/chrF++':>24}" for n in names))
    for row in [*table["buckets"], {"words": "all", "sentences": "", **table["overall"]}]:
        print(
            f"{row['words']:<7} {row['sentences']!s:>5}  "
            + "  ".join(f"{row[n]['BLEU']:>12.2f} {row[n]['chrF++']:>11.2f}" for n in names)
        )
    print(f"wrote {args.output}/length.json, length.png and attention maps")
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
    for name, t in results["tests"].items():
        print(
            f"{name}: BLEU {t['BLEU']:.2f}  chrF++ {t['chrF++']:.2f}  "
            f"BLEU lower-cased {t['BLEU_lc']:.2f}  ({t['references']} references)"
        )
    print(f"wrote {args.output}")
    return 0


def _add_decode_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="model bundle folder, e.g. models/hi-en")
    p.add_argument("--beam", type=_positive("--beam"), default=None, help="beam size (1: greedy)")
    p.add_argument("--batch-size", type=_positive("--batch-size"), default=None)
    p.add_argument("--length-penalty", type=float, default=None, help="GNMT alpha (0: off)")
    p.add_argument(
        "--max-len-ratio",
        type=float,
        default=None,
        help="output at most this many pieces per source piece (plus an offset)",
    )
    p.add_argument(
        "--min-len-ratio",
        type=float,
        default=None,
        help="no end of sentence before this many pieces per source piece (0: off)",
    )
    p.add_argument(
        "--no-repeat-ngram",
        type=int,
        default=None,
        help="never repeat an n-gram of this many pieces in one output (0: off)",
    )
    p.add_argument("--device", default="cpu", help="cpu or cuda")


def build_parser() -> argparse.ArgumentParser:
    """One subparser per command."""
    parser = _Parser(prog="seq2seq", description="English-Indic LSTM translation")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress (INFO)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("train", help="train a model from a YAML config")
    p.add_argument("--config", required=True, help="e.g. configs/hi-en.yaml")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue from the run's last checkpoint if there is one",
    )
    p.add_argument("--overwrite", action="store_true", help="discard an earlier run's checkpoints")
    p.add_argument("overrides", nargs="*", metavar="SECTION.KEY=VALUE")
    p.set_defaults(run=run_train)

    p = sub.add_parser("evaluate", help="BLEU and chrF++ on a test set")
    _add_decode_options(p)
    p.add_argument(
        "--split",
        default="test",
        help="test (every test set), dev, or one name such as test-post2012",
    )
    p.add_argument("--data-root", default="data", help="prepared data root (data/)")
    p.add_argument("--src", help="source file (instead of --split)")
    p.add_argument("--ref", action="append", help="reference file; repeat for several")
    p.add_argument("--out-dir", help="where hypotheses and the JSON report go (eval/<direction>)")
    p.set_defaults(run=run_evaluate)

    p = sub.add_parser("translate", help="translate sentences, a file or stdin")
    _add_decode_options(p)
    p.add_argument("sentences", nargs="*", metavar="SENTENCE")
    p.add_argument("--input", help="input file, one sentence a line")
    p.add_argument("--output", help="output file (default: stdout)")
    p.add_argument("--nbest", type=_positive("--nbest"), default=None, help="hypotheses per line")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(run=run_translate)

    p = sub.add_parser("attention", help="plot the attention of one translation")
    _add_decode_options(p)
    p.add_argument("sentence")
    p.add_argument("-o", "--output", default="attention.png", help="PNG, SVG or PDF file")
    p.add_argument("--title", action="store_true", help="put the source sentence on top")
    p.set_defaults(run=run_attention)

    p = sub.add_parser(
        "study",
        help="quality by source length for several models (Bahdanau "
        "et al. 2015, Fig. 2) and attention maps",
    )
    p.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="NAME=FOLDER",
        help="a model bundle and its name in the plot; repeat for each model",
    )
    p.add_argument("--split", default="test-post2012", help="a prepared test set")
    p.add_argument("--data-root", default="data", help="prepared data root (data/)")
    p.add_argument(
        "--beam",
        type=_positive("--beam"),
        default=None,
        help="beam size for every model (default: each model's own)",
    )
    p.add_argument("--examples", type=int, default=3, help="attention maps to draw")
    p.add_argument("-o", "--output", required=True, help="output folder")
    p.set_defaults(run=run_study)

    p = sub.add_parser(
        "report",
        help="a Markdown results page for one model: every test set, "
        "decoding variants, sample translations",
    )
    _add_decode_options(p)
    p.add_argument("--data-root", default="data", help="prepared data root (data/)")
    p.add_argument("--samples", type=int, default=20, help="sample translations to show")
    p.add_argument("--no-variants", action="store_true", help="skip the decoding variants")
    p.add_argument("-o", "--output", required=True, help="Markdown file, e.g. results/hi-en.md")
    p.set_defaults(run=run_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `seq2seq` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except Seq2SeqError as e:
        print(f"seq2seq {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"seq2seq {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
