"""evaluate(): translate a test set and score it against every reference with sacrebleu."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import NamedTuple

from indic_common.textfile import read_lines
from seq2seq.metrics import Score, check_streams, corpus_scores, length_ratio
from seq2seq.prepared import PreparedPair
from seq2seq.translate import Translator

log = logging.getLogger(__name__)


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class Scored(NamedTuple):
    """A test set translated and scored: what evaluate's and report's pages are made of."""

    hyps: list[str]
    scores: list[Score]  # BLEU, chrF++ (case-sensitive)
    bleu_lowercase: Score
    seconds: float  # decoding time
    length_ratio: float  # hypothesis words over first-reference words
    empty: int  # empty hypotheses (a decoding bug if not 0)


def translate_and_score(translator: Translator, src: list[str], refs: list[list[str]]) -> Scored:
    """Translate `src` with the translator's settings and score it against every reference."""
    start = time.monotonic()
    hyps = [t.best for t in translator.translate_batch(src)]
    seconds = time.monotonic() - start
    return Scored(
        hyps,
        corpus_scores(hyps, refs),
        corpus_scores(hyps, refs, lowercase=True)[0],
        seconds,
        length_ratio(hyps, refs[0]),
        sum(not h.strip() for h in hyps),
    )


def score_files(
    translator: Translator,
    src: list[str],
    refs: list[list[str]],
    ref_names: list[str],
    name: str,
    out_dir: Path,
) -> dict:
    """Translate `src`, score against `refs`; write `<name>.hyp` and `<name>.json` to out_dir."""
    check_streams(src, refs, ref_names)
    hyps, scores, lower, seconds, ratio, empty = translate_and_score(translator, src, refs)
    d = translator.decode
    report = {
        "model": str(translator.bundle.path),
        "direction": translator.bundle.cfg.data.direction,
        "test_set": name,
        "sentences": len(src),
        "references": ref_names,
        "beam_size": d.beam_size,
        "length_penalty": d.length_penalty,
        "scores": [asdict(s) for s in scores],
        "bleu_lowercase": asdict(lower),
        "decode_seconds": round(seconds, 2),
        "hyp_length_ratio": ratio,
        "empty_hypotheses": empty,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_atomic(out_dir / f"{name}.hyp", "".join(h + "\n" for h in hyps))
    _write_atomic(out_dir / f"{name}.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    report["hypotheses_file"] = str(out_dir / f"{name}.hyp")
    return report


def evaluate_split(
    translator: Translator, data_root: Path, split: str, out_dir: Path
) -> list[dict]:
    """Score prepared test sets: `test` means every one, else a name such as test-post2012."""
    cfg = translator.bundle.cfg.data
    prepared = PreparedPair(data_root / cfg.pair)
    names = prepared.test_sets() if split == "test" else [split]
    reports = []
    for name in names:
        src = prepared.read(name, cfg.src_lang)
        refs = prepared.references(name, cfg.tgt_lang)
        n_refs = len(refs)
        ref_names = [
            f"{prepared.root / name}.{cfg.tgt_lang}" + (f".{k}" if k else "") for k in range(n_refs)
        ]
        log.info("evaluating %s: %d sentences, %d references", name, len(src), n_refs)
        reports.append(score_files(translator, src, refs, ref_names, name, out_dir))
    return reports


def evaluate_files(
    translator: Translator, src_path: Path, ref_paths: list[Path], out_dir: Path
) -> dict:
    """Score a source file against one or more reference files."""
    src = read_lines(src_path)
    refs = [read_lines(p) for p in ref_paths]
    return score_files(translator, src, refs, [str(p) for p in ref_paths], src_path.stem, out_dir)
