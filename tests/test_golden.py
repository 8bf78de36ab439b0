"""Golden search: a fixed model (tests/fixtures/bundle-v1, written by the bundle format of
before the config/search redesign) must give exactly the recorded ids and scores under greedy,
beam 5, n-best, n-gram blocking and the length floor. A change to search that alters them must
regenerate the record with tests/fixtures/make_golden.py and say why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from seq2seq.decode.search import pad_ids
from seq2seq.model.bundle import load_bundle

FIXTURES = Path(__file__).resolve().parent / "fixtures"
GOLDEN = json.loads((FIXTURES / "golden-search.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def golden_batch():
    bundle = load_bundle(FIXTURES / "bundle-v1")
    return bundle.model, pad_ids(bundle.src_vocab.encode_batch(GOLDEN["inputs"]))


@pytest.mark.parametrize("name", sorted(GOLDEN["settings"]))
def test_search_reproduces_the_record(golden_batch, name: str) -> None:
    from fixtures.make_golden import run_setting

    model, (src_ids, src_lens) = golden_batch
    result = run_setting(model, src_ids, src_lens, GOLDEN["settings"][name])
    want = GOLDEN["results"][name]
    assert result.ids.tolist() == want["ids"]
    # Ids exactly; scores to float32 rounding (a sum of ~40 log-probs, each logit - logsumexp)
    torch.testing.assert_close(result.scores, torch.tensor(want["scores"]), rtol=1e-6, atol=1e-5)
