"""What both protocols of `seq2seq serve` share: the limits, who may call, the loaded models
with their batchers, reading a body, waiting for a batch, and refusing a request."""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.responses import JSONResponse

from indic_common.errors import ConfigError
from seq2seq.config import DecodeConfig, decode_options
from seq2seq.serve.batcher import Batcher, BatchSettings, DecodeKey

if TYPE_CHECKING:
    from seq2seq.decode.translate import Translation, Translator

log = logging.getLogger("seq2seq.serve")

# The decoding options a request may set, declared with DecodeConfig's fields (`request`).
REQUEST_OPTIONS = tuple(o for o in decode_options() if o.request)


@dataclass(frozen=True)
class ServeLimits:
    """What one request may ask for, and how requests are batched."""

    max_texts: int = 64  # texts per request
    max_chars: int = 2000  # characters per text
    max_beam: int = 16
    timeout_s: float = 60.0  # a request not answered by then gets 504 and leaves the queue
    batch: BatchSettings = field(default_factory=BatchSettings)

    def __post_init__(self) -> None:
        for name, value in self.settings().items():
            if not value > 0:
                raise ConfigError(f"serve setting {name} must be positive (got {value})", key=name)

    def settings(self) -> dict[str, int | float]:
        """Every limit and batch setting by name, in one flat mapping."""
        return {k: v for k, v in asdict(self).items() if k != "batch"} | asdict(self.batch)

    @property
    def max_body_bytes(self) -> int:
        """A body larger than any valid request could be is refused before it is parsed."""
        return self.max_texts * (self.max_chars * 4 + 16) + 4096


@dataclass(frozen=True)
class ServeAccess:
    """Who may use the server: API keys (None: anyone) and the origins browsers may call it
    from (CORS)."""

    api_keys: frozenset[str] | None = None
    cors_origins: tuple[str, ...] = ("*",)

    @classmethod
    def from_options(cls, keys_file: Path | None, origins: str) -> ServeAccess:
        """From `--api-keys FILE` (one key a line; # starts a comment) and `--cors-origins`
        (comma-separated, or *)."""
        keys = None
        if keys_file is not None:
            try:
                lines = keys_file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as e:
                raise ConfigError(f"--api-keys: cannot read {keys_file}: {e}") from None
            keys = frozenset(k for line in lines if (k := line.split("#")[0].strip()))
            if not keys:
                raise ConfigError(f"--api-keys: {keys_file} holds no key; write one key a line")
        return cls(keys, tuple(o.strip() for o in origins.split(",") if o.strip()))


