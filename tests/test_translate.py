"""Translation: one output line per input line, whatever the input holds; streaming keeps
order; long inputs are split at sentence ends (danda included) and joined back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seq2seq.decode.translate import Translator


@pytest.fixture(scope="module")
def translator(tiny_bundle: Path) -> Translator:
    return Translator.load(tiny_bundle, beam_size=3)


ODD_INPUTS = [
    "",
    "   ",
    "एक\u200dआदमी\u200c सड़क पर",  # zero-width joiner and non-joiner
    "लाल कार 🚗🙂 और नीला आसमान",  # emoji
    "वह London में Tamil சினிமா देखता है",  # mixed scripts
    "control\x07chars\x00here\tएक",
    "\ufeffबाएं",  # byte-order mark
    "।।।॥",
]


def test_odd_inputs_translate_one_line_each(translator: Translator) -> None:
    out = translator.translate_batch(ODD_INPUTS)
    assert len(out) == len(ODD_INPUTS)
    assert out[0].best == "" and out[1].best == ""
    assert all("\n" not in t.best for t in out)


def test_long_input_is_split_at_dandas(translator: Translator) -> None:
    sentence = "एक आदमी सड़क पर चल रहा है । "
    long_text = sentence * 40
    assert len(translator.bundle.src_vocab.encode(long_text)) > translator.max_src
    segments = translator._segments(translator.normalize(long_text))
    assert len(segments) >= 40 and all(len(s) <= translator.max_src for s in segments)
    [out] = translator.translate_batch([long_text])
    assert out.best and "\n" not in out.best


PARAGRAPH = ["एक आदमी सड़क पर चल रहा है ।", "यह एक सुंदर शहर है ।", "मुझे चाय पसंद है ।"]


def test_a_paragraph_is_translated_sentence_by_sentence(translator: Translator) -> None:
    alone = [t.best for t in translator.translate_batch(PARAGRAPH)]
    text = f"{PARAGRAPH[0]} {PARAGRAPH[1]}\n\n{PARAGRAPH[2]}"
    assert translator.translate(text) == f"{alone[0]} {alone[1]}\n\n{alone[2]}"
    nbest = translator.with_decode(nbest=2).translate_batch([" ".join(PARAGRAPH)])[0]
    assert len(nbest.hypotheses) == 2 and nbest.best == " ".join(alone)


def test_cli_splits_unless_told_not_to(tiny_bundle: Path, translator: Translator) -> None:
    alone = [t.best for t in translator.translate_batch(PARAGRAPH)]
    base = ["translate", "--model", str(tiny_bundle), "--beam", "3"]
    result = _cli([*base, " ".join(PARAGRAPH)])
    assert result.returncode == 0 and result.stdout == " ".join(alone) + "\n"
    whole = translator.with_decode(split_sentences=False).translate(" ".join(PARAGRAPH))
    result = _cli([*base, "--no-split", " ".join(PARAGRAPH)])
    assert result.returncode == 0 and result.stdout == whole + "\n"


def test_unbroken_long_input_is_cut_by_words(translator: Translator) -> None:
    text = "लाल " * 300
    segments = translator._segments(translator.normalize(text))
    assert len(segments) > 1 and all(len(s) <= translator.max_src for s in segments)


def test_stream_keeps_order_and_count(translator: Translator) -> None:
    lines = [f"{n} लाल कार" if n % 7 else "" for n in range(60)]
    streamed = [t.best for t in translator.translate_stream(iter(lines), chunk_lines=16)]
    assert streamed == [t.best for t in translator.translate_batch(lines)]


def _cli(args: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
    seq2seq = Path(sys.executable).parent / "seq2seq"
    return subprocess.run(
        [str(seq2seq), *args], input=stdin, capture_output=True, text=True, timeout=300
    )


def test_cli_stdin_streaming(tiny_bundle: Path, translator: Translator) -> None:
    lines = [f"{n} नीला आसमान" if n % 5 else "" for n in range(700)]  # > one 512-line chunk
    result = _cli(
        ["translate", "--model", str(tiny_bundle), "--beam", "3"],
        "".join(line + "\n" for line in lines),
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.split("\n")[:-1]
    assert len(out) == len(lines)
    assert out[:40] == [t.best for t in translator.translate_batch(lines[:40])]
    assert all(out[n] == "" for n in range(0, 700, 5))


def test_cli_json_nbest_and_output_file(tiny_bundle: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.hi"
    src.write_text("एक आदमी\nलाल कार\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = _cli(
        [
            "translate",
            "--model",
            str(tiny_bundle),
            "--input",
            str(src),
            "--output",
            str(out),
            "--nbest",
            "3",
            "--json",
        ]
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["source"] for r in rows] == ["एक आदमी", "लाल कार"]
    for r in rows:
        scores = [h["score"] for h in r["hypotheses"]]
        assert len(scores) == 3 and scores == sorted(scores, reverse=True)


def test_readme_python_api_example_runs(capsys) -> None:
    """The README's Python API example, run on the golden-test bundle."""
    import re

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    bundle = root / "tests" / "fixtures" / "bundle-v1"
    assert '"hi-en"' in code
    exec(code.replace('"hi-en"', repr(str(bundle)), 1), {})
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all(line.strip() for line in lines)


def test_translate_texts_and_alignments_of_a_batch() -> None:
    """translate() on a text and a list; translate_batch(attention=True) gives each line the
    alignment of its best hypothesis, that of align() for a short line, block-diagonal for a
    line cut into segments."""
    root = Path(__file__).resolve().parents[1]
    tr = Translator.load(root / "tests" / "fixtures" / "bundle-v1")
    texts = ["मुझे चाय पसंद है ।", "भारत की राजधानी नई दिल्ली है ।"]
    assert tr.translate(texts) == [t.best for t in tr.translate_batch(texts)]
    assert tr.translate(texts[0]) == tr.translate(texts)[0]
    found = tr.translate_batch(texts, attention=True)
    for text, t in zip(texts, found):
        a, b = t.alignment, tr.align(text)
        assert a.src_pieces == b.src_pieces and a.tgt_pieces == b.tgt_pieces
        assert np.allclose(a.weights, b.weights, atol=1e-5)
    long_line = " ।".join([texts[1]] * 40)
    [t] = tr.with_decode(beam_size=2).translate_batch([long_line], attention=True)
    w = t.alignment.weights
    assert w.shape == (len(t.alignment.tgt_pieces), len(t.alignment.src_pieces))
    assert np.allclose(w.sum(axis=1), 1, atol=1e-3)  # each output piece: one segment's source
    assert w[0, -1] == 0 and w[-1, 0] == 0  # first segment's output sees no later source
