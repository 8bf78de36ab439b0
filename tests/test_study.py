"""The attention study and the results page: per-bucket scores that add up, the plots and
pages written, and the CLI's one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from seq2seq.cli.main import main
from seq2seq.evaluate.report import VARIANTS, write_report
from seq2seq.evaluate.study import buckets, run_study

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_buckets_cover_every_nonempty_source_once() -> None:
    sources = ["a", "a b c d e f", "", " ".join(["w"] * 12), " ".join(["w"] * 60)]
    found = buckets(sources)
    assert [b.label for b in found] == ["1-5", "6-10", "11-15", "41+"]
    assert sorted(i for b in found for i in b.rows) == [0, 1, 3, 4]


def test_study_scores_each_bucket_and_draws(
    tiny_bundle: Path, data_root: Path, tmp_path: Path
) -> None:
    table = run_study(
        {"attention": tiny_bundle, "again": tiny_bundle},
        "test-post2012",
        data_root,
        tmp_path,
        examples=1,
        decode_overrides={"beam_size": 1},
    )
    src = (data_root / "hi-en" / "test-post2012.hi").read_text(encoding="utf-8").splitlines()
    assert sum(b["sentences"] for b in table["buckets"]) == sum(bool(s.split()) for s in src)
    assert table["references"] == 4
    for row in table["buckets"]:  # the same model twice: the same scores
        assert row["attention"] == row["again"]
    assert json.loads((tmp_path / "length.json").read_text())["split"] == "test-post2012"
    for name in ("length.png", "attention-1.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG_MAGIC


def test_report_page(tiny_bundle: Path, data_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "hi-en.md"
    results = write_report(tiny_bundle, out, data_root, samples=5)
    page = out.read_text(encoding="utf-8")
    for name in ("test-post2012", "test-vg", "test-vg-challenge"):
        assert f"| {name} |" in page
    assert results["tests"]["test-post2012"]["references"] == 4
    low, high = results["tests"]["test-post2012"]["BLEU_ci"]
    assert low <= results["tests"]["test-post2012"]["BLEU"] <= high
    assert "## test-post2012 by document" in page
    assert len(results["variants"]) == len(VARIANTS)
    assert results["variants_on"] == "dev"  # decoding chosen on dev, not on a test set
    assert (tmp_path / "hi-en" / "test-post2012.hyp").is_file()
    assert page.count("\n| ") >= 3 + len(VARIANTS) + 5
    assert "hyps" not in json.loads(out.with_suffix(".json").read_text())["tests"]["test-vg"]


def test_report_page_of_an_ensemble_names_its_members(
    tiny_bundle: Path, data_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ensemble.md"
    write_report(tiny_bundle, out, data_root, samples=1, variants=False, ensemble=[tiny_bundle])
    assert f"- an ensemble of `{tiny_bundle}`, `{tiny_bundle}` (the first's" in out.read_text()


@pytest.mark.parametrize(
    "args, expected",
    [
        (["study", "--model", "models/hi-en", "-o", "x"], "write NAME=FOLDER"),
    ],
)
def test_cli_one_line_errors(args: list[str], expected: str, capsys) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
