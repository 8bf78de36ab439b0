"""Kinds of error counted in outputs (seq2seq/evaluate/errors.py, `seq2seq errors`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.cli.main import main
from seq2seq.evaluate.errors import error_kinds

SOURCES = [
    "The war ended in 1945.",
    "He was born in 1877 in Calcutta.",
    "The river is long.",
    "Apple makes phones.",
]
REFERENCES = [
    "போர் 1945 இல் முடிந்தது.",
    "அவர் 1877 இல் கல்கத்தாவில் பிறந்தார்.",
    "நதி நீளமானது.",
    "Apple தொலைபேசிகளை உருவாக்குகிறது.",
]
HYPOTHESES = [
    "போர் ஆயிரத்து தொள்ளாயிரத்து நாற்பத்தைந்தில் முடிந்தது.",  # the year spelled out
    "அவர் 1877 இல் Calcutta பிறந்தார் 12.",  # English left, a number invented
    "நதி.",  # short
    "Apple தொலைபேசிகளை உருவாக்குகிறது.",  # a name kept as the source writes it
]


def test_each_kind_is_counted_on_its_lines() -> None:
    counts = error_kinds(SOURCES, HYPOTHESES, REFERENCES, "ta")
    assert counts["lines"] == 4
    assert counts["wrong_script"] == 2  # "Calcutta", and "Apple" as the reference has it
    assert (counts["with_numbers"], counts["numbers_lost"], counts["numbers_as_words"]) == (2, 1, 1)
    assert counts["numbers_invented"] == 1
    assert counts["short"] == 1 and counts["long"] == 1  # "நதி.", and the spelled-out year
    human = error_kinds(SOURCES, REFERENCES, REFERENCES, "ta")
    assert human["wrong_script"] == 1  # the reference's own rate: "Apple"
    assert human["numbers_lost"] == human["numbers_invented"] == 0
    assert human["length_ratio"] == 1.0 and human["short"] == human["long"] == 0
    with pytest.raises(ValueError, match="4 sources, 3 outputs"):
        error_kinds(SOURCES, HYPOTHESES[:3], REFERENCES, "ta")


def test_indic_words_left_in_english_output() -> None:
    source, reference = ["அவர் 1877 இல் பிறந்தார்."], ["He was born in 1877."]
    left = error_kinds(source, ["He was பிறந்தார் in 1877."], reference, "en")
    assert left["wrong_script"] == 1 and left["numbers_lost"] == 0
    right = error_kinds(source, ["He was born in 1877."], reference, "en")
    assert right["wrong_script"] == 0


def test_the_command_prints_one_row_per_system(tmp_path: Path, capsys) -> None:
    files = {}
    for name, lines in (
        ("src", SOURCES),
        ("ref", REFERENCES),
        ("a", HYPOTHESES),
        ("b", REFERENCES),
    ):
        files[name] = tmp_path / name
        files[name].write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["errors", f"base={files['a']}", f"new={files['b']}"]
    assert main([*args, "--src", str(files["src"]), "--ref", str(files["ref"]), "--to", "ta"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 4 and out[2].startswith("| base | 2 (50.0%) | 1 (50.0%) of 2 |")
    files["a"].write_text("one line\n", encoding="utf-8")
    assert main([*args, "--src", str(files["src"]), "--ref", str(files["ref"]), "--to", "ta"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "1 lines for 4 sources" in err[0]
    assert main(["errors", "x.hyp", "--src", str(files["src"]), "--ref", "r", "--to", "ta"]) == 2
    assert "r: file not found" in capsys.readouterr().err
    where = ["--src", str(files["src"]), "--ref", str(files["ref"])]
    assert main(["errors", "x.hyp", *where, "--to", "ta"]) == 2
    assert "output 'x.hyp': write NAME=FILE" in capsys.readouterr().err
    assert main(["errors", f"a={files['b']}", *where, "--to", "xx"]) == 2
    assert "--to 'xx': one of" in capsys.readouterr().err
