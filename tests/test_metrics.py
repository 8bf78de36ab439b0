"""Uncertainty: bootstrap intervals and the paired test behave as their definitions say, per
document BLEU partitions the sentences, and `seq2seq compare` prints one verdict."""

from __future__ import annotations

from pathlib import Path

from sacrebleu.metrics import BLEU, CHRF

from seq2seq.cli.main import main
from seq2seq.evaluate.metrics import bleu_interval, paired_delta, per_document_bleu

REFS = [
    [
        "a man is walking on the road",
        "there is a white plate on the table",
        "the capital of india is new delhi",
        "i like tea very much",
        "a brown dog sits on the green grass",
        "white clouds in the blue sky",
    ]
    * 5
]
GOOD = [r if i % 3 else r.replace("the", "a") for i, r in enumerate(REFS[0])]
BAD = [" ".join(r.split()[:3]) for r in REFS[0]]


def test_interval_holds_sacrebleus_score() -> None:
    interval = bleu_interval(GOOD, REFS)
    assert interval.score == round(BLEU().corpus_score(GOOD, REFS).score, 2)
    assert interval.low <= interval.score <= interval.high
    assert bleu_interval(GOOD, REFS) == interval  # seeded


def test_paired_delta() -> None:
    for metric in ("BLEU", "chrF++"):
        same = paired_delta(GOOD, GOOD, REFS, metric)
        assert (same.score, same.low, same.high) == (0.0, 0.0, 0.0) and not same.excludes_zero
        better = paired_delta(BAD, GOOD, REFS, metric)
        assert better.score > 0 and better.excludes_zero and better.low > 0
        assert paired_delta(GOOD, BAD, REFS, metric).high < 0
    chrf = CHRF(word_order=2)
    expected = chrf.corpus_score(GOOD, REFS).score - chrf.corpus_score(BAD, REFS).score
    assert paired_delta(BAD, GOOD, REFS, "chrF++").score == round(expected, 2)


def test_per_document_bleu() -> None:
    docs = ["a"] * 12 + ["b"] * 18
    by_doc = per_document_bleu(GOOD, REFS, docs)
    assert list(by_doc) == ["b", "a"] and sum(r["sentences"] for r in by_doc.values()) == 30


def test_compare_command(tmp_path: Path, capsys) -> None:
    files = {}
    for name, lines in (("base", BAD), ("new", GOOD), ("ref", REFS[0]), ("doc", ["d1"] * 30)):
        files[name] = tmp_path / name
        files[name].write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    args = ["compare", str(files["base"]), str(files["new"]), "--ref", str(files["ref"])]
    assert main([*args, "--docs", str(files["doc"])]) == 0
    out = capsys.readouterr().out
    assert "95% paired bootstrap" in out and "the interval excludes 0" in out
    assert "BLEU, 95% paired" in out and "chrF++, 95% paired" in out and "hyp/ref 0.4" in out
    assert "document d1 (30 sentences)" in out
    files["new"].write_text("one line\n", encoding="utf-8")
    assert main(args) == 2
    assert "1 lines, but the source has 30" in capsys.readouterr().err
