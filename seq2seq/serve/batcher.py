"""Dynamic batching: concurrent requests to one model are queued and decoded together.

One worker per model takes the oldest waiting request and the requests behind it that use the
same decode settings (beam, n-best, attention), until it holds `max_sentences` or the oldest has
waited `max_wait_ms`, and decodes them with one `translate_batch` call on the decoding thread,
off the event loop. While one batch decodes, the next fills up: under load, batches grow by
themselves. Requests that ask for attention weights have their own setting, so they batch apart
from plain ones.

The queue is bounded in sentences: a request that would overflow it is refused at once
(`QueueFull`; the server answers 503 with Retry-After). A request whose client went away or
timed out is cancelled; it leaves the queue at once and is never decoded.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the batcher calls a translator's methods; it needs nothing else of it
    from seq2seq.decode.translate import Translation, Translator


@dataclass(frozen=True)
class BatchSettings:
    """How requests are grouped: per batch, how long to wait, how much may wait in all."""

    max_sentences: int = 64  # sentences decoded together (a larger request is one batch)
    max_wait_ms: float = 5.0  # the oldest request waits at most this long for company
    max_queued: int = 1024  # sentences waiting, all requests together


class QueueFull(Exception):
    """The queue holds `max_queued` sentences already; the client should retry later."""


@dataclass(frozen=True)
class DecodeKey:
    """The decode settings a request asks for; only requests with equal keys share a batch."""

    # (DecodeConfig field, value) of every option a request may set (serve.REQUEST_OPTIONS)
    decode: tuple[tuple[str, object], ...]
    attention: bool
    domain: str | None = None  # the domain tag, for a model trained with them


@dataclass(eq=False)
class _Job:
    texts: list[str]
    key: DecodeKey
    future: asyncio.Future
    queued_at: float = field(default_factory=time.monotonic)
    in_queue: bool = True


class Batcher:
    """The queue and decoding worker of one model; `translate` is called by request handlers."""

    def __init__(self, translator: Translator, settings: BatchSettings, executor: Executor):
        self.translator = translator
        self.settings = settings
        self.executor = executor
        self.queued = 0  # sentences waiting
        self.decoding = 0  # sentences being decoded now
        self.batches = 0  # decoded so far, with `sentences` sentences in all
        self.sentences = 0
        self._jobs: deque[_Job] = deque()
        self._arrived = asyncio.Event()
        self._by_key: dict[DecodeKey, Translator] = {}
        self._worker: asyncio.Task | None = None

    def start(self) -> None:
        self._worker = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the worker; requests still waiting get an error (the server drains first)."""
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        for job in self._jobs:
            if not job.future.done():
                job.future.set_exception(RuntimeError("the server is shutting down"))
        self._jobs.clear()
        self.queued = 0

    async def translate(self, texts: list[str], key: DecodeKey) -> list[Translation]:
        """Queue `texts` and wait for their translations. Cancelling the caller (client gone,
        time-out) takes the request out of the queue if it is not decoding yet."""
        if self.queued + len(texts) > self.settings.max_queued:
            raise QueueFull(
                f"{self.queued} sentences are waiting (at most {self.settings.max_queued})"
            )
        job = _Job(texts, key, asyncio.get_running_loop().create_future())
        job.future.add_done_callback(lambda _: self._leave(job))
        self._jobs.append(job)
        self.queued += len(texts)
        self._arrived.set()
        return await job.future

    def _leave(self, job: _Job) -> None:
        """Free a job's place in the queue (once): taken for decoding, cancelled or failed."""
        if job.in_queue:
            job.in_queue = False
            self.queued -= len(job.texts)

    def _translator(self, key: DecodeKey) -> Translator:
        if key not in self._by_key:
            self._by_key[key] = self.translator.with_decode(**dict(key.decode))
        return self._by_key[key]

    async def _next_batch(self) -> list[_Job]:
        """Wait for work; take the oldest request and the ones of its kind behind it."""
        while not any(job.in_queue for job in self._jobs):
            self._jobs.clear()
            self._arrived.clear()
            await self._arrived.wait()
        first = next(job for job in self._jobs if job.in_queue)
        deadline = first.queued_at + self.settings.max_wait_ms / 1000
        while (wait := deadline - time.monotonic()) > 0 and self._waiting(first.key) < (
            self.settings.max_sentences
        ):
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), wait)
            except asyncio.TimeoutError:
                break
        batch, size = [], 0
        for job in self._jobs:
            if job.in_queue and job.key == first.key:
                if batch and size + len(job.texts) > self.settings.max_sentences:
                    break
                batch.append(job)
                size += len(job.texts)
        for job in batch:
            self._leave(job)
        self._jobs = deque(job for job in self._jobs if job.in_queue)
        return batch

    def _waiting(self, key: DecodeKey) -> int:
        return sum(len(j.texts) for j in self._jobs if j.in_queue and j.key == key)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            live = [job for job in batch if not job.future.done()]
            if not live:
                continue
            key, texts = live[0].key, [t for job in live for t in job.texts]
            self.decoding = len(texts)
            try:
                found = await loop.run_in_executor(
                    self.executor,
                    self._translator(key).translate_batch,
                    texts,
                    key.attention,
                    [key.domain] * len(texts),
                )
            except Exception as e:  # a decoding failure fails its requests, not the server
                for job in live:
                    if not job.future.done():
                        job.future.set_exception(e)
                continue
            finally:
                self.decoding = 0
            self.batches += 1
            self.sentences += len(texts)
            start = 0
            for job in live:
                if not job.future.done():
                    job.future.set_result(found[start : start + len(job.texts)])
                start += len(job.texts)
