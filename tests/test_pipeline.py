"""The data pipeline end to end on real text: files, counts, contamination, determinism,
SentencePiece round trips, atomic output, and one-line errors for bad input."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import small_options

import data_prep.parts as parts
import data_prep.pipeline as pipeline
from data_prep.__main__ import main as data_prep_main
from data_prep.parts import PartBuilder
from data_prep.pipeline import prepare
from data_prep.recipes import Take
from data_prep.split import HeldOut
from data_prep.tokenizer import TokenizerSpec
from indic_common.errors import DataError
from seq2seq.model.vocab import Vocab

STEPS = (
    "dropped_empty",
    "dropped_too_long",
    "dropped_ratio",
    "dropped_duplicate",
    "dropped_in_dev_or_test",
    "dropped_near_duplicate",
)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")[:-1]


def test_prepared_folder_layout_and_counts(data_root: Path) -> None:
    folder = data_root / "hi-en"
    meta = json.loads((folder / "meta.json").read_text())
    stats = json.loads((folder / "stats.json").read_text())
    assert meta["tests"]["post2012"]["en_refs"] == 4
    assert (
        len(_lines(folder / "train.hi"))
        == len(_lines(folder / "train.en"))
        == stats["train"]["pairs"]
        > 0
    )
    for part in stats["train"]["parts"].values():
        assert part["kept"] == part["pairs"] - sum(part[s] for s in STEPS)
    for k in range(4):  # four references, all filled
        refs = _lines(folder / ("test-post2012.en" + (f".{k}" if k else "")))
        assert len(refs) == len(_lines(folder / "test-post2012.hi")) and all(refs)
    assert (folder / "spm.model").is_file()
    # Each dev part on its own, with the document of every held-out line.
    assert set(meta["devs"]) == {"vg", "post2012", "pud"}
    assert meta["devs"]["post2012"]["en_refs"] == 4 and meta["devs"]["pud"]["en_refs"] == 1
    assert set(_lines(folder / "dev-pud.domain")) == {"news"}  # PUD's news half, held out
    dev_lines = sum(len(_lines(folder / f"dev-{name}.hi")) for name in meta["devs"])
    assert dev_lines == len(_lines(folder / "dev.hi"))
    for name in ("dev", "dev-post2012", "test-post2012", "test-vg"):
        assert len(_lines(folder / f"{name}.doc")) == len(_lines(folder / f"{name}.hi"))
    docs = set(_lines(folder / "test-post2012.doc"))
    assert 1 < len(docs) < len(_lines(folder / "test-post2012.hi")) / 5  # whole documents


def test_no_training_pair_overlaps_dev_or_test(data_root: Path) -> None:
    folder = data_root / "hi-en"
    held = set()
    for f in folder.iterdir():
        if f.name.startswith(("dev.", "test-")):
            held.update(s.casefold() for s in _lines(f))
    held_8grams = {gram for s in held for gram in _8grams(s)}
    for src, tgt in zip(_lines(folder / "train.hi"), _lines(folder / "train.en")):
        assert src.casefold() not in held and tgt.casefold() not in held
        assert not (_8grams(src) | _8grams(tgt)) & held_8grams, (src, tgt)


def _8grams(text: str) -> set[tuple[str, ...]]:
    words = text.casefold().split()
    return {tuple(words[i : i + 8]) for i in range(len(words) - 7)}


def test_contaminated_pairs_are_removed_and_counted(mini_mirror: Path, tmp_path: Path) -> None:
    """A test pair copied into training goes, and so does a pair sharing 8 words with a test
    reference; one sharing only 7 stays."""
    mirror = tmp_path / "mirror"
    shutil.copytree(mini_mirror / "hi-en", mirror / "hi-en")
    vg = mirror / "hi-en" / "hindi-visual-genome-1.1"
    test_pair = (_lines(vg / "test.hi")[5], _lines(vg / "test.en")[5])
    post = mirror / "hi-en" / "post2012-mturk-wikipedia"
    words = next(w for w in map(str.split, _lines(post / "test.en.2")) if len(w) >= 12)
    eight = ("यह वाक्य जाँच के लिए है", f"So {' '.join(words[2:10])} indeed")
    seven = ("यह वाक्य भी जाँच के लिए है", f"So {' '.join(words[2:9])} indeed")
    for pair in (test_pair, eight, seven):
        for lang, line in zip(("hi", "en"), pair):
            with (vg / f"train.{lang}").open("a", encoding="utf-8") as f:
                f.write(line + "\n")
    folder = prepare("hi-en", tmp_path / "data", small_options(mirror, tmp_path / "cache"))
    stats = json.loads((folder / "stats.json").read_text())
    assert stats["train"]["parts"]["vg/train"]["dropped_in_dev_or_test"] >= 1
    assert stats["train"]["parts"]["vg/train"]["dropped_near_duplicate"] >= 1
    train_en = _lines(folder / "train.en")
    assert test_pair[0] not in _lines(folder / "train.hi")
    assert eight[1] not in train_en and seven[1] in train_en


@pytest.mark.parametrize(
    "lengths",
    [[], [3], [0, 0], [5, 1], [1, 2, 3, 4], [7] * 19 + [100], [9, 2, 2, 30, 2, 11, 5, 5, 0, 64, 3]],
)
def test_length_stats_from_a_histogram(lengths: list[int]) -> None:
    """The counted statistics are the list-based definitions, for odd and even counts."""
    words = sorted(lengths)
    expected = (
        {
            "mean_words": round(statistics.fmean(words), 2),
            "median_words": words[len(words) // 2],
            "p95_words": words[int(0.95 * (len(words) - 1))],
            "max_words": words[-1],
        }
        if words
        else {}
    )
    assert pipeline._histogram_stats(Counter(lengths)) == expected
    assert pipeline._length_stats([" ".join(["w"] * n) for n in lengths]) == expected


def _dedup_mirror(mini_mirror: Path, tmp_path: Path) -> tuple[Path, list[tuple[str, str]]]:
    """A mirror whose Anki part repeats 3 Visual Genome pairs and one of its own."""
    mirror = _broken_mirror(mini_mirror, tmp_path)
    vg = mirror / "hi-en" / "hindi-visual-genome-1.1"
    anki = mirror / "hi-en" / "tatoeba-manythings-anki"
    copied = list(zip(_lines(vg / "train.hi")[:3], _lines(vg / "train.en")[:3]))
    own = (_lines(anki / "train.hi")[0], _lines(anki / "train.en")[0])
    for lang, k in (("hi", 0), ("en", 1)):
        with (anki / f"train.{lang}").open("a", encoding="utf-8") as f:
            f.writelines(p[k] + "\n" for p in [*copied, own])
    return mirror, copied


def test_pairs_are_kept_once_across_parts_before_the_repeats(
    mini_mirror: Path, tmp_path: Path
) -> None:
    mirror, copied = _dedup_mirror(mini_mirror, tmp_path)
    builder = PartBuilder("hi-en", small_options(mirror, tmp_path / "cache"))
    vg, anki = builder.train_parts(
        (Take("vg", "train"), Take("anki", "train", weight=2)), HeldOut([])
    )
    vg_pairs = list(zip(vg["indic"], vg["en"]))
    anki_pairs = list(zip(anki["indic"], anki["en"]))
    half = len(anki_pairs) // 2
    assert anki_pairs[:half] == anki_pairs[half:]  # the weight's repeats stay
    assert len(set(vg_pairs)) == len(vg_pairs) and len(set(anki_pairs)) == half
    assert set(copied) <= set(vg_pairs) and not set(copied) & set(anki_pairs)
    assert anki.column_names == vg.column_names == ["indic", "en", "origin", "domain"]
    counts = builder.stats["train"]["parts"]["anki/train"]
    assert list(counts)[-9:] == [*STEPS, "kept", "weight", "final"]
    assert counts["dropped_duplicate"] >= len(copied) + 1
    assert counts["kept"] == half == counts["pairs"] - sum(counts[s] for s in STEPS)
    assert (counts["weight"], counts["final"]) == (2, len(anki_pairs))


def test_part_emptied_by_deduplication_is_an_error(mini_mirror: Path, tmp_path: Path) -> None:
    builder = PartBuilder("hi-en", small_options(mini_mirror, tmp_path / "cache"))
    with pytest.raises(DataError) as e:
        builder.train_parts((Take("anki", "train"), Take("anki", "train")), HeldOut([]))
    message = str(e.value)
    assert message.startswith("training part anki/train: no training pairs left after filtering")
    assert "dropped_duplicate" in message and "\n" not in message


def test_output_does_not_change_with_batch_sizes(
    data_root: Path, mini_mirror: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(pipeline, "WRITE_BATCH", 7)
    monkeypatch.setattr(parts, "HASH_BATCH", 5)
    folder = prepare("hi-en", tmp_path / "data", small_options(mini_mirror, tmp_path / "cache"))
    for f in sorted(folder.iterdir()):
        if f.name != "spm.model":  # it records its own training paths
            assert f.read_bytes() == (data_root / "hi-en" / f.name).read_bytes(), f.name


def test_same_seed_same_output(mini_mirror: Path, tmp_path: Path) -> None:
    a = prepare("bn-en", tmp_path / "a", small_options(mini_mirror, tmp_path / "cache"))
    b = prepare("bn-en", tmp_path / "b", small_options(mini_mirror, tmp_path / "cache"))
    for f in sorted(a.iterdir()):
        if f.name != "spm.model":  # it records its own training paths; its pieces:
            assert f.read_bytes() == (b / f.name).read_bytes(), f.name


@pytest.mark.parametrize("pair", ["hi-en", "ta-en", "bn-en"])
def test_sentencepiece_round_trip(
    pair: str, mini_mirror: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    work = tmp_path_factory.mktemp(pair)
    folder = prepare(pair, work / "data", small_options(mini_mirror, work / "cache"))
    meta = json.loads((folder / "meta.json").read_text())
    indic = pair.split("-")[0]
    for lang in (indic, "en"):
        vocab = Vocab.from_file(folder / meta["tokenizer"][lang])
        lines = _lines(folder / f"train.{lang}") + _lines(folder / f"dev.{lang}")
        assert lines
        for line in lines:
            assert vocab.decode(vocab.encode(line)) == line


def test_decoded_output_is_one_line(data_root: Path) -> None:
    # A sampling decoder draws byte-fallback pieces now and then; <0x0A> alone made 17 of
    # 60,000 back-translated lines two lines each.
    meta = json.loads((data_root / "hi-en" / "meta.json").read_text())
    vocab = Vocab.from_file(data_root / "hi-en" / meta["tokenizer"]["en"])
    control = [vocab.piece_id(f"<0x{b:02X}>") for b in (0x0A, 0x0D, 0x1C, 0x0B, 0x09)]
    assert None not in control
    house = vocab.encode("a house")
    assert vocab.decode(house[:1] + control[:3] + house[1:] + control[3:]) == "a house"
    assert vocab.decode(house) == "a house"


def test_separate_vocabularies(mini_mirror: Path, tmp_path: Path) -> None:
    options = replace(
        small_options(mini_mirror, tmp_path / "cache"),
        tokenizer=TokenizerSpec(vocab_size=500, joint=False, model_type="bpe"),
    )
    folder = prepare("hi-en", tmp_path / "data", options)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["tokenizer"] == {"hi": "spm.hi.model", "en": "spm.en.model"}
    assert Vocab.from_file(folder / "spm.hi.model").encode("नमस्ते")


def test_interrupted_run_leaves_previous_output(
    data_root: Path, mini_mirror: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "data"
    shutil.copytree(data_root / "hi-en", out / "hi-en")
    before = {f.name: f.read_bytes() for f in (out / "hi-en").iterdir()}

    def fail(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "_train_tokenizers", fail)
    with pytest.raises(KeyboardInterrupt):
        prepare("hi-en", out, small_options(mini_mirror, tmp_path / "cache", seed=5))
    assert {f.name: f.read_bytes() for f in (out / "hi-en").iterdir()} == before
    assert sorted(p.name for p in out.iterdir()) == ["hi-en"]  # no temporary folder left


def _run(args: list[str], capsys) -> tuple[int, str]:
    """Run the CLI; return the exit status and its error line (progress bars may precede it)."""
    code = data_prep_main(args)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("data_prep: error:")]
    assert len(errors) == (1 if code else 0), err[-2000:]
    return code, errors[0] if errors else ""


def _broken_mirror(mini_mirror: Path, tmp_path: Path) -> Path:
    mirror = tmp_path / "mirror"
    shutil.copytree(mini_mirror / "hi-en", mirror / "hi-en")
    return mirror


def test_error_mismatched_line_counts(mini_mirror: Path, tmp_path: Path, capsys) -> None:
    mirror = _broken_mirror(mini_mirror, tmp_path)
    en = mirror / "hi-en" / "hindi-visual-genome-1.1" / "dev.en"
    en.write_text("".join(line + "\n" for line in _lines(en)[:-3]), encoding="utf-8")
    code, err = _run(["hi-en", "--mirror", str(mirror), "--out", str(tmp_path / "d")], capsys)
    assert code == 2
    assert "different line counts" in err and str(en) in err
    assert not (tmp_path / "d" / "hi-en").exists()


def test_error_not_utf8_names_file_and_line(mini_mirror: Path, tmp_path: Path, capsys) -> None:
    mirror = _broken_mirror(mini_mirror, tmp_path)
    hi = mirror / "hi-en" / "tatoeba-manythings-anki" / "train.hi"
    lines = hi.read_bytes().split(b"\n")
    lines[2] = "café".encode("latin-1")
    hi.write_bytes(b"\n".join(lines))
    code, err = _run(["hi-en", "--mirror", str(mirror), "--out", str(tmp_path / "d")], capsys)
    assert code == 2
    assert f"{hi}:3: not valid UTF-8" in err


@pytest.mark.parametrize(
    "args, expected",
    [
        (["xx-en"], "unknown pair 'xx-en': choose one of hi-en, ta-en, bn-en"),
        (["hi-en", "--extra-train", "nope"], "unknown corpus 'nope' for hi-en: known corpora are"),
        (
            ["hi-en", "--mirror", "/nonexistent/mirror"],
            "mirror folder /nonexistent/mirror does not exist",
        ),
    ],
)
def test_error_names_what_is_wrong(args: list[str], expected: str, tmp_path: Path, capsys) -> None:
    code, err = _run(args + ["--out", str(tmp_path / "d")], capsys)
    assert code == 2 and expected in err


def test_error_empty_after_filtering(mini_mirror: Path, tmp_path: Path, capsys) -> None:
    code, err = _run(
        [
            "hi-en",
            "--mirror",
            str(mini_mirror),
            "--out",
            str(tmp_path / "d"),
            "--max-words",
            "0",
            "--cache-dir",
            str(tmp_path / "c"),
        ],
        capsys,
    )
    assert code == 2
    vg = mini_mirror / "hi-en" / "hindi-visual-genome-1.1"
    assert "training part vg/train: no training pairs left after filtering" in err
    assert (
        f"dropped_too_long {len(_lines(vg / 'train.hi'))})" in err and str(vg / "train.hi") in err
    )
    assert not (tmp_path / "d" / "hi-en").exists()


def test_error_empty_corpus_file(mini_mirror: Path, tmp_path: Path, capsys) -> None:
    mirror = _broken_mirror(mini_mirror, tmp_path)
    en = mirror / "hi-en" / "hindencorp-tides-sample" / "train.en"
    en.write_text("", encoding="utf-8")
    code, err = _run(["hi-en", "--mirror", str(mirror), "--out", str(tmp_path / "d")], capsys)
    assert code == 2
    assert err == f"data_prep: error: {en}: empty file; a corpus file holds one segment a line"


def test_extra_train_dictionary(mini_mirror: Path, tmp_path: Path) -> None:
    options = small_options(mini_mirror, tmp_path / "cache", extra_train=("freedict",))
    folder = prepare("hi-en", tmp_path / "data", options)
    part = json.loads((folder / "stats.json").read_text())["train"]["parts"]["freedict/dict"]
    assert part["kind"] == "dictionary" and part["final"] > 0
    origin = _lines(folder / "train.origin")
    assert origin.count("freedict/dict") == part["final"] and origin[-1] == "freedict/dict"


def test_train_origin_names_each_pairs_corpus(data_root: Path) -> None:
    folder = data_root / "hi-en"
    origin = _lines(folder / "train.origin")
    stats = json.loads((folder / "stats.json").read_text())
    assert len(origin) == len(_lines(folder / "train.hi"))
    parts = stats["train"]["parts"]
    for part, counts in parts.items():
        corpus_split = part.split("[")[0]  # "post2012/dev[skip 500]"
        assert origin.count(corpus_split) == counts["final"]
    assert set(origin) == {p.split("[")[0] for p, c in parts.items() if c["final"]}


def test_off_a_terminal_each_step_is_one_plain_line(mini_mirror: Path, tmp_path: Path) -> None:
    """`make data` into a log file or CI: no progress bars (carriage returns), one plain line
    per step with its counts."""
    done = subprocess.run(
        [sys.executable, "-m", "data_prep", "hi-en", "-v", "--mirror", str(mini_mirror)]
        + ["--out", str(tmp_path / "data"), "--cache-dir", str(tmp_path / "cache")]
        + ["--vocab-size", "600"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "\r" not in done.stderr
    assert "INFO data_prep.parts: normalising vg/dev: 80 -> 80 rows" in done.stderr.splitlines()
