"""`python -m data_prep multi`: the three pairs in one folder with one joint tokenizer, and no
training pair of one pair overlapping another pair's dev or test sets."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import small_options, tiny_config

from data_prep.mono import MonoSource, prepare_mono
from data_prep.multi import prepare_multi
from data_prep.pipeline import prepare
from seq2seq.data.prepared import PreparedPair
from seq2seq.model.vocab import Vocab


@pytest.fixture(scope="module")
def multi(data_root: Path, mini_mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """data/multi/ from the small mirror, with two bn-en training pairs planted that overlap
    a hi-en test reference (one exactly, one by 8 words)."""
    tmp_path = tmp_path_factory.mktemp("multi")
    root = tmp_path / "data"
    shutil.copytree(data_root / "hi-en", root / "hi-en")
    options = small_options(mini_mirror, tmp_path / "cache", vocab_size=1200)
    prepare("bn-en", root, options)
    ref = next(
        r for r in PreparedPair(root / "hi-en").read("test-post2012", "en") if len(r.split()) > 9
    )
    bn = root / "bn-en"
    planted = (("bn", ["कुछ", "और"]), ("en", [ref, "So: " + ref]), ("origin", ["x/y"] * 2))
    for name, extra in (*planted, ("domain", ["general"] * 2)):
        with (bn / f"train.{name}").open("a", encoding="utf-8") as f:
            f.write("\n".join(extra) + "\n")
    before = len(PreparedPair(bn).read("train", "bn"))
    folder = prepare_multi(root, options)  # ta-en is prepared on the way
    return {"root": root, "folder": folder, "bn_before": before, "ref": ref}


def test_multi_joins_the_pairs_and_filters_across_them(multi: dict) -> None:
    root, folder, before = multi["root"], multi["folder"], multi["bn_before"]
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["pairs"] == ["hi-en", "ta-en", "bn-en"] and meta["langs"] == [
        "bn",
        "en",
        "hi",
        "ta",
    ]
    assert set(meta["tokenizer"].values()) == {"spm.model"}
    stats = json.loads((folder / "stats.json").read_text())["pairs"]
    bn = stats["bn-en"]
    # The planted pairs go (and real ones too: Bengali and Hindi Visual Genome share captions).
    assert bn["dropped_in_other_dev_or_test"] >= 1 and bn["dropped_near_other"] >= 1
    assert bn["read"] == before
    assert bn["kept"] == before - bn["dropped_in_other_dev_or_test"] - bn["dropped_near_other"]
    kept_en = (folder / "bn-en" / "train.en").read_text(encoding="utf-8").splitlines()
    assert len(kept_en) == bn["kept"] and not any(multi["ref"] in line for line in kept_en)
    for pair in ("hi-en", "bn-en", "ta-en"):
        indic = pair.split("-")[0]
        lines = [
            len((folder / pair / f"train.{n}").read_text().splitlines())
            for n in (indic, "en", "origin", "domain")
        ]
        assert len(set(lines)) == 1 and lines[0] == stats[pair]["kept"]
        assert (folder / pair / "test-post2012.en").read_bytes() == (
            root / pair / "test-post2012.en"
        ).read_bytes()
        assert not (folder / pair / "spm.model").exists()
    vocab = Vocab.from_file(folder / "spm.model")
    for text in ("एक आदमी", "একটি মানুষ", "ஒரு மனிதன்", "a man"):
        assert vocab.decode(vocab.encode(text)) == text
        assert 1 not in vocab.encode(text)  # no <unk>: every script is covered


def test_multi_mono_is_filtered_against_every_pair_and_dealt_out(
    multi: dict, tmp_path: Path
) -> None:
    root = tmp_path / "data"
    shutil.copytree(multi["folder"], root / "multi")
    folder = root / "multi"
    bn_ref = PreparedPair(folder / "bn-en").read("test-post2012", "en")[0]
    ta_train = PreparedPair(folder / "ta-en").read("train", "en")[3]
    new = [f"The temple number {i} was built by the king of the region." for i in range(7)]
    mirror = tmp_path / "mirror"
    (mirror / "mono").mkdir(parents=True)
    lines = [*new, bn_ref, ta_train]  # another pair's test reference, a training English
    (mirror / "mono" / "training.te-en.en").write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = MonoSource("post2012mono/te", "mono/training.te-en.en")
    prepare_mono("multi", root, mirror, sources=(source,))
    shares = {
        pair: (folder / pair / "mono.en").read_text(encoding="utf-8").splitlines()
        for pair in ("hi-en", "bn-en", "ta-en")
    }
    assert sorted(line for share in shares.values() for line in share) == sorted(new)
    assert [len(share) for share in shares.values()] == [3, 2, 2]
    stats = json.loads((folder / "mono.json").read_text())
    assert stats["per_pair"] == {"hi-en": 3, "bn-en": 2, "ta-en": 2}
    counts = stats["sources"]["post2012mono/te"]
    assert counts["held_out"] == 1 and counts["real_pair"] == 1 and counts["kept"] == 7


def test_multilingual_model_trains_and_translates_every_direction(
    multi: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from indic_common.errors import ConfigError
    from seq2seq.cli.main import main
    from seq2seq.data.batches import TranslationData
    from seq2seq.decode.translate import Translator
    from seq2seq.evaluate.scoring import evaluate_split
    from seq2seq.train.trainer import train

    root = multi["root"]
    directions = ["hi-en", "bn-en", "ta-en"]
    cfg = tiny_config(
        root,
        tmp_path,
        data={"pairs": directions, "dev_set": "dev-post2012", "dev_max_sents": 6},
        train={"max_steps": 8, "val_every_steps": 8},
    )
    assert cfg.data.pair == "multi" and cfg.data.folder("bn-en") == "multi/bn-en"
    data = TranslationData(cfg.data, seed=1)
    data.setup()
    tag = data.src_vocab.piece_id("<2en>")
    assert all(data.train_corpus[i][0][0] == tag for i in range(len(data.train_corpus)))
    assert len(data.dev_src_ids) == 18 and all(ids[0] == tag for ids in data.dev_src_ids)
    # Temperature 5: the largest direction read once, the others repeated, none dropped.
    sizes = {d: len(PreparedPair(root / "multi" / d).read("train", "origin")) for d in directions}
    lines = data.direction_lines
    largest = max(sizes, key=lambda d: sizes[d])
    assert all(lines[d] >= sizes[d] for d in directions)
    share = {d: lines[d] / sum(lines.values()) for d in directions}
    plain = {d: sizes[d] / sum(sizes.values()) for d in directions}
    assert share[largest] < plain[largest] and min(share.values()) > min(plain.values())

    bundle = train(cfg)
    tr = Translator.load(bundle, tgt_lang="en")
    assert tr.directions == directions and tr.src_lang is None and tr.sources == ["hi", "bn", "ta"]
    assert [tr.source_language(t) for t in ("एक आदमी", "একটি মানুষ", "ஒரு மனிதன்")] == [
        "hi",
        "bn",
        "ta",
    ]
    assert len(tr.translate(["एक आदमी", "একটি মানুষ", "ஒரு மனிதன்"])) == 3
    assert tr.align("एक आदमी").src_pieces[0] == "<2en>"
    results = evaluate_split(tr, root, "test-post2012", tmp_path / "eval")
    assert [r.name for r in results] == [f"{d}/test-post2012" for d in directions]
    assert (tmp_path / "eval" / "bn-en" / "test-post2012.hyp").is_file()
    report = json.loads((tmp_path / "eval" / "bn-en" / "test-post2012.json").read_text())
    assert report["direction"] == "bn-en"  # the direction scored, not the model's default
    with pytest.raises(
        ConfigError, match="does not translate hi->ta; its directions: hi->en, bn->en, ta->en"
    ):
        Translator.load(bundle, src_lang="hi", tgt_lang="ta")
    code = main(["translate", "--model", str(bundle), "--to", "ta", "एक"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "its directions: hi->en" in err


def test_script_unification_writes_bengali_and_tamil_sources_in_devanagari(
    multi: dict, mini_mirror: Path, tmp_path: Path
) -> None:
    from indic_common.errors import DataError
    from indic_common.normalize import normalizer
    from indic_common.script import to_script
    from seq2seq.data.batches import TranslationData
    from seq2seq.decode.translate import Translator
    from seq2seq.evaluate.scoring import evaluate_split
    from seq2seq.train.trainer import train

    root = tmp_path / "deva"
    for pair in ("hi-en", "bn-en", "ta-en"):
        shutil.copytree(multi["root"] / pair, root / pair)
    options = small_options(mini_mirror, tmp_path / "cache", vocab_size=1200)
    folder = prepare_multi(root, options, unify_script="hi")
    plain = multi["folder"]
    assert json.loads((folder / "meta.json").read_text())["unified_script"] == {
        "bn": "hi",
        "ta": "hi",
    }
    for pair, lang in (("bn-en", "bn"), ("ta-en", "ta")):
        for name in (f"train.{lang}", f"test-post2012.{lang}", f"dev-post2012.{lang}"):
            before = (plain / pair / name).read_text(encoding="utf-8").splitlines()
            after = (folder / pair / name).read_text(encoding="utf-8").splitlines()
            assert after == [to_script(line, lang, "hi") for line in before], name
            assert not any(0x0980 <= ord(c) <= 0x0BFF for line in after for c in line)
        assert (folder / pair / "train.en").read_bytes() == (plain / pair / "train.en").read_bytes()
    assert (folder / "hi-en" / "train.hi").read_bytes() == (
        plain / "hi-en" / "train.hi"
    ).read_bytes()

    cfg = tiny_config(
        root,
        tmp_path,
        data={"pairs": ["hi-en", "bn-en", "ta-en"], "dev_set": "dev-post2012", "dev_max_sents": 4},
        train={"max_steps": 4, "val_every_steps": 4},
    )
    into_bengali = replace(cfg.data, pairs=["hi-en", "bn-en", "en-bn"])
    with pytest.raises(DataError, match="cannot translate into bn from it; prepare the data with"):
        TranslationData(into_bengali, seed=1)
    bundle = train(cfg)
    assert json.loads((bundle / "metadata.json").read_text())["unified_script"] == {
        "bn": "hi",
        "ta": "hi",
    }
    tr = Translator.load(bundle, tgt_lang="en")
    bengali = "একটি মানুষ ।"
    assert tr.source_language(bengali) == "bn"  # read from the script the user writes
    assert (
        tr.normalize(bengali) == to_script(normalizer("bn")(bengali), "bn", "hi") == "एकटि मानुष ।"
    )
    assert tr.normalize("एक आदमी") == "एक आदमी"
    assert 1 not in tr.bundle.src_vocab.encode(tr.normalize("ஒரு மனிதன்"))  # no <unk>
    # The prepared test sources are already in Devanagari: the translator leaves them so.
    results = evaluate_split(tr.for_direction("bn", "en"), root, "test-post2012", tmp_path / "e")
    hyps = (tmp_path / "e" / "test-post2012.hyp").read_text(encoding="utf-8").splitlines()
    assert results and len(hyps) == len(
        (folder / "bn-en" / "test-post2012.bn").read_text().splitlines()
    )


def test_one_model_translates_into_english_and_into_indic(
    multi: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from seq2seq.cli.main import main
    from seq2seq.data.batches import TranslationData
    from seq2seq.decode.translate import Translator
    from seq2seq.train.trainer import train

    root = multi["root"]
    directions = ["hi-en", "bn-en", "en-hi"]
    cfg = tiny_config(
        root,
        tmp_path,
        data={"pairs": directions, "dev_set": "dev-post2012", "dev_max_sents": 5},
        train={"max_steps": 6, "val_every_steps": 6},
        decode={"min_len_ratio_into": {"hi": 0.6}},
    )
    data = TranslationData(cfg.data, seed=1)
    data.setup()
    # The into-Hindi pairs read English after <2hi>, and end in Hindi.
    into_hi = data.src_vocab.piece_id("<2hi>")
    starts = [data.train_corpus[i][0][0] for i in range(len(data.train_corpus))]
    assert into_hi in starts and data.src_vocab.piece_id("<2en>") in starts
    assert sum(ids[0] == into_hi for ids in data.dev_src_ids) == 5

    bundle = train(cfg)
    to_hindi = Translator.load(bundle, tgt_lang="hi")
    assert to_hindi.src_lang == "en" and to_hindi.decode.min_len_ratio == 0.6
    assert to_hindi.translate(["a man ."])[0].strip()  # the floor: not an empty line
    # Each direction's own length floor, also after switching direction or decode settings.
    to_english = to_hindi.for_direction("hi", "en")
    assert to_english.decode.min_len_ratio == 0.0
    assert to_english.with_decode(beam_size=2).for_direction("en", "hi").decode.min_len_ratio == 0.6
    # A floor asked for explicitly applies to every direction.
    asked = Translator.load(bundle, tgt_lang="en", min_len_ratio=0.3)
    assert asked.for_direction("en", "hi").decode.min_len_ratio == 0.3

    out = tmp_path / "dev"
    argv = ["evaluate", "--model", str(bundle), "--data-root", str(root), "--split"]
    assert main([*argv, "dev-post2012", "--out-dir", str(out)]) == 0
    printed = capsys.readouterr().out
    for direction in directions:
        assert (out / direction / "dev-post2012.hyp").is_file() and f"{direction}/" in printed
    scored = json.loads((out / "en-hi" / "dev-post2012.json").read_text())
    assert scored["direction"] == "en-hi" and scored["decode"]["min_len_ratio"] == 0.6
    # --to picks one target: only its direction is scored.
    assert main([*argv, "dev-post2012", "--to", "hi", "--out-dir", str(tmp_path / "hi")]) == 0
    assert (tmp_path / "hi" / "dev-post2012.hyp").is_file()
    # The same model back-translates English into Hindi, with the into-Hindi floor.
    from seq2seq.train.backtranslate import BacktranslateJob, backtranslate

    mono = tmp_path / "mono.en"
    mono.write_text("A man .\nThe river is long .\n", encoding="utf-8")
    backtranslate(BacktranslateJob(mono, "hi", tmp_path / "syn" / "bt", bundle))
    synthetic = (tmp_path / "syn" / "bt.hi").read_text(encoding="utf-8").splitlines()
    assert len(synthetic) == 2 and all(line.strip() for line in synthetic)
    made = json.loads((tmp_path / "syn" / "bt.json").read_text())
    assert made["decode"]["min_len_ratio"] == 0.6


def test_a_multilingual_model_is_stored_for_one_direction(multi: dict, tmp_path: Path) -> None:
    from test_store import check_entry

    from indic_common.errors import BundleError
    from seq2seq.decode.translate import Translator
    from seq2seq.evaluate.store import store_model
    from seq2seq.model.bundle import read_metadata
    from seq2seq.train.trainer import train

    root = multi["root"]
    cfg = tiny_config(
        root,
        tmp_path,
        data={"pairs": ["hi-en", "bn-en", "ta-en"], "dev_set": "dev-post2012", "dev_max_sents": 4},
        train={"max_steps": 4, "val_every_steps": 4},
    )
    bundle = train(cfg)
    store = tmp_path / "store"
    with pytest.raises(BundleError, match="a multilingual model .*name it .--direction bn-en"):
        store_model(bundle, "bn-en", store=store, data_root=root, tests=False)
    with pytest.raises(BundleError, match="does not translate en-bn; its directions: hi-en"):
        store_model(bundle, "bn-en", store=store, data_root=root, tests=False, direction="en-bn")
    entry = store_model(bundle, "bn-en", store=store, data_root=root, direction="bn-en")
    check_entry(entry)
    meta = read_metadata(entry)
    assert meta["directions"] == ["bn-en"] and meta["src_lang"] == "bn"
    assert meta["trained_directions"] == ["hi-en", "bn-en", "ta-en"]
    assert set(meta["store"]["tests"]) == {"test-post2012", "test-vg", "test-vg-challenge"}
    # every direction's corpora: the weights were trained on all of them
    corpora = meta["store"]["training_data"]["corpora"]
    assert {name.split("/")[0] for name in corpora} == {"hi-en", "bn-en", "ta-en"}
    card = (entry / "README.md").read_text(encoding="utf-8")
    assert "trained on 3 directions together (hi→en, bn→en, ta→en), stored for bn→en" in card
    # The entry translates Bengali as the multilingual model does (its weights in fp16).
    stored = Translator.load(entry)
    assert stored.direction == "bn-en" and stored.lang_tag == stored.bundle.src_vocab.piece_id(
        "<2en>"
    )
    original = Translator.load(bundle, src_lang="bn", tgt_lang="en")
    for p in original.bundle.model.parameters():
        p.data = p.data.half().float()
    bengali = ["একটি মানুষ রাস্তায় হাঁটছে ।", "দুটি কুকুর ।"]
    assert stored.translate(bengali) == original.translate(bengali)
