"""The model store (seq2seq/evaluate/store.py): compact entries that load through their
checksums, cards and scores.json that agree with their metadata, fixed sentences that decode as
recorded, names that resolve (a folder, models/, then pretrained/), and the real store's
entries checked the same way."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import small_options

import seq2seq.model.bundle as bundle_module
from data_prep.pipeline import prepare
from indic_common.errors import BundleError
from seq2seq.cli.main import main
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.store import (
    SAMPLES,
    list_models,
    render_card,
    scores_of,
    size_mb,
    store_model,
)
from seq2seq.model.bundle import (
    SCALE,
    STORE,
    find_bundle,
    load_bundle,
    quantize_int8,
    read_metadata,
)

# every entry (not one being written, a hidden temporary folder beside them)
ENTRIES = sorted(p for p in STORE.glob("[!.]*") if (p / "metadata.json").is_file())


@pytest.fixture(scope="module")
def entry(tiny_bundle: Path, data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model stored in a store of its own."""
    store = tmp_path_factory.mktemp("store")
    return store_model(
        tiny_bundle,
        "tiny",
        store=store,
        data_root=data_root,
        commands=["seq2seq train --config tiny.yaml"],
        notes="Too small to translate.",
    )


def check_entry(entry: Path) -> None:
    """What every stored entry must satisfy: it loads through its checksums with fp16
    weights, its card and scores.json are its metadata's, and it decodes its fixed sentences
    (in fp32) to the outputs its card records."""
    bundle = load_bundle(entry)
    meta = bundle.metadata
    assert meta["weights"] in ("float16", "int8") and meta["version"] == 2
    assert (entry / "README.md").read_text(encoding="utf-8") == render_card(meta)
    assert json.loads((entry / "scores.json").read_text(encoding="utf-8")) == scores_of(meta)
    fixed = meta["store"]["fixed"]
    assert len(fixed) == 3
    assert next(bundle.model.parameters()).dtype == torch.float32
    translator = Translator.load(entry)  # an ensemble entry brings its members
    members = meta.get("ensemble_members", [])
    assert len(translator.bundle.metadata.get("ensemble", [None])) == 1 + len(members)
    assert translator.translate([f["source"] for f in fixed]) == [f["output"] for f in fixed]


def test_a_stored_entry_is_whole_and_half_the_size(entry: Path, tiny_bundle: Path) -> None:
    check_entry(entry)
    weights = (entry / "model.safetensors").stat().st_size
    assert weights < 0.6 * (tiny_bundle / "model.safetensors").stat().st_size
    record = read_metadata(entry)["store"]
    assert abs(record["compact"]["delta"]["BLEU"]) <= 0.2
    assert 0.0 <= record["compact"]["identical_outputs"] <= 1.0
    assert len(record["samples"]) == SAMPLES and record["training_data"]["corpora"]
    card = (entry / "README.md").read_text(encoding="utf-8")
    for text in ("CC BY-NC-SA", "non-commercial", "seq2seq train --config tiny.yaml", "Too small"):
        assert text in card


def test_int8_weights_are_within_half_a_step_of_each_row(tiny_bundle: Path) -> None:
    model = load_bundle(tiny_bundle).model
    stored = quantize_int8(model)
    for name, weight in model.state_dict().items():
        if name not in stored:  # a tied output layer: its embedding is stored
            assert any(weight.data_ptr() == w.data_ptr() for w in model.state_dict().values())
            continue
        if weight.ndim < 2:
            assert stored[name].dtype == torch.float16
            continue
        q, scale = stored[name], stored[name + SCALE]
        assert q.dtype == torch.int8 and scale.shape == (weight.shape[0],)
        back = q.reshape(q.shape[0], -1).float() * scale[:, None]
        error = (back - weight.reshape(weight.shape[0], -1)).abs().amax(dim=1)
        assert bool((error <= scale / 2 + 1e-7).all()), name


def test_an_ensemble_is_stored_as_one_int8_entry(
    tiny_bundle: Path, data_root: Path, tmp_path: Path
) -> None:
    """Two members (here the tiny model twice) in one entry: int8, the second under members/,
    named in the manifest; loading the entry by name decodes both; the size covers both."""
    entry = store_model(
        tiny_bundle,
        "pair",
        store=tmp_path / "store",
        data_root=data_root,
        weights="int8",
        ensemble=[tiny_bundle],
    )
    check_entry(entry)
    meta = read_metadata(entry)
    (member,) = meta["ensemble_members"]
    assert member.startswith("members/1-") and (entry / member / "model.safetensors").is_file()
    assert read_metadata(entry / member)["weights"] == "int8"
    # the member reads the entry's tokenizers (the same vocabularies): stored once
    assert read_metadata(entry / member)["tokenizers"] == "../.."
    assert not list((entry / member).glob("*.spm.model"))
    assert load_bundle(entry / member).src_vocab.model_proto == (
        (entry / "src.spm.model").read_bytes()
    )
    fp32 = (tiny_bundle / "model.safetensors").stat().st_size
    assert (entry / "model.safetensors").stat().st_size < 0.4 * fp32
    assert size_mb(entry) > size_mb(entry / member) > 0
    record = meta["store"]
    assert record["compact"]["weights"] == "int8" and abs(record["compact"]["delta"]["BLEU"]) <= 0.2
    card = (entry / "README.md").read_text(encoding="utf-8")
    assert f"Decoded together with `{member}`" in card and "The int8 copy" in card


@pytest.mark.parametrize("stored", ENTRIES, ids=lambda p: p.name)
def test_every_entry_of_the_repository_store(stored: Path) -> None:
    check_entry(stored)
    assert size_mb(stored) <= 24