class Refused(Exception):
    """A request refused with `status` and a one-line message naming the field."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers

    def response(self) -> JSONResponse:
        return error(self.status, str(self), self.headers)


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    """A refusal as both protocols give it: `{"error": message}`."""
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def model_name(path: Path) -> str:
    """A model's name in requests: its folder's name (models/hi-en -> hi-en)."""
    return path.resolve().name


class Models:
    """The loaded models by name, one Batcher each, and how a request picks one."""

    def __init__(self, translators: dict[str, Translator], limits: ServeLimits):
        self.translators = translators
        self.limits = limits
        self.batchers: dict[str, Batcher] = {}

    def start(self, executor: ThreadPoolExecutor) -> None:
        """One batcher per model, all decoding on `executor` (one thread: one batch at a time)."""
        self.batchers = {
            name: Batcher(tr, self.limits.batch, executor) for name, tr in self.translators.items()
        }
        for batcher in self.batchers.values():
            batcher.start()

    def choose(self, req) -> str:
        """The name of the model a request means: by name, by direction, or the only one."""
        names = ", ".join(self.translators)
        if req.model is not None:
            if req.model not in self.translators:
                raise Refused(404, f"model: no model {req.model!r}; this server has: {names}")
            return req.model
        if req.src is None and req.tgt is None:
            if len(self.translators) == 1:
                return next(iter(self.translators))
            raise Refused(422, f"model: this server has several models ({names}); name one")
        matches = [
            name
            for name, tr in self.translators.items()
            if req.src in (None, tr.src_lang) and req.tgt in (None, tr.tgt_lang)
        ]
        if not matches:
            directions = ", ".join(tr.direction for tr in self.translators.values())
            field = "from" if req.src is not None else "to"
            raise Refused(
                404, f"{field}: no model for {req.src}->{req.tgt}; directions: {directions}"
            )
        return matches[0]

    def _pairs(self) -> list[tuple[str, tuple[str, str]]]:
        """(model name, (source, target)) of every direction each model translates: its fixed
        source, or each source a multilingual one reads into its target."""
        return [
            (name, (src, tr.tgt_lang))
            for name, tr in self.translators.items()
            for src in ([tr.src_lang] if tr.src_lang else tr.sources)
        ]

    def directions(self) -> list[tuple[str, str]]:
        """(source, target) of every served direction, each once, in the models' order."""
        return list(dict.fromkeys(pair for _, pair in self._pairs()))

    def for_pair(self, src: str, tgt: str) -> str | None:
        """The first model that translates src into tgt, or None."""
        return next((name for name, pair in self._pairs() if pair == (src, tgt)), None)

    def describe(self) -> list[dict]:
        out = []
        for name, tr in self.translators.items():
            meta, cfg = tr.bundle.metadata, tr.bundle.cfg
            out.append(
                {
                    "name": name,
                    "from": tr.src_lang,
                    "to": tr.tgt_lang,
                    "parameters": meta.get("parameters"),
                    "training_steps": meta.get("training_steps"),
                    "dev_bleu": meta.get("dev_bleu"),
                    "dev_chrf": meta.get("dev_chrf"),
                    "dev_set": cfg.data.dev_set,
                    "ensemble": [model_name(Path(m["model"])) for m in meta.get("ensemble", [])],
                    "beam": tr.decode.beam_size,
                    "attention": tr.bundle.model.has_attention,
                    "domains": tr.domains,
                    "default_domain": tr.domain,
                }
            )
        return out


def decode_key(decode: DecodeConfig, attention: bool, domain: str | None) -> DecodeKey:
    """The batching key of a request decoded with `decode`."""
    return DecodeKey(
        tuple((o.name, getattr(decode, o.name)) for o in REQUEST_OPTIONS), attention, domain
    )


async def read_body(request: Request, limits: ServeLimits) -> bytes:
    """The body, refused by its Content-Length when larger than any valid request could be,
    and read in chunks held to the same limit (a body sent without Content-Length)."""
    limit = limits.max_body_bytes
    size = int(request.headers.get("content-length") or 0)
    if size > limit:
        raise Refused(
            413,
            f"body: {size} bytes, more than {limits.max_texts} texts of "
            f"{limits.max_chars} characters take ({limit}); send at most "
            f"{limits.max_texts} texts of at most {limits.max_chars} characters",
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"body: over {limit} bytes; send fewer or shorter texts")
        chunks.append(chunk)
    return b"".join(chunks)


async def wait_for(
    request: Request, batcher: Batcher, texts: list[str], key: DecodeKey, timeout_s: float
) -> list[Translation]:
    """Wait for the batcher; give up (and leave the queue) when the client goes or time is up."""
    task = asyncio.ensure_future(batcher.translate(texts, key))
    deadline = time.monotonic() + timeout_s
    while not task.done():
        await asyncio.wait({task}, timeout=0.2)
        if task.done():
            break
        if await request.is_disconnected():
            task.cancel()
            raise Refused(499, "client: closed the connection before the answer")
        if time.monotonic() > deadline:
            task.cancel()
            raise Refused(504, f"texts: not translated within {timeout_s:g} s; send fewer")
    return task.result()


@dataclass
class Service:
    """What the routes receive (`app.state.service`): the models (with their limits) and who
    may call."""

    models: Models
    access: ServeAccess

    @property
    def limits(self) -> ServeLimits:
        return self.models.limits
