"""Evaluation: our scores equal sacrebleu's own command line on the same files, with every
reference; reports and hypotheses are written; mismatched references fail with one line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from indic_common.errors import DataError
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.scoring import evaluate_files, evaluate_split


@pytest.fixture(scope="module")
def translator(tiny_bundle: Path) -> Translator:
    return Translator.load(tiny_bundle, beam_size=2)


def _sacrebleu_cli(hyp: Path, refs: list[Path]) -> list[float]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sacrebleu",
            *map(str, refs),
            "-i",
            str(hyp),
            "-m",
            "bleu",
            "chrf",
            "--chrf-word-order",
            "2",
            "-b",
            "-w",
            "2",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [float(x) for x in json.loads(out)]  # with -b, a JSON list of the scores


def test_matches_sacrebleu_cli_with_four_references(
    translator: Translator, data_root: Path, tmp_path: Path
) -> None:
    [report] = evaluate_split(translator, data_root, "test-post2012", tmp_path)
    folder = data_root / "hi-en"
    refs = [folder / "test-post2012.en"] + [folder / f"test-post2012.en.{k}" for k in (1, 2, 3)]
    assert report.references == [str(r) for r in refs]
    ours = [report.scores.bleu.score, report.scores.chrf.score]
    assert ours == _sacrebleu_cli(tmp_path / "test-post2012.hyp", refs)
    assert "nrefs:4" in report.scores.bleu.signature
    saved = json.loads((tmp_path / "test-post2012.json").read_text())
    assert [saved["BLEU"], saved["chrF++"]] == ours and saved["decode"]["beam_size"] == 2


def test_every_test_set(translator: Translator, data_root: Path, tmp_path: Path) -> None:
    reports = evaluate_split(translator, data_root, "test", tmp_path)
    assert [r.name for r in reports] == ["test-post2012", "test-vg", "test-vg-challenge"]
    for r in reports:  # hypotheses always next to the scores
        assert (tmp_path / f"{r.name}.hyp").read_text(encoding="utf-8").count("\n") == len(r.hyps)
        assert (tmp_path / f"{r.name}.json").is_file()


def test_files_and_mismatched_reference(translator: Translator, tmp_path: Path) -> None:
    src, ref, short = tmp_path / "s.hi", tmp_path / "r.en", tmp_path / "short.en"
    src.write_text("एक आदमी\nलाल कार\nनीला आसमान\n", encoding="utf-8")
    ref.write_text("a man\na red car\nblue sky\n", encoding="utf-8")
    short.write_text("a man\n", encoding="utf-8")
    report = evaluate_files(translator, src, [ref], tmp_path / "out")
    assert report.scores.bleu.name == "BLEU" and len(report.hyps) == 3
    assert (tmp_path / "out" / "s.hyp").read_text(encoding="utf-8").count("\n") == 3
    with pytest.raises(DataError, match=f"{short}: 1 lines, but the source has 3"):
        evaluate_files(translator, src, [ref, short], tmp_path / "out")
