"""Synthetic-part names in one place (indic_common/synthetic.py): the Makefile's BT_PART writes
the names `part_name` formats, and every shipped config names parts that parse."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from indic_common.synthetic import SyntheticPart, parse_part_name
from seq2seq.config import load_config

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    SyntheticPart("greedy"),
    SyntheticPart("sample", floor="0"),
    SyntheticPart("greedy", floor="0", lines=115000),
    SyntheticPart("greedy", floor="0", iteration=2),
    SyntheticPart("beam", floor="0.6", lines=20000, iteration=3),
    SyntheticPart("copy"),
]


@pytest.mark.parametrize("part", CASES, ids=lambda p: p.name)
def test_makefile_writes_the_name_the_module_formats(part: SyntheticPart) -> None:
    """`make backtranslate` with the part's variables names its output part.name."""
    variables = part.make_variables().split()
    done = subprocess.run(
        ["make", "-s", "--no-print-directory", "--eval=print-bt-part: ; @echo $(BT_PART)"]
        + ["print-bt-part", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.strip() == part.name
    assert parse_part_name(part.name) == part


def test_names_parse_back() -> None:
    assert parse_part_name("bt-greedy-floor0-iter2") == SyntheticPart("greedy", "0", None, 2)
    assert parse_part_name("bt-greedy-floor0-lines115000").lines == 115000
    assert parse_part_name("my-own-part") is None
    assert parse_part_name("bt-nope") is None


def test_every_shipped_synthetic_part_parses() -> None:
    """Every part a shipped config trains on is a name `make backtranslate` writes."""
    named = {
        name
        for path in sorted((ROOT / "configs").glob("*.yaml"))
        if not path.name.startswith("_")
        for name in load_config(path).data.synthetic
    }
    assert "bt-greedy-floor0-iter2" in named
    assert all(parse_part_name(name) for name in named), named
