"""Ensemble decoding: the mean of the members' distributions at each step; a model with
itself decodes as the model alone; members of other prepared data are refused in one line."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from indic_common.errors import BundleError
from indic_common.special import BOS_ID, EOS_ID
from seq2seq.cli.main import main
from seq2seq.config import DecodeConfig as D
from seq2seq.decode.search import beam_search, greedy_search, pad_ids
from seq2seq.model.bundle import load_bundle
from seq2seq.model.ensemble import Ensemble, join_bundles


@pytest.fixture(scope="module")
def bundle(tiny_bundle: Path):
    return load_bundle(tiny_bundle)


@pytest.fixture(scope="module")
def other(tiny_bundle: Path):
    """The tiny bundle with every weight moved by noise: a second, different member."""
    b = load_bundle(tiny_bundle)
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in b.model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.05)
    return b


@pytest.fixture(scope="module")
def batch(bundle, data_root: Path):
    lines = (data_root / "hi-en" / "dev.hi").read_text(encoding="utf-8").splitlines()[:24]
    return pad_ids(bundle.src_vocab.encode_batch(lines))


def test_a_model_with_itself_decodes_as_the_model(bundle, batch) -> None:
    alone = beam_search(bundle.model, *batch, D(beam_size=3, nbest=2))
    twice = beam_search(Ensemble([bundle.model, bundle.model]), *batch, D(beam_size=3, nbest=2))
    assert torch.equal(alone.ids, twice.ids)
    assert torch.allclose(alone.scores, twice.scores, atol=1e-4)


def test_each_step_is_the_mean_of_the_members_probabilities(bundle, other, batch) -> None:
    models = [bundle.model, other.model]
    ensemble = Ensemble(models)
    prev = torch.full((batch[0].size(0),), BOS_ID, dtype=torch.long)
    memory, state = ensemble.encode(*batch)
    mean, _, attn = ensemble.decode_logits(prev, state, memory)
    probs = []
    for m in models:
        mem, st = m.encode(*batch)
        probs.append(torch.softmax(m.decode_logits(prev, st, mem)[0], dim=-1))
    assert torch.allclose(mean.exp(), (probs[0] + probs[1]) / 2, atol=1e-6)
    assert torch.allclose(mean.logsumexp(dim=-1), torch.zeros(mean.size(0)), atol=1e-5)
    assert attn is not None and torch.allclose(attn.sum(dim=-1), torch.ones(attn.size(0)))
    assert ensemble.num_parameters() == 2 * bundle.model.num_parameters()


def test_an_ensemble_scores_its_output_by_the_mean_distribution(bundle, other, batch) -> None:
    """Greedy output of the ensemble, rescored by hand: the sum of the log mean probabilities."""
    ensemble = Ensemble([bundle.model, other.model])
    result = greedy_search(ensemble, *batch, D(beam_size=1, no_repeat_ngram=0))
    row = 0
    ids = result.ids[row, 0]
    memory, state = ensemble.encode(batch[0][row : row + 1], batch[1][row : row + 1])
    prev, total = torch.tensor([BOS_ID]), 0.0
    for tok in ids.tolist():
        logp, state, _ = ensemble.decode_logits(prev, state, memory)
        total += float(logp[0, tok])
        if tok == EOS_ID:
            break
        prev = torch.tensor([tok])
    assert math.isclose(total, float(result.scores[row, 0]), rel_tol=1e-4, abs_tol=1e-4)


def test_attention_comes_back_from_an_ensemble(bundle, other, batch) -> None:
    result = beam_search(
        Ensemble([bundle.model, other.model]), *batch, D(beam_size=2), return_attention=True
    )
    assert result.attention is not None
    assert result.attention.shape[:3] == result.ids.shape


def test_a_member_of_other_data_is_refused_in_one_line(bundle) -> None:
    other_pieces = SimpleNamespace(model_proto=b"another SentencePiece model")
    stranger = replace(bundle, src_vocab=other_pieces, path=Path("models/elsewhere"))
    with pytest.raises(BundleError, match=r"models/elsewhere: .*source vocabulary differ"):
        join_bundles(bundle, [stranger])


def test_translate_and_evaluate_take_ensemble(tiny_bundle: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.hi"
    src.write_text("मुझे चाय पसंद है ।\nभारत की राजधानी नई दिल्ली है ।\n", encoding="utf-8")
    args = ["translate", "--model", str(tiny_bundle), "--input", str(src)]
    assert main(args) == 0
    alone = capsys.readouterr().out
    assert main([*args, "--ensemble", str(tiny_bundle)]) == 0
    assert capsys.readouterr().out == alone
    missing = tmp_path / "no-such-model"
    assert main([*args, "--ensemble", str(missing)]) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(missing) in err


def test_the_ensemble_knows_the_domains_of_all_its_members(bundle) -> None:
    tagged = replace(bundle.cfg, data=replace(bundle.cfg.data, domain_tags=True))

    def member(path: str, domains: list[str]):
        metadata = {**bundle.metadata, "domains": domains, "default_domain": "wikipedia"}
        return replace(bundle, cfg=tagged, metadata=metadata, path=Path(path))

    general = member("models/general", ["captions", "news", "wikipedia"])
    tuned = member("models/tuned", ["wikipedia"])
    joined = join_bundles(general, [tuned])
    assert joined.metadata["domains"] == ["wikipedia"]
    assert [m["model"] for m in joined.metadata["ensemble"]] == ["models/general", "models/tuned"]
    digest = bundle.metadata["sha256"]["model.safetensors"]
    assert [m["sha256"] for m in joined.metadata["ensemble"]] == [digest, digest]
    with pytest.raises(BundleError, match=r"models/general: its domain 'wikipedia' is not"):
        join_bundles(general, [member("models/captions", ["captions"])])
    with pytest.raises(BundleError, match=r"models/plain: .*domain tags differ"):
        join_bundles(general, [replace(bundle, path=Path("models/plain"))])
