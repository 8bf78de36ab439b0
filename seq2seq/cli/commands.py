"""The handlers of the `seq2seq` commands: each turns parsed arguments into one library call
and prints its result. `main.py` builds the parser, runs a handler and owns exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from indic_common.atomic import open_atomic
from indic_common.errors import ConfigError, DataError
from indic_common.textfile import decode_lines, iter_lines, read_lines
from seq2seq.config import EXACT_SEARCH, decode_options

# Decoding flags, declared with DecodeConfig's fields: field -> (flag, argparse dest). Values
# are checked by DecodeConfig itself; an error on a field is reported under its flag.
OPTION_OF_FIELD = {
    o.name: (o.flag, o.flag[2:].replace("-", "_")) for o in decode_options() if o.flag
}


def _decode_overrides(args: argparse.Namespace) -> dict:
    given = {
        field: getattr(args, dest)
        for field, (_, dest) in OPTION_OF_FIELD.items()
        if getattr(args, dest, None) is not None
    }
    if getattr(args, "exact", False):  # the speed-ups a bundle records (seq2seq speedup) off
        given |= EXACT_SEARCH
    return given


def _translator(args: argparse.Namespace):
    from seq2seq.decode.translate import Translator

    return Translator.load(
        Path(args.model),
        args.device,
        args.domain,
        args.src_lang,
        args.tgt_lang,
        ensemble=args.ensemble,
        **_decode_overrides(args),
    )


def run_train(args: argparse.Namespace) -> int:
    from seq2seq.config import config_to_yaml, load_config

    cfg = load_config(Path(args.config), args.overrides)
    if args.print_config:
        print(config_to_yaml(cfg), end="")
        return 0
    from seq2seq.train.trainer import train

    out = train(cfg, args.resume, args.overwrite, progress_bar=sys.stdout.isatty())
    print(f"model bundle: {out}")
    return 0


def run_average(args: argparse.Namespace) -> int:
    from seq2seq.train.averaging import average_bundle

    run = Path(args.run_dir) if args.run_dir else None
    names = average_bundle(Path(args.model), Path(args.output), run)
    print(f"wrote {args.output}: the mean of {', '.join(names)}")
    return 0


def run_config(args: argparse.Namespace) -> int:
    from seq2seq.config import config_to_yaml, load_config

    print(config_to_yaml(load_config(Path(args.config), args.overrides)), end="")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from seq2seq.evaluate.scoring import evaluate_every_direction, evaluate_files, evaluate_split

    if bool(args.src) != bool(args.ref):
        raise ConfigError("--src and --ref go together: the source file and 1+ reference files")
    translator = _translator(args)
    data = translator.bundle.cfg.data
    out_dir = Path(args.out_dir or Path("eval") / (data.pair if data.pairs else data.direction))
    if args.src:
        refs = [Path(r) for r in args.ref]
        results = [evaluate_files(translator, Path(args.src), refs, out_dir)]
    elif args.src_lang is None and args.tgt_lang is None and len(data.targets) > 1:
        # A model into English and into Indic languages: every direction, none chosen.
        results = evaluate_every_direction(translator, Path(args.data_root), args.split, out_dir)
    else:
        results = evaluate_split(translator, Path(args.data_root), args.split, out_dir)
    for r in results:
        print(r.describe())
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from seq2seq.evaluate.scoring import compare_files, format_comparison

    docs = Path(args.docs) if args.docs else None
    print(
        format_comparison(
            compare_files(Path(args.base), Path(args.new), [Path(p) for p in args.ref], docs)
        )
    )
    return 0


def run_errors(args: argparse.Namespace) -> int:
    from indic_common.languages import CODES
    from seq2seq.evaluate.errors import error_kinds, format_error_kinds

    if args.tgt_lang not in CODES:
        raise ConfigError(f"--to {args.tgt_lang!r}: one of {', '.join(CODES)}")
    src, ref = read_lines(Path(args.src)), read_lines(Path(args.ref))
    if len(ref) != len(src):
        raise DataError(
            f"{args.ref}: {len(ref)} references for {len(src)} sources ({args.src}); give the "
            "reference file of that set"
        )
    rows = {}
    for name, path in _named_folders(args.hyps, "output", "base=out/dev.hyp", "FILE").items():
        hyps = read_lines(path)
        if len(hyps) != len(src):
            raise DataError(
                f"{path}: {len(hyps)} lines for {len(src)} sources ({args.src}); give the "
                "outputs of that set"
            )
        rows[name] = error_kinds(src, hyps, ref, args.tgt_lang)
    print(format_error_kinds(rows))
    return 0


def _input_lines(args: argparse.Namespace) -> Iterable[str]:
    if args.sentences:
        return args.sentences
    if args.input:
        return iter_lines(Path(args.input))
    return decode_lines(sys.stdin.buffer, "<stdin>")


def _format(translation, as_json: bool, scored: bool) -> str:
    hyps = translation.hypotheses
    if as_json:
        rows = [{"text": h.text, "score": round(h.score, 4)} for h in hyps]
        return json.dumps({"source": translation.source, "hypotheses": rows}, ensure_ascii=False)
    if scored:  # every hypothesis (n-best) with its score, tab-separated
        return "\n".join(f"{h.score:.4f}\t{h.text}" for h in hyps)
    return translation.best


def _write_all(stream: Iterable, f: TextIO, as_json: bool, scored: bool) -> None:
    for t in stream:
        f.write(_format(t, as_json, scored) + "\n")
        f.flush()


def run_translate(args: argparse.Namespace) -> int:
    translator = _translator(args)
    scored = translator.decode.nbest > 1 or args.scores
    if not args.sentences and not args.input and sys.stdin.isatty():
        print("Type a sentence and press Enter (Ctrl-D to quit).", file=sys.stderr)
        lines = iter(lambda: _prompt("> "), None)
        _write_all(translator.translate_stream(lines, chunk_lines=1), sys.stdout, args.json, scored)
        return 0
    if args.output:  # opened first: a folder that does not exist fails before any decoding
        with open_atomic(Path(args.output)) as f:
            _write_all(translator.translate_stream(_input_lines(args)), f, args.json, scored)
    else:
        _write_all(translator.translate_stream(_input_lines(args)), sys.stdout, args.json, scored)
    return 0


def _prompt(text: str) -> str | None:
    try:
        return input(text)
    except EOFError:
        print(file=sys.stderr)
        return None


def run_attention(args: argparse.Namespace) -> int:
    from seq2seq.evaluate.plots import plot_attention

    a = _translator(args).align(args.sentence)
    title = args.sentence if args.title else None
    path = plot_attention(a.weights, a.src_pieces, a.tgt_pieces, Path(args.output), title=title)
    print(f"{' '.join(a.tgt_pieces)}\nattention map: {path}")
    return 0


def _named_folders(
    specs: list[str], option: str, example: str, what: str = "FOLDER"
) -> dict[str, Path]:
    """NAME=FOLDER (or NAME=FILE) arguments as {name: path}; a malformed one is a one-line
    error."""
    out = {}
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise ConfigError(f"{option} {spec!r}: write NAME={what}, e.g. {example}")
        out[name] = Path(folder)
    return out


def run_study(args: argparse.Namespace) -> int:
    from seq2seq.evaluate.study import format_table
    from seq2seq.evaluate.study import run_study as study

    models = _named_folders(args.model, "--model", "attention=models/hi-en")
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
    from seq2seq.evaluate.report import write_report

    results = write_report(
        Path(args.model),
        Path(args.output),
        Path(args.data_root),
        args.samples,
        not args.no_variants,
        device=args.device,
        decode_overrides=_decode_overrides(args),
        domain=args.domain,
        src_lang=args.src_lang,
        tgt_lang=args.tgt_lang,
        ensemble=args.ensemble,
    )
    for t in results["tests"].values():
        print(
            f"{t['test_set']}: BLEU {t['BLEU']:.2f}  chrF++ {t['chrF++']:.2f}  "
            f"BLEU lower-cased {t['BLEU_lc']:.2f}  ({t['references']} references)"
        )
    print(f"wrote {args.output}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    import logging

    from seq2seq.serve.app import ServeAccess, ServeLimits, serve
    from seq2seq.serve.batcher import BatchSettings

    logging.getLogger("seq2seq.serve").setLevel(logging.INFO)  # the access log, always

    from seq2seq.model.bundle import STORE

    models = args.model or [e["place"] for e in _store_entries()]
    if not models:
        raise ConfigError(f"--model: none given and no model in {STORE}; name one")
    limits = ServeLimits(
        max_texts=args.max_texts,
        max_chars=args.max_chars,
        timeout_s=args.timeout,
        batch=BatchSettings(args.max_batch, args.max_wait_ms, args.max_queued),
    )
    serve(
        [[Path(p) for p in m.split("+")] for m in models],  # a+b: an ensemble
        args.host,
        args.port,
        args.device,
        limits,
        _decode_overrides(args),
        ServeAccess.from_options(args.api_keys and Path(args.api_keys), args.cors_origins),
    )
    return 0


def _store_entries() -> list[dict]:
    from seq2seq.evaluate.store import list_models
    from seq2seq.model.bundle import STORE

    return [e for e in list_models((STORE,)) if "error" not in e]


def run_models(args: argparse.Namespace) -> int:
    from seq2seq.evaluate.store import list_models

    found = list_models()
    if args.json:
        for entry in found:
            print(json.dumps(entry, ensure_ascii=False))
        return 0
    if not found:
        print("no models: train one (`make train PAIR=hi-en`) or get the repository's store")
        return 0
    print(f"{'name':<22} {'directions':<18} {'MB':>6}  {'score':<40} place")
    for e in found:
        if "error" in e:
            print(f"{e['name']:<22} unreadable: {e['error']}")
            continue
        shadow = "  (shadowed by models/)" if e["shadowed"] else ""
        print(
            f"{e['name']:<22} {', '.join(e['directions']):<18} {e['size_mb']:>6.1f}  "
            f"{e['headline']:<40} {e['place']}{shadow}"
        )
    return 0


def run_store(args: argparse.Namespace) -> int:
    from seq2seq.evaluate.store import STORE, score_entry, store_model

    data_root = Path(args.data_root) if args.data_root else None
    if args.score:
        if args.model or args.ensemble:
            raise ConfigError("--score scores a stored entry: give --name, not --model")
        found = score_entry(STORE / args.name, args.score, data_root)
        for name, s in found.items():
            print(f"{name}\tBLEU {s['BLEU']:.2f} {s['BLEU_ci']}\tchrF++ {s['chrF++']:.2f}")
        print(f"scored the {args.score} sets of {STORE / args.name}; its card is updated")
        return 0
    if not args.model:
        raise ConfigError("store: give --model (the bundle to keep), or --score dev|test")
    notes = ""
    if args.notes:
        notes = "\n".join(iter_lines(Path(args.notes))).strip()
    entry = store_model(
        Path(args.model),
        args.name,
        data_root=data_root,
        commands=args.commands,
        cpu=args.cpu,
        notes=notes,
        weights=args.weights,
        ensemble=[Path(m) for m in args.ensemble],
        tests=not args.no_tests,
        direction=args.direction,
    )
    print(f"stored {args.model} as {entry}; its card: {entry / 'README.md'}")
    return 0


def run_curves(args: argparse.Namespace) -> int:
    from seq2seq.evaluate.curves import (
        METRICS,
        dev_curve,
        plot_dev_curves,
        read_curve,
        write_curves,
    )

    runs = _named_folders(args.runs, "--run", "hi-en=runs/hi-en")
    metric = args.metric
    curves = {
        name: read_curve(path, name, metric) if path.suffix == ".tsv" else dev_curve(path, metric)
        for name, path in runs.items()
    }
    output = Path(args.output)
    plot_dev_curves(curves, output, args.dev_set, metric)
    write_curves(curves, output.with_suffix(".tsv"), metric)
    for name, points in curves.items():
        best = max(points, key=lambda p: p.score, default=None)
        if best is None:
            print(f"{name}: no validation {'yet' if metric == 'bleu' else 'with ' + metric}")
            continue
        print(
            f"{name}: {len(points)} validations over {points[-1].minutes:.0f} min; best dev "
            f"{METRICS[metric]} {best.score:.2f} at step {best.step}, {best.minutes:.0f} min"
        )
    print(f"wrote {args.output} and its points, {output.with_suffix('.tsv')}")
    return 0


def run_backtranslate(args: argparse.Namespace) -> int:
    from seq2seq.train.backtranslate import BacktranslateJob, backtranslate

    job = BacktranslateJob(
        input=Path(args.input),
        to=args.to,
        output=Path(args.output),
        model=Path(args.model) if args.model else None,
        method=args.method,
        seed=args.seed,
        chunk_lines=args.chunk_lines,
        max_lines=args.max_lines,
        batch_size=args.batch_size,
        device=args.device,
        min_len_ratio=args.min_len_ratio,
        ensemble=tuple(Path(p) for p in args.ensemble),
    )
    record = backtranslate(job, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(
        f"wrote {args.output}.{job.to} and .{job.from_lang}: {record['lines']} lines "
        f"({args.method}, {record['seconds']} s)"
    )
    return 0


def run_speedup(args: argparse.Namespace) -> int:
    from seq2seq.evaluate.speedup import format_record, speedup

    record = speedup(
        args.model,
        Path(args.data_root) if args.data_root else None,
        Path(args.out) if args.out else None,
        args.max_delta,
        **{k: v for k in ("per_piece", "frequent") if (v := getattr(args, k)) is not None},
        command="seq2seq " + " ".join(sys.argv[1:]),
    )
    print(format_record(record))
    print(f"written: {args.out or args.model}")
    return 0
