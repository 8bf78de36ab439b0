"""Search: beam of one equals greedy, beam never scores below greedy, n-best is sorted,
output lengths respect the cap, and batch size does not change outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from indic_common.special import EOS_ID, PAD_ID
from seq2seq.config import DecodeConfig as D
from seq2seq.decode.search import (
    beam_search,
    greedy_search,
    max_lengths,
    min_lengths,
    pad_ids,
    repeated_ngrams,
)
from seq2seq.decode.translate import Translator
from seq2seq.model.bundle import load_bundle


@pytest.fixture(scope="module")
def bundle(tiny_bundle: Path):
    return load_bundle(tiny_bundle)


@pytest.fixture(scope="module")
def dev_sources(data_root: Path) -> list[str]:
    return (data_root / "hi-en" / "dev.hi").read_text(encoding="utf-8").splitlines()[:48]


@pytest.fixture(scope="module")
def batch(bundle, dev_sources):
    return pad_ids(bundle.src_vocab.encode_batch(dev_sources))


def _sequence_logprob(model, src_ids, src_lens, out_ids) -> torch.Tensor:
    """Log-probability of given outputs (B, T) under the model, up to each one's EOS."""
    memory, state = model.encode(src_ids, src_lens)
    prev = torch.full((src_ids.size(0),), 2, dtype=torch.long)
    total = torch.zeros(src_ids.size(0))
    alive = torch.ones(src_ids.size(0), dtype=torch.bool)
    for t in range(out_ids.size(1)):
        log_probs, state, _ = model.decode_step(prev, state, memory)
        tok = out_ids[:, t]
        total += torch.where(alive, log_probs.gather(1, tok.clamp(min=0).unsqueeze(1))[:, 0], 0.0)
        alive &= (tok != EOS_ID) & (tok != PAD_ID)
        prev = tok
    return total


def test_beam_of_one_equals_greedy(bundle, batch) -> None:
    greedy = greedy_search(bundle.model, *batch, D(max_len_ratio=1.5, max_len_offset=10))
    beam = beam_search(bundle.model, *batch, D(beam_size=1, length_penalty=0.0))
    t = min(greedy.ids.size(2), beam.ids.size(2))
    assert torch.equal(greedy.ids[:, :, :t], beam.ids[:, :, :t])
    torch.testing.assert_close(greedy.scores, beam.scores)


def test_beam_never_scores_below_greedy(dev_sources) -> None:
    """On a trained model (the golden fixture, 800 steps). Beam search stops a sentence once K
    hypotheses have ended, so on a barely trained one (the 100-step test model) it can
    end below greedy's path, which it pruned early: that is beam search, not a bug."""
    bundle = load_bundle(Path(__file__).resolve().parent / "fixtures" / "bundle-v1")
    batch = pad_ids(bundle.src_vocab.encode_batch(dev_sources))
    greedy = greedy_search(bundle.model, *batch)
    beam = beam_search(bundle.model, *batch, D(beam_size=5, length_penalty=0.0))
    with torch.no_grad():
        rescored = _sequence_logprob(bundle.model, *batch, beam.ids[:, 0])
    torch.testing.assert_close(rescored, beam.scores[:, 0], rtol=1e-4, atol=1e-4)
    assert bool((beam.scores[:, 0] >= greedy.scores[:, 0] - 1e-4).all())


def test_nbest_sorted_and_distinct(bundle, batch) -> None:
    result = beam_search(bundle.model, *batch, D(beam_size=5, length_penalty=1.0, nbest=5))
    assert result.ids.shape[:2] == (batch[0].size(0), 5)
    assert bool((result.scores[:, :-1] >= result.scores[:, 1:]).all())
    for row in result.ids:
        assert len({tuple(h.tolist()) for h in row}) == 5


def test_outputs_end_and_respect_the_length_cap(bundle, batch) -> None:
    caps = max_lengths(batch[1], 0.5, 2)
    for result in (
        greedy_search(bundle.model, *batch, D(max_len_ratio=0.5, max_len_offset=2)),
        beam_search(bundle.model, *batch, D(beam_size=4, max_len_ratio=0.5, max_len_offset=2)),
    ):
        for ids, cap in zip(result.ids[:, 0], caps):
            ids = ids.tolist()
            assert EOS_ID in ids and ids.index(EOS_ID) < int(cap)


def test_attention_returned_for_beam_and_greedy(bundle, batch) -> None:
    for result in (
        greedy_search(bundle.model, *batch, return_attention=True),
        beam_search(bundle.model, *batch, D(beam_size=3), return_attention=True),
    ):
        assert result.attention is not None
        src_ids, _ = batch
        n_out = (result.ids[:, 0] != PAD_ID).sum(1)
        for row in range(src_ids.size(0)):
            att = result.attention[row, 0, : int(n_out[row])]
            torch.testing.assert_close(att.sum(-1), torch.ones(att.size(0)))
            assert float(att[:, src_ids[row] == PAD_ID].sum()) == 0.0


