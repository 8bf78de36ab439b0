"""The command line: bad input gets one line on stderr and exit status 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from seq2seq.cli.main import main


def _run(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line_error(code: int, err: str, expected: str) -> None:
    assert code == 2
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err


def test_missing_model_folder(tmp_path: Path, capsys) -> None:
    code, _, err = _run(["translate", "--model", str(tmp_path / "none"), "x"], capsys)
    _one_line_error(code, err, "no such model folder")


def test_foreign_model_folder(tmp_path: Path, capsys) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.pt").write_bytes(b"\x80\x04")
    code, _, err = _run(["evaluate", "--model", str(tmp_path / "m")], capsys)
    _one_line_error(code, err, "not a model bundle")


def test_input_not_utf8_names_file_and_line(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "in.txt"
    path.write_bytes("एक\nदो\n".encode() + b"caf\xe9\n")
    code, out, err = _run(
        [
            "translate",
            "--model",
            str(tiny_bundle),
            "--input",
            str(path),
            "--output",
            str(tmp_path / "out.txt"),
        ],
        capsys,
    )
    _one_line_error(code, err, f"{path}:3: not valid UTF-8")
    assert not (tmp_path / "out.txt").exists()  # no half-written output
    assert not list(tmp_path.glob(".out.txt*"))


def test_reference_with_other_line_count(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "s.hi").write_text("एक\nदो\n", encoding="utf-8")
    (tmp_path / "r.en").write_text("one\n", encoding="utf-8")
    code, _, err = _run(
        [
            "evaluate",
            "--model",
            str(tiny_bundle),
            "--src",
            str(tmp_path / "s.hi"),
            "--ref",
            str(tmp_path / "r.en"),
            "--out-dir",
            str(tmp_path),
        ],
        capsys,
    )
    _one_line_error(code, err, "r.en: 1 lines, but the source has 2")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["--beam", "0"], "--beam must be positive (got 0)"),
        (["--beam", "two"], "argument --beam: invalid int value: 'two'"),
        (["--nbest", "4", "--beam", "2"], "--nbest (4) cannot exceed beam_size (2)"),
        (["--nbest", "9"], "--nbest (9) cannot exceed beam_size (3)"),  # no silent beam change
        (["--length-penalty", "nan"], "--length-penalty must be a finite number (got nan)"),
        (["--max-len-ratio", "inf"], "--max-len-ratio must be a finite number (got inf)"),
        (["--min-len-ratio", "-0.5"], "--min-len-ratio must be 0 or more"),
        (["--no-repeat-ngram", "-1"], "--no-repeat-ngram must be 0 (off) or more"),
        (["--batch-size", "0"], "--batch-size must be positive (got 0)"),
    ],
)
def test_bad_options(tiny_bundle: Path, args: list[str], expected: str, capsys) -> None:
    code, _, err = _run(["translate", "--model", str(tiny_bundle), *args, "x"], capsys)
    _one_line_error(code, err, expected)


def test_bad_config(tmp_path: Path, capsys) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("model:\n  hiden: 3\n", encoding="utf-8")
    code, _, err = _run(["train", "--config", str(path)], capsys)
    _one_line_error(code, err, f"{path}")


def test_translate_sentences(tiny_bundle: Path, capsys) -> None:
    code, out, _ = _run(["translate", "--model", str(tiny_bundle), "एक आदमी", "", "लाल"], capsys)
    assert code == 0 and len(out.split("\n")[:-1]) == 3


def test_attention_plot(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    code, out, err = _run(
        ["attention", "--model", str(tiny_bundle), "एक आदमी सड़क पर", "-o", str(tmp_path / "a.png")],
        capsys,
    )
    assert code == 0, err
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"


def test_output_in_missing_folder_is_one_line(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "no" / "such" / "out.txt"
    code, _, err = _run(
        ["translate", "--model", str(tiny_bundle), "--output", str(out), "x"], capsys
    )
    _one_line_error(code, err, f"{out}: cannot write there: the folder {out.parent} does not exist")


def test_config_prints_the_resolved_config(capsys) -> None:
    config = Path(__file__).resolve().parents[1] / "configs" / "hi-en-noattn.yaml"
    code, out, _ = _run(["config", str(config), "name=x", "train.max_steps=7"], capsys)
    assert code == 0
    assert "name: x" in out and "max_steps: 7" in out and "attention: none" in out
    assert "no_repeat_ngram: 3" in out and "base" not in out  # from the recipe, resolved
    code, out2, _ = _run(
        ["train", "--config", str(config), "--print-config", "name=x", "train.max_steps=7"], capsys
    )
    assert code == 0 and out2 == out


def test_translate_with_scores(tiny_bundle: Path, capsys) -> None:
    code, out, _ = _run(
        ["translate", "--model", str(tiny_bundle), "--scores", "एक आदमी", "कार"], capsys
    )
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    for line in lines:
        score, _, text = line.partition("\t")
        assert float(score) < 0 and text.strip()


def test_decoding_flags_and_request_fields_come_from_decode_config(capsys) -> None:
    """Each decoding option is declared once, as a DecodeConfig field: the CLI's flags and the
    server's request fields are generated from it, with its help text."""
    from seq2seq.config import decode_options
    from seq2seq.serve.ours import TranslateRequest

    with pytest.raises(SystemExit):
        main(["translate", "--help"])
    usage = " ".join(capsys.readouterr().out.split())
    options = decode_options()
    assert {o.name for o in options} >= {"beam_size", "nbest", "min_len_ratio"}
    for option in options:
        assert option.flag in usage and " ".join(option.help.split()) in usage, option
    requested = {o.request for o in options if o.request}
    assert requested == {"beam", "nbest", "split"}
    assert requested <= set(TranslateRequest.model_fields)
