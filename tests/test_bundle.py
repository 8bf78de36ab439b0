"""The model bundle: save -> load gives identical outputs; damage and foreign folders are
reported, never half-loaded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from indic_common.errors import BundleError
from seq2seq.decode.search import pad_ids
from seq2seq.model.bundle import load_bundle, save_bundle


def test_round_trip_gives_identical_outputs(tiny_bundle: Path, tmp_path: Path) -> None:
    a = load_bundle(tiny_bundle)
    save_bundle(
        tmp_path / "copy",
        a.model,
        a.cfg,
        a.src_vocab,
        a.tgt_vocab,
        {k: v for k, v in a.metadata.items() if k not in ("sha256",)},
    )
    b = load_bundle(tmp_path / "copy")
    src_ids, src_lens = pad_ids(a.src_vocab.encode_batch(["एक आदमी", "लाल रंग की कार"]))
    tgt = torch.tensor([[2, 10, 11], [2, 12, 13]])
    with torch.no_grad():
        assert torch.equal(a.model(src_ids, src_lens, tgt), b.model(src_ids, src_lens, tgt))
    assert a.cfg == b.cfg and a.metadata["dev_bleu"] == b.metadata["dev_bleu"]


def test_metadata_records_training(tiny_bundle: Path) -> None:
    meta = json.loads((tiny_bundle / "metadata.json").read_text())
    assert meta["direction"] == "hi-en" and meta["training_steps"] == 100
    assert meta["parameters"] > 0 and "dev_bleu" in meta
    assert meta["train_seconds"] == pytest.approx(meta["train_seconds_this_run"], abs=5.0)


def test_report_gives_the_training_time_of_every_run() -> None:
    from seq2seq.evaluate.report import _training_time

    assert _training_time({"train_seconds_this_run": 1200.0}) == "20 minutes (last run)"
    one = {"train_seconds": 1210.0, "train_seconds_this_run": 1200.0}
    assert _training_time(one) == "20 minutes"
    resumed = {"train_seconds": 5400.0, "train_seconds_this_run": 3.0}
    assert _training_time(resumed) == "90 minutes (0 in the last run)"


def _copy(tiny_bundle: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tiny_bundle, tmp_path / "bundle"))


def test_truncated_weights(tiny_bundle: Path, tmp_path: Path) -> None:
    path = _copy(tiny_bundle, tmp_path)
    weights = path / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(BundleError, match="model.safetensors: checksum does not match"):
        load_bundle(path)


def test_tampered_config(tiny_bundle: Path, tmp_path: Path) -> None:
    path = _copy(tiny_bundle, tmp_path)
    cfg = json.loads((path / "config.json").read_text())
    cfg["model"]["hidden_dim"] = 128
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match="config.json: checksum"):
        load_bundle(path)


def test_missing_file(tiny_bundle: Path, tmp_path: Path) -> None:
    path = _copy(tiny_bundle, tmp_path)
    (path / "tgt.spm.model").unlink()
    with pytest.raises(BundleError, match="tgt.spm.model: missing from the bundle"):
        load_bundle(path)


def test_a_bundle_reads_the_tokenizers_of_the_folder_it_names(
    tiny_bundle: Path, tmp_path: Path
) -> None:
    """A member of a stored ensemble keeps no copy of the entry's vocabularies: its metadata
    names the folder up from it that has them; their checksums still hold, and a name that
    leaves the entry, or a folder with another vocabulary, is refused in one line."""
    a = load_bundle(tiny_bundle)
    entry = _copy(tiny_bundle, tmp_path)
    member = entry / "members" / "1-m"
    save_bundle(member, a.model, a.cfg, a.src_vocab, a.tgt_vocab, {}, tokenizers="../..")
    assert not list(member.glob("*.spm.model"))
    assert load_bundle(member).tgt_vocab.model_proto == a.tgt_vocab.model_proto
    meta = json.loads((member / "metadata.json").read_text())
    (member / "metadata.json").write_text(json.dumps(meta | {"tokenizers": "/tmp"}))
    with pytest.raises(BundleError, match="not a folder up from the bundle"):
        load_bundle(member)
    (member / "metadata.json").write_text(json.dumps(meta))
    (entry / "tgt.spm.model").write_bytes(b"edited")
    with pytest.raises(BundleError, match="tgt.spm.model: checksum does not match"):
        load_bundle(member)
    with pytest.raises(BundleError, match="missing, or not this model's vocabulary"):
        save_bundle(
            tmp_path / "elsewhere" / "m",
            a.model,
            a.cfg,
            a.src_vocab,
            a.tgt_vocab,
            {},
            tokenizers="..",
        )


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such model folder"):
        load_bundle(tmp_path / "absent")
    (tmp_path / "foreign").mkdir()
    with pytest.raises(BundleError, match="not a model bundle"):
        load_bundle(tmp_path / "foreign")
    (tmp_path / "foreign" / "metadata.json").write_text('{"format": "joeynmt"}')
    with pytest.raises(BundleError, match="not an indic-seq2seq-bundle folder"):
        load_bundle(tmp_path / "foreign")