@pytest.mark.parametrize("beam", [1, 5])
def test_batch_size_does_not_change_outputs(tiny_bundle: Path, dev_sources, beam: int) -> None:
    one = Translator.load(tiny_bundle, beam_size=beam, batch_size=1)
    many = Translator.load(tiny_bundle, beam_size=beam, batch_size=64)
    assert [t.best for t in one.translate_batch(dev_sources)] == [
        t.best for t in many.translate_batch(dev_sources)
    ]


def _ngrams(ids: list[int], n: int) -> list[tuple[int, ...]]:
    ids = ids[: ids.index(EOS_ID)] if EOS_ID in ids else [i for i in ids if i != PAD_ID]
    return [tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)]


def test_repeated_ngrams_matches_a_plain_loop() -> None:
    history = torch.tensor([[5, 6, 7, 5, 6], [5, 6, 5, 6, 5], [9, 9, 9, 9, 9]])
    for n in (1, 2, 3):
        mask = repeated_ngrams(history, n, 12)
        for row, ids in enumerate(history.tolist()):
            tail = tuple(ids[len(ids) - n + 1 :]) if n > 1 else ()
            expected = {
                ids[i + n - 1] for i in range(len(ids) - n + 1) if tuple(ids[i : i + n - 1]) == tail
            }
            assert set(mask[row].nonzero().flatten().tolist()) == expected


@pytest.mark.parametrize("n", [2, 3])
def test_no_repeat_ngram_blocks_every_repeat(bundle, batch, n: int) -> None:
    for result in (
        greedy_search(bundle.model, *batch, D(no_repeat_ngram=n)),
        beam_search(bundle.model, *batch, D(beam_size=4, no_repeat_ngram=n, nbest=2)),
    ):
        for hyps in result.ids.tolist():
            for ids in hyps:
                grams = _ngrams(ids, n)
                assert len(grams) == len(set(grams))


def test_min_length_ratio_delays_the_end(bundle, batch) -> None:
    floors = min_lengths(batch[1], 0.8)
    for result in (
        greedy_search(bundle.model, *batch, D(min_len_ratio=0.8)),
        beam_search(bundle.model, *batch, D(beam_size=3, min_len_ratio=0.8)),
    ):
        for ids, floor in zip(result.ids[:, 0].tolist(), floors.tolist()):
            assert EOS_ID in ids and ids.index(EOS_ID) >= floor


def test_no_output_is_empty_even_without_a_length_floor(bundle, batch) -> None:
    assert min_lengths(torch.tensor([1, 2, 10]), 0.0).tolist() == [1, 1, 1]
    for result in (
        greedy_search(bundle.model, *batch, D(min_len_ratio=0.0)),
        beam_search(bundle.model, *batch, D(beam_size=3, min_len_ratio=0.0, nbest=3)),
    ):
        assert (result.ids[:, :, 0] != EOS_ID).all()


def test_sampling_is_seeded_and_needs_beam_one(bundle, batch) -> None:
    from indic_common.errors import ConfigError

    sample = D(beam_size=1, sampling=True)
    torch.manual_seed(3)
    a = greedy_search(bundle.model, *batch, sample)
    torch.manual_seed(3)
    b = greedy_search(bundle.model, *batch, sample)
    assert torch.equal(a.ids, b.ids) and torch.equal(a.scores, b.scores)
    greedy = greedy_search(bundle.model, *batch, D(beam_size=1))
    assert not torch.equal(a.ids, greedy.ids)
    with pytest.raises(ConfigError, match="decode.sampling needs beam_size 1"):
        D(beam_size=5, sampling=True)


def test_finished_sentences_leave_the_batch_without_changing_results(bundle, batch) -> None:
    """A long sentence decoded with short ones gives what it gives alone (the short ones leave
    the batch as they finish), with attention too."""
    src_ids, src_lens = batch
    for decode in (D(beam_size=1), D(beam_size=4, nbest=2, no_repeat_ngram=3)):
        together = beam_search if decode.beam_size > 1 else greedy_search
        whole = together(bundle.model, src_ids, src_lens, decode, return_attention=True)
        for row in (0, int(src_lens.argmax())):
            alone = together(
                bundle.model,
                src_ids[row : row + 1, : src_lens[row]],
                src_lens[row : row + 1],
                decode,
                return_attention=True,
            )
            t = alone.ids.size(2)
            assert whole.ids[row, :, :t].tolist() == alone.ids[0].tolist()
            torch.testing.assert_close(whole.scores[row], alone.scores[0], rtol=0, atol=1e-4)
            assert whole.attention is not None and alone.attention is not None
            torch.testing.assert_close(
                whole.attention[row, :, :t, : int(src_lens[row])],
                alone.attention[0],
                rtol=0,
                atol=1e-4,
            )
