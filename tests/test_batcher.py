"""Dynamic batching without HTTP or a model: a fake translator records what it was given."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from seq2seq.decode.translate import Hypothesis, Translation
from seq2seq.serve.batcher import Batcher, BatchSettings, DecodeKey, QueueFull

PLAIN = DecodeKey((("beam_size", 5), ("nbest", 1)), attention=False)
WITH_ATTENTION = DecodeKey((("beam_size", 5), ("nbest", 1)), attention=True)


class FakeTranslator:
    """Upper-cases its input; each call is recorded; `gate` holds a call until it is set."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], bool]] = []
        self.gate = threading.Event()
        self.gate.set()

    def with_decode(self, **_: int) -> FakeTranslator:
        return self

    def translate_batch(
        self, texts: list[str], attention: bool = False, domains: list | None = None
    ) -> list[Translation]:
        self.gate.wait(10)
        self.calls.append((list(texts), attention))
        return [Translation(t, [Hypothesis(t.upper(), 0.0)]) for t in texts]


def run(coro_fn, settings: BatchSettings, translator: FakeTranslator):
    """Run `coro_fn(batcher)` with a started batcher, stop it afterwards."""

    async def main():
        with ThreadPoolExecutor(1) as pool:
            batcher = Batcher(translator, settings, pool)
            batcher.start()
            try:
                return await coro_fn(batcher)
            finally:
                translator.gate.set()
                await batcher.stop()

    return asyncio.run(main())


def test_concurrent_requests_share_a_batch_and_keep_their_answers() -> None:
    fake = FakeTranslator()

    async def go(b: Batcher):
        return await asyncio.gather(
            b.translate(["a", "b"], PLAIN), b.translate(["c"], PLAIN), b.translate(["d"], PLAIN)
        )

    answers = run(go, BatchSettings(max_sentences=8, max_wait_ms=50), fake)
    assert [[t.best for t in a] for a in answers] == [["A", "B"], ["C"], ["D"]]
    assert fake.calls == [(["a", "b", "c", "d"], False)]


def test_attention_requests_batch_apart_and_size_is_capped() -> None:
    fake = FakeTranslator()

    async def go(b: Batcher):
        await asyncio.gather(
            b.translate(["a"], PLAIN),
            b.translate(["b"], WITH_ATTENTION),
            b.translate(["c", "d"], PLAIN),
            b.translate(["e", "f"], PLAIN),
        )

    run(go, BatchSettings(max_sentences=3, max_wait_ms=50), fake)
    assert sorted(fake.calls) == [(["a", "c", "d"], False), (["b"], True), (["e", "f"], False)]


def test_full_queue_refuses_and_a_cancelled_request_frees_its_place() -> None:
    fake = FakeTranslator()

    async def go(b: Batcher):
        fake.gate.clear()  # the first batch blocks in the decoding thread
        first = asyncio.ensure_future(b.translate(["a"], PLAIN))
        for _ in range(500):
            if b.decoding:
                break
            await asyncio.sleep(0.01)
        assert b.decoding == 1
        waiting = asyncio.ensure_future(b.translate(["b", "c"], PLAIN))
        await asyncio.sleep(0.05)
        assert b.queued == 2
        with pytest.raises(QueueFull):
            await b.translate(["d", "e"], PLAIN)
        waiting.cancel()  # the client went away
        await asyncio.sleep(0)
        assert b.queued == 0
        late = asyncio.ensure_future(b.translate(["f"], PLAIN))
        fake.gate.set()
        assert [t.best for t in await first] == ["A"]
        assert [t.best for t in await late] == ["F"]

    run(go, BatchSettings(max_sentences=8, max_wait_ms=1, max_queued=3), fake)
    assert [texts for texts, _ in fake.calls] == [["a"], ["f"]]  # "b", "c" never decoded
