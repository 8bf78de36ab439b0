"""Decoding speed-ups: the vocabulary shortlist (decode/shortlist.py), int8 (model/int8.py) and
`seq2seq speedup`, which chooses them per model on dev and records them in its bundle. Exact
fp32 search stays the default (the golden test decodes with it)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn

from indic_common.errors import BundleError
from indic_common.special import EOS_ID
from seq2seq.cli.main import main
from seq2seq.config import DecodeConfig as D
from seq2seq.decode.search import beam_search, greedy_search, pad_ids
from seq2seq.decode.shortlist import FILE, Shortlist, build, restricted, search_shortlisted
from seq2seq.decode.translate import Translator
from seq2seq.model.bundle import load_bundle
from seq2seq.model.ensemble import Ensemble
from seq2seq.model.int8 import Int8Linear, available, quantized_copy

needs_int8 = pytest.mark.skipif(not available(), reason="this torch has no int8 engine")


@pytest.fixture(scope="module")
def bundle(tiny_bundle: Path):
    return load_bundle(tiny_bundle)


@pytest.fixture(scope="module")
def batch(bundle, data_root: Path):
    lines = (data_root / "hi-en" / "dev.hi").read_text(encoding="utf-8").splitlines()[:24]
    return pad_ids(bundle.src_vocab.encode_batch(lines))


def test_the_table_ranks_a_pieces_own_translation_above_pieces_found_everywhere() -> None:
    # piece 10 always comes with 20; 30 is in every target; 11 comes with 21 once.
    pairs = [([10, 5], [20, 30])] * 4 + [([11], [21, 30])] + [([6], [30])] * 5
    shortlist = build(pairs, src_size=40, tgt_size=40, per_piece=2, frequent=1)
    assert shortlist.table[10].tolist() == [20, 30]
    assert shortlist.table[11].tolist() == [21, 30]
    assert shortlist.table[12].tolist() == [EOS_ID, EOS_ID]  # never seen: nothing of its own
    assert shortlist.frequent.tolist() == [30]


def test_a_batchs_rows_are_sorted_and_keep_the_special_ids() -> None:
    shortlist = Shortlist(torch.tensor([[3, 3]] * 4 + [[9, 7], [8, 7]]), torch.tensor([12]))
    src = torch.tensor([[4, 0], [5, 5]])
    rows = shortlist.rows(src)
    assert rows.tolist() == [0, 1, 2, 3, 7, 8, 9, 12]
    same, allowed = shortlist.batch(src)  # each sentence: its own pieces' rows only
    assert torch.equal(same, rows)
    assert rows[allowed[0]].tolist() == [0, 1, 2, 3, 7, 9, 12]
    assert rows[allowed[1]].tolist() == [0, 1, 2, 3, 7, 8, 12]


def test_a_sentence_translates_the_same_alone_and_in_any_batch(bundle, data_root: Path) -> None:
    lines = (data_root / "hi-en" / "dev.hi").read_text(encoding="utf-8").splitlines()[:12]
    ids = bundle.src_vocab.encode_batch(lines)
    shortlist = build(
        zip(ids, bundle.tgt_vocab.encode_batch(lines)),
        len(bundle.src_vocab),
        len(bundle.tgt_vocab),
        per_piece=5,
        frequent=20,
    )
    decode = D(beam_size=3)
    together = search_shortlisted(bundle.model, shortlist, *pad_ids(ids), decode)
    for i in (0, 5, 11):
        alone = search_shortlisted(bundle.model, shortlist, *pad_ids([ids[i]]), decode)
        n = alone.ids.size(2)
        assert torch.equal(alone.ids[0], together.ids[i, :, :n])


def test_a_shortlist_of_the_whole_vocabulary_searches_as_exact_search(bundle, batch) -> None:
    v = len(bundle.tgt_vocab)
    everything = Shortlist(torch.arange(v).repeat(v, 1)[:, :1], torch.arange(v))
    for decode in (D(beam_size=1), D(beam_size=3, nbest=2, no_repeat_ngram=3)):
        exact = (greedy_search if decode.greedy else beam_search)(bundle.model, *batch, decode)
        short = search_shortlisted(bundle.model, everything, *batch, decode)
        assert torch.equal(exact.ids, short.ids)
        assert torch.allclose(exact.scores, short.scores, atol=1e-5)


def test_outputs_stay_inside_the_batchs_shortlist_and_come_back_as_vocabulary_ids(
    bundle, batch
) -> None:
    shortlist = Shortlist(
        torch.full((len(bundle.src_vocab), 1), EOS_ID), torch.arange(4, 60, 2)
    )  # only even pieces 4..58
    result = search_shortlisted(bundle.model, shortlist, *batch, D(beam_size=3))
    used = set(result.ids.unique().tolist()) - {0, EOS_ID}
    assert used and used <= set(range(4, 60, 2))


def test_an_ensemble_is_cut_member_by_member(bundle, batch) -> None:
    rows = torch.arange(len(bundle.tgt_vocab))
    allowed = torch.ones(batch[0].size(0), rows.numel(), dtype=torch.bool)
    both = restricted(Ensemble([bundle.model, bundle.model]), rows, allowed)
    assert isinstance(both, Ensemble) and len(both.members) == 2
    alone = beam_search(bundle.model, *batch, D(beam_size=3))
    assert torch.equal(beam_search(both, *batch, D(beam_size=3)).ids, alone.ids)


@needs_int8
def test_int8_linear_is_close_to_fp32_and_its_rows_are_its_own() -> None:
    torch.manual_seed(0)
    linear = nn.Linear(64, 300)
    x = torch.randn(8, 64)
    q = Int8Linear.from_linear(linear)
    exact, approx = linear(x), q(x)
    assert (approx - exact).norm() / exact.norm() < 0.02
    index = torch.tensor([0, 5, 299])
    assert torch.allclose(q.rows(index)(x), approx[:, index], atol=1e-5)


@needs_int8
def test_the_int8_copy_decodes_near_the_original_which_stays_fp32(bundle, batch) -> None:
    copy = quantized_copy(bundle.model)
    assert isinstance(bundle.model.decoder.output, nn.Linear)
    assert isinstance(copy.decoder.output, Int8Linear)
    exact = greedy_search(bundle.model, *batch, D(beam_size=1))
    approx = greedy_search(copy, *batch, D(beam_size=1))
    same = (exact.ids == approx.ids[:, :, : exact.ids.size(2)]).float().mean()
    assert same > 0.8


@needs_int8
def test_speedup_records_its_choice_and_translation_uses_it(
    tiny_bundle: Path, data_root: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "fast"
    args = ["speedup", "--model", str(tiny_bundle), "--data-root", str(data_root)]
    assert main([*args, "--out", str(out), "--max-delta", "100"]) == 0
    printed = capsys.readouterr().out
    assert "shortlist+int8" in printed and "chosen:" in printed
    fast = load_bundle(out)  # every checksum holds, the shortlist's too
    record = fast.metadata["speedup"]
    assert [r["variant"] for r in record["variants"]] == [
        "exact",
        "shortlist",
        "int8",
        "shortlist+int8",
    ]
    assert record["variants"][0]["delta"] == [0.0, 0.0, 0.0]
    chosen = {"exact": (False, "fp32"), "shortlist": (True, "fp32"), "int8": (False, "int8")}
    assert (fast.cfg.decode.shortlist, fast.cfg.decode.precision) == chosen.get(
        record["chosen"], (True, "int8")
    )
    assert (out / FILE).is_file() and not (tiny_bundle / FILE).exists()
    translator = Translator.load(out, shortlist=True, precision="int8")
    assert translator.shortlist is not None and translator.model is not fast.model
    assert translator.translate(["एक आदमी"])[0]
    # --exact decodes as the original does
    exact = Translator.load(tiny_bundle, beam_size=1).translate(["एक आदमी सड़क पर"])
    again = Translator.load(out, beam_size=1, shortlist=False, precision="fp32")
    assert again.translate(["एक आदमी सड़क पर"]) == exact


@needs_int8
def test_no_change_beyond_the_threshold_is_switched_on(
    tiny_bundle: Path, data_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "strict"
    args = ["speedup", "--model", str(tiny_bundle), "--data-root", str(data_root)]
    assert main([*args, "--out", str(out), "--max-delta", "0"]) == 0
    record = load_bundle(out).metadata["speedup"]
    assert all(
        abs(r["delta"][0]) == 0 for r in record["variants"] if r["variant"] == record["chosen"]
    )


def test_a_bundle_asking_for_a_shortlist_it_lacks_is_one_line(
    tiny_bundle: Path, tmp_path: Path, capsys
) -> None:
    with pytest.raises(BundleError, match="no shortlist.safetensors.*seq2seq speedup"):
        Translator.load(tiny_bundle, shortlist=True)
    copy = tmp_path / "copy"
    shutil.copytree(tiny_bundle, copy)
    config = json.loads((copy / "config.json").read_text())
    config["decode"]["precision"] = "int4"
    (copy / "config.json").write_text(json.dumps(config))
    code = main(["translate", "--model", str(copy), "x"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_an_edited_shortlist_is_caught_by_its_checksum(
    tiny_bundle: Path, data_root: Path, tmp_path: Path
) -> None:
    out = tmp_path / "fast"
    main(["speedup", "--model", str(tiny_bundle), "--data-root", str(data_root), "--out", str(out)])
    with (out / FILE).open("ab") as f:
        f.write(b"x")
    with pytest.raises(BundleError, match="shortlist.safetensors: checksum"):
        load_bundle(out)


def test_speedup_without_the_training_data_names_the_folder(
    tiny_bundle: Path, tmp_path: Path, capsys
) -> None:
    code = main(["speedup", "--model", str(tiny_bundle), "--data-root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and "hi-en: no prepared data" in err and len(err.splitlines()) == 1


def test_the_store_refuses_a_sped_up_bundle(tiny_bundle: Path, tmp_path: Path) -> None:
    from seq2seq.evaluate.store import store_model
    from seq2seq.model.bundle import file_sha256

    out = tmp_path / "fast"
    shutil.copytree(tiny_bundle, out)
    config = json.loads((out / "config.json").read_text())
    config["decode"]["precision"] = "int8"
    (out / "config.json").write_text(json.dumps(config))
    metadata = json.loads((out / "metadata.json").read_text())
    metadata["sha256"]["config.json"] = file_sha256(out / "config.json")
    (out / "metadata.json").write_text(json.dumps(metadata))
    with pytest.raises(BundleError, match="records decoding speed-ups"):
        store_model(out, "fast", store=tmp_path / "store")
    assert not (tmp_path / "store" / "fast").exists()
