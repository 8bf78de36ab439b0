"""Back-translation: monolingual English filtered against the pair, synthetic parts made with a
model or by the baselines, an interrupted run that ends with the same corpus, training that
reads the parts (tagged), and bad input with one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import tiny_config

from data_prep.mono import MonoSource, mono_langs, prepare_mono
from indic_common.errors import ConfigError, DataError
from seq2seq.cli.main import main
from seq2seq.data.prepared import PreparedPair
from seq2seq.train.backtranslate import BacktranslateJob, backtranslate


@pytest.fixture
def folder(data_root: Path, tmp_path: Path) -> Path:
    """A copy of the prepared hi-en folder (the tests write into it)."""
    return Path(shutil.copytree(data_root / "hi-en", tmp_path / "data" / "hi-en"))


def test_mono_is_filtered_against_the_pair(folder: Path, tmp_path: Path) -> None:
    prepared = PreparedPair(folder)
    dev_ref = prepared.read("dev-post2012", "en.2")[0]
    test_ref = next(r for r in prepared.read("test-post2012", "en") if len(r.split()) >= 10)
    train_en = prepared.read("train", "en")[5]
    new = ["The temple was built in the twelfth century by the king.", "Rivers flood."]
    lines = [
        new[0],
        "",
        dev_ref.upper(),  # held out, up to case
        "Before it: " + " ".join(test_ref.split()[:9]) + " and more words here.",  # 8-gram
        train_en,  # a training pair's English
        new[0],  # a repeat
        "word " * 120,  # over the word limit
        "Held segment line.",  # its segment is a real pair
        new[1],
    ]
    mirror = tmp_path / "mirror"
    (mirror / "mono").mkdir(parents=True)
    (mirror / "mono" / "training.hi-en.en").write_text("\n".join(lines) + "\n", encoding="utf-8")
    segs = [f"1_{i}" for i in range(len(lines))]
    (mirror / "mono" / "training.hi-en.seg_ids").write_text("\n".join(segs) + "\n")
    held = mirror / "hi-en" / "post2012-mturk-wikipedia-train-partial"
    held.mkdir(parents=True)
    (held / "train.seg_ids").write_text("1_7\n")
    source = MonoSource(
        "post2012mono/hi", "mono/training.hi-en.en", ("hi-en", "post2012train", "train")
    )
    assert prepare_mono("hi-en", folder.parent, mirror, sources=(source,)).name == "mono.json"
    assert sorted((folder / "mono.en").read_text(encoding="utf-8").splitlines()) == sorted(new)
    assert (folder / "mono.origin").read_text().splitlines() == ["post2012mono/hi"] * 2
    counts = json.loads((folder / "mono.json").read_text())["sources"]["post2012mono/hi"]
    assert counts == {
        "read": 9,
        "empty": 1,
        "too_long": 1,
        "repeat": 1,
        "real_pair": 2,
        "held_out": 1,
        "near_held_out": 1,
        "kept": 2,
    }
    (mirror / "mono" / "training.hi-en.en").write_bytes(b"fine\n\xff\xfe bad\n")
    with pytest.raises(DataError, match=r"training.hi-en.en:2: not valid UTF-8"):
        prepare_mono("hi-en", folder.parent, mirror, sources=(source,))
    (mirror / "mono" / "training.hi-en.en").write_text(dev_ref + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="every monolingual line was filtered out"):
        prepare_mono("hi-en", folder.parent, mirror, sources=(source,))


def test_indic_mono_is_normalised_and_filtered(folder: Path, tmp_path: Path) -> None:
    """mono.hi: the pair's Indian language from mono-hi/, normalised as training Hindi (digits
    to ASCII), without training sources, held-out lines or repeats; its own origin and
    counts files, so that mono.en is untouched."""
    prepared = PreparedPair(folder)
    train_hi = prepared.read("train", "hi")[3]
    dev_hi = prepared.read("dev-post2012", "hi")[0]
    lines = ["यह वर्ष १९९९ था ।", train_hi, dev_hi, "यह वर्ष १९९९ था ।", "नया वाक्य ।"]
    mirror = tmp_path / "mirror"
    (mirror / "mono-hi" / "cv").mkdir(parents=True)
    (mirror / "mono-hi" / "cv" / "train.hi").write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = MonoSource("cv/train.hi", "mono-hi/cv/train.hi")
    path = prepare_mono("hi-en", folder.parent, mirror, sources=(source,), lang="hi")
    assert path.name == "mono.hi.json" and not (folder / "mono.en").exists()
    kept = (folder / "mono.hi").read_text(encoding="utf-8").splitlines()
    assert sorted(kept) == sorted(["यह वर्ष 1999 था ।", "नया वाक्य ।"])
    assert (folder / "mono.hi.origin").read_text().splitlines() == ["cv/train.hi"] * 2
    counts = json.loads(path.read_text())["sources"]["cv/train.hi"]
    assert (counts["real_pair"], counts["held_out"], counts["repeat"]) == (1, 1, 1)
    with pytest.raises(DataError, match="monolingual text is English or hi, not 'ta'"):
        prepare_mono("hi-en", folder.parent, mirror, sources=(source,), lang="ta")
    assert mono_langs("hi-en", mirror) == ["en"]  # the catalogued Hindi corpus is not there
    assert mono_langs("multi", mirror) == ["en"]


def _hindi_mono(folder: Path, n: int) -> Path:
    """n Hindi lines as a monolingual file (the tiny model translates hi->en)."""
    path = folder / "mono.hi"
    lines = PreparedPair(folder).read("train", "hi")[:n]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_greedy_back_translation_is_the_translators(tiny_bundle: Path, folder: Path) -> None:
    from seq2seq.decode.translate import Translator

    mono = _hindi_mono(folder, 30)
    out = folder / "synthetic" / "bt"
    job = BacktranslateJob(mono, "en", out, model=tiny_bundle, chunk_lines=7)
    record = backtranslate(job)
    expected = Translator.load(tiny_bundle, beam_size=1).translate(mono.read_text().splitlines())
    assert (folder / "synthetic" / "bt.en").read_text(encoding="utf-8").splitlines() == expected
    hindi = (folder / "synthetic" / "bt.hi").read_text(encoding="utf-8").splitlines()
    assert len(hindi) == 30 and record["lines"] == 30 and record["method"] == "greedy"
    assert not (folder / "synthetic" / "bt.parts").exists()
    assert backtranslate(job)["seconds"] == record["seconds"]  # already made: not redone


def test_an_ensemble_back_translates_as_the_translator(tiny_bundle: Path, folder: Path) -> None:
    from seq2seq.decode.translate import Translator

    mono = _hindi_mono(folder, 12)
    job = BacktranslateJob(mono, "en", folder / "e" / "bt", tiny_bundle, ensemble=(tiny_bundle,))
    record = backtranslate(job)
    joined = Translator.load(tiny_bundle, beam_size=1, ensemble=[tiny_bundle])
    expected = joined.translate(mono.read_text().splitlines())
    assert (folder / "e" / "bt.en").read_text(encoding="utf-8").splitlines() == expected
    assert [m["model"] for m in record["ensemble"]] == [str(tiny_bundle)]
    out = str(folder / "cli" / "bt")
    args = ["--input", str(mono), "--to", "en", "--output", out, "--model", str(tiny_bundle)]
    assert main(["backtranslate", *args, "--ensemble", str(tiny_bundle)]) == 0
    assert (folder / "cli" / "bt.en").read_text(encoding="utf-8").splitlines() == expected
    with pytest.raises(ConfigError, match="--ensemble: --method copy"):
        backtranslate(
            BacktranslateJob(mono, "en", folder / "x", method="copy", ensemble=(tiny_bundle,))
        )


def test_the_length_floor_can_be_replaced(
    tiny_bundle: Path, folder: Path, capsys: pytest.CaptureFixture
) -> None:
    from seq2seq.decode.translate import Translator

    mono = _hindi_mono(folder, 12)
    out = folder / "synthetic" / "floor"
    record = backtranslate(BacktranslateJob(mono, "en", out, tiny_bundle, min_len_ratio=1.2))
    lines = mono.read_text().splitlines()
    floored = Translator.load(tiny_bundle, beam_size=1, min_len_ratio=1.2).translate(lines)
    assert (folder / "synthetic" / "floor.en").read_text(encoding="utf-8").splitlines() == floored
    assert record["decode"]["min_len_ratio"] == 1.2  # part of the job: a rerun checks it
    code = main(
        ["backtranslate", "--input", str(mono), "--to", "en", "--output", str(folder / "x")]
        + ["--model", str(tiny_bundle), "--min-len-ratio", "-1"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--min-len-ratio" in err


def test_interrupted_sampling_gives_the_same_corpus(tiny_bundle: Path, folder: Path) -> None:
    mono = _hindi_mono(folder, 20)
    whole = BacktranslateJob(mono, "en", folder / "a" / "bt", tiny_bundle, "sample", chunk_lines=5)
    backtranslate(whole)
    cut = BacktranslateJob(mono, "en", folder / "b" / "bt", tiny_bundle, "sample", chunk_lines=5)
    calls = []

    def kill_after_two(line: str) -> None:
        calls.append(line)
        if len(calls) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backtranslate(cut, progress=kill_after_two)
    assert not (folder / "b" / "bt.en").exists()  # nothing final after a killed run
    record = backtranslate(cut)
    assert record["reused_lines"] == 10
    for lang in ("en", "hi"):
        assert (folder / "b" / f"bt.{lang}").read_bytes() == (
            folder / "a" / f"bt.{lang}"
        ).read_bytes()
    greedy = BacktranslateJob(mono, "en", folder / "c" / "bt", tiny_bundle, chunk_lines=5)
    backtranslate(greedy)
    assert (folder / "c" / "bt.en").read_text() != (folder / "a" / "bt.en").read_text()
    changed = BacktranslateJob(mono, "en", folder / "b" / "bt", tiny_bundle, "sample", seed=2)
    (folder / "b" / "bt.parts").mkdir()
    (folder / "b" / "bt.parts" / "job.json").write_text(json.dumps({"seed": 1}))
    with pytest.raises(DataError, match="left by another back-translation job"):
        backtranslate(changed)


def test_baselines_need_no_model_and_bad_input(tiny_bundle: Path, folder: Path) -> None:
    mono = folder / "mono.en"
    mono.write_text("A  temple.\nThe river.\n", encoding="utf-8")
    backtranslate(BacktranslateJob(mono, "hi", folder / "synthetic" / "copy", method="copy"))
    backtranslate(BacktranslateJob(mono, "hi", folder / "synthetic" / "dummy", method="dummy"))
    syn = folder / "synthetic"
    assert (
        (syn / "copy.hi").read_text() == (syn / "copy.en").read_text() == "A temple.\nThe river.\n"
    )
    assert (syn / "dummy.hi").read_text() == "\n\n"

    with pytest.raises(ConfigError, match="translates hi->en; .* needs a en->hi model"):
        backtranslate(BacktranslateJob(mono, "hi", syn / "x", tiny_bundle))
    with pytest.raises(ConfigError, match="--method greedy translates with a model"):
        backtranslate(BacktranslateJob(mono, "hi", syn / "x"))
    (folder / "empty.en").write_text("")
    with pytest.raises(DataError, match="empty.en: empty file"):
        backtranslate(BacktranslateJob(folder / "empty.en", "hi", syn / "e", method="copy"))
    (folder / "bad.en").write_bytes(b"ok\nok\n\xff\n")
    with pytest.raises(DataError, match=r"bad.en:3: not valid UTF-8"):
        backtranslate(BacktranslateJob(folder / "bad.en", "hi", syn / "b", method="copy"))
    assert not (syn / "b.hi").exists()


def test_cli_errors_are_one_line(folder: Path, capsys: pytest.CaptureFixture) -> None:
    code = main(
        ["backtranslate", "--input", str(folder / "none.en"), "--to", "hi"]
        + ["--output", str(folder / "x"), "--method", "copy"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "none.en: file not found" in err
    code = main(
        ["backtranslate", "--input", "m.en", "--to", "xx", "--output", "o", "--method", "copy"]
    )
    assert code == 2 and "--to 'xx'" in capsys.readouterr().err


def test_training_reads_tagged_synthetic_parts(folder: Path, tmp_path: Path) -> None:
    from seq2seq.data.batches import TranslationData

    mono = folder / "mono.en"
    mono.write_text("The temple is old.\nThe river is long.\nA fort.\n", encoding="utf-8")
    backtranslate(BacktranslateJob(mono, "hi", folder / "synthetic" / "dummy", method="dummy"))
    root = folder.parent
    plain = TranslationData(tiny_config(root, tmp_path, data={"domain_tags": True}).data, 1)
    plain.setup()
    cfg = tiny_config(root, tmp_path, data={"domain_tags": True, "synthetic": {"dummy": 2}})
    data = TranslationData(cfg.data, seed=1)
    data.setup()
    assert len(data.train_corpus) == len(plain.train_corpus) + 6
    tag = data.src_vocab.piece_id("<dom:backtranslation>")
    tagged = [i for i in range(len(data.train_corpus)) if data.train_corpus[i][0][0] == tag]
    assert len(tagged) == 6 and all(len(data.train_corpus[i][0]) == 1 for i in tagged)
    assert "backtranslation" in data.domains

    cfg = tiny_config(root, tmp_path, data={"synthetic": {"bt-sample": 1}})
    missing = r"names 'bt-sample', but .*bt-sample.json is missing .*"
    command = r"make it with `make backtranslate PAIR=hi-en BT_METHOD=sample`$"
    with pytest.raises(DataError, match=missing + command):
        TranslationData(cfg.data, seed=1).setup()
    prepared = PreparedPair(folder)
    assert (
        prepared.synthetic_command("bt-greedy-floor0")
        == "`make backtranslate PAIR=hi-en BT_FLOOR=0`"
    )
    assert (
        prepared.synthetic_command("bt-sample-lines115000")
        == "`make backtranslate PAIR=hi-en BT_METHOD=sample BT_LINES=115000`"
    )
    assert prepared.synthetic_command("mine").startswith("`seq2seq backtranslate --output ")
    in_multi = PreparedPair(Path(shutil.copytree(folder, tmp_path / "multi" / "hi-en")))
    assert in_multi.synthetic_command("bt-greedy") == "`make backtranslate PAIR=multi`"
    # The part's Hindi is synthetic: en->hi must not learn to write it.
    with pytest.raises(DataError, match=r"synthetic/dummy: its hi side is synthetic .* en->hi"):
        prepared.check_synthetic("dummy", "en", "hi")
    with pytest.raises(ConfigError, match="data.synthetic.dummy must be 1 or more"):
        tiny_config(root, tmp_path, data={"synthetic": {"dummy": 0}})


def test_training_reads_forward_translated_parts(
    tiny_bundle: Path, folder: Path, tmp_path: Path
) -> None:
    """data.forward: a model's translations of real training sources as targets (sequence-
    level distillation), read untagged; a back-translated part is refused there, and a
    forward one in data.synthetic."""
    from seq2seq.data.batches import TranslationData

    sources = folder / "train.hi"
    out = folder / "synthetic" / "kd-greedy"
    backtranslate(BacktranslateJob(sources, "en", out, tiny_bundle, max_lines=8))
    record = json.loads(out.with_name("kd-greedy.json").read_text())
    assert (record["from"], record["to"], record["lines"]) == ("hi", "en", 8)
    first = PreparedPair(folder).read("train", "hi")[:8]
    assert (folder / "synthetic" / "kd-greedy.hi").read_text(encoding="utf-8").splitlines() == first
    root = folder.parent
    tags = {"domain_tags": True}
    plain = TranslationData(tiny_config(root, tmp_path, data=tags).data, 1)
    plain.setup()
    cfg = tiny_config(root, tmp_path, data=tags | {"forward": {"kd-greedy": 2}})
    data = TranslationData(cfg.data, seed=1)
    data.setup()
    assert len(data.train_corpus) == len(plain.train_corpus) + 16
    tag = data.src_vocab.piece_id("<dom:backtranslation>")
    assert all(data.train_corpus[i][0][0] != tag for i in range(len(data.train_corpus)))
    assert "backtranslation" not in data.domains
    prepared = PreparedPair(folder)
    backtranslate(BacktranslateJob(sources, "en", folder / "synthetic" / "d", method="dummy"))
    with pytest.raises(DataError, match="data.forward reads a part whose synthetic side is"):
        prepared.check_synthetic("d", "en", "hi", "target")  # its English is the synthetic side
    with pytest.raises(DataError, match=r"its en side is synthetic .*data\.forward reads"):
        prepared.check_synthetic("kd-greedy", "hi", "en")