def test_the_repository_store_within_its_limits() -> None:
    assert size_mb(STORE) <= 120 if STORE.is_dir() else True
    attributes = (STORE.parent / ".gitattributes").read_text(encoding="utf-8")
    assert "pretrained/**/*.safetensors binary -delta" in attributes


def test_a_corrupted_stored_file_is_a_one_line_error(entry: Path, tmp_path: Path, capsys) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(entry, broken)
    weights = broken / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="checksum does not match"):
        load_bundle(broken)
    assert main(["translate", "--model", str(broken), "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checksum does not match" in err[0]


def test_an_entry_is_replaced_only_by_a_model_that_beats_it(
    entry: Path, tiny_bundle: Path, data_root: Path
) -> None:
    """The same model again does not beat itself on dev: the entry stays as it was."""
    before = (entry / "metadata.json").read_bytes()
    with pytest.raises(BundleError, match="does not beat the stored one"):
        store_model(tiny_bundle, "tiny", store=entry.parent, data_root=data_root)
    assert (entry / "metadata.json").read_bytes() == before


def test_dev_sets_every_one_and_test_sets_once(
    tiny_bundle: Path, data_root: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """Kept on dev alone (`--no-tests`), with every prepared dev set on its card; its test
    sets scored once, later, and never again."""
    import seq2seq.evaluate.store as store_module

    entry = store_model(tiny_bundle, "tiny", store=tmp_path, data_root=data_root, tests=False)
    record = read_metadata(entry)["store"]
    selection = load_bundle(tiny_bundle).cfg.data.dev_set
    assert record["tests"] == {} and list(record["dev"])[0] == selection
    assert {"dev-vg", "dev-post2012", "dev-pud"} <= set(record["dev"])
    assert "test sets are not scored yet" in (entry / "README.md").read_text(encoding="utf-8")
    check_entry(entry)
    monkeypatch.setattr(store_module, "STORE", tmp_path)
    score = ["store", "--score", "test", "--name", "tiny", "--data-root", str(data_root)]
    assert main(score) == 0
    tests = read_metadata(entry)["store"]["tests"]
    assert {"test-post2012", "test-vg", "test-vg-challenge"} == set(tests)
    assert "not scored yet" not in (entry / "README.md").read_text(encoding="utf-8")
    check_entry(entry)
    capsys.readouterr()
    assert main(score) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a test set is scored once" in err[0]
    assert read_metadata(entry)["store"]["tests"] == tests
    assert main(["store", "--name", "tiny"]) == 2
    assert "give --model" in capsys.readouterr().err


def test_the_store_limit_counts_each_entry_once(
    entry: Path, tiny_bundle: Path, data_root: Path, tmp_path: Path, monkeypatch
) -> None:
    """The entry being written lies beside the others until it is whole: it counts once."""
    import seq2seq.evaluate.store as store_module

    monkeypatch.setattr(store_module, "STORE_LIMIT_MB", 1.5 * size_mb(entry))
    stored = store_model(tiny_bundle, "tiny", store=tmp_path, data_root=data_root, tests=False)
    assert size_mb(stored) < 1.5 * size_mb(entry)
    monkeypatch.setattr(store_module, "STORE_LIMIT_MB", 0.5 * size_mb(entry))
    with pytest.raises(BundleError, match="over its 0 MB"):
        store_model(tiny_bundle, "tiny2", store=tmp_path, data_root=data_root, tests=False)


def test_names_resolve_to_a_folder_then_models_then_the_store(
    entry: Path, tiny_bundle: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(bundle_module, "STORE", entry.parent)
    monkeypatch.setattr(bundle_module, "MODELS", tmp_path / "models")
    monkeypatch.chdir(tmp_path)
    assert find_bundle("tiny") == entry.parent / "tiny"
    shutil.copytree(tiny_bundle, tmp_path / "models" / "tiny")
    assert find_bundle("tiny") == tmp_path / "models" / "tiny"
    (tmp_path / "tiny").mkdir()
    assert find_bundle("tiny") == Path("tiny")  # a folder named so comes first
    with pytest.raises(BundleError, match="no such model folder"):
        load_bundle("nowhere")
    found = list_models((tmp_path / "models", entry.parent))
    assert [(e["name"], e["shadowed"]) for e in found] == [("tiny", False), ("tiny", True)]


def test_bundles_of_format_version_1_still_load(tiny_bundle: Path, tmp_path: Path) -> None:
    """Bundles written before the store (version 1: fp32, no `weights` key) load unchanged."""
    old = tmp_path / "old"
    shutil.copytree(tiny_bundle, old)
    meta = json.loads((old / "metadata.json").read_text(encoding="utf-8"))
    meta["version"] = 1
    del meta["weights"]
    (old / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    texts = ["एक आदमी", "यह शहर है"]
    new = Translator.load(tiny_bundle).translate(texts)
    assert Translator.load(old).translate(texts) == new


def test_data_prepared_with_a_stored_tokenizer(
    entry: Path, mini_mirror: Path, tmp_path: Path
) -> None:
    """`python -m data_prep hi-en --tokenizer-from pretrained/<name>`: the entry's
    SentencePiece models, not new ones, so the model can be continued on the new data."""
    options = replace(small_options(mini_mirror, tmp_path / "cache"), tokenizer_from=entry)
    folder = prepare("hi-en", tmp_path / "data", options)
    meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    assert meta["tokenizer_spec"] == {"from": str(entry)}
    proto = (entry / "src.spm.model").read_bytes()
    assert (folder / meta["tokenizer"]["hi"]).read_bytes() == proto
