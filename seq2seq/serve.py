"""`seq2seq serve`: models over HTTP (FastAPI on uvicorn) and the web page at `/`.

Two protocols on POST /translate. A JSON object with a `texts` field is ours (also served at
/v1/translate); anything else (JSON with `q`, a form body, fields in the query string) is
LibreTranslate's (seq2seq/libre.py), so its clients work unchanged.

    POST /translate     {"texts": [...], "model" or "from"/"to", "beam", "nbest", "split",
                        "attention"}; or LibreTranslate's q, source, target, format, ...
    POST /v1/translate  ours only
    POST /detect        the language of q, from its script (LibreTranslate's)
    GET  /languages     the served languages and their targets (LibreTranslate's)
    GET  /frontend/settings  LibreTranslate's page settings: charLimit, keyRequired, ...
    GET  /models        directions, sizes, dev BLEU (from each bundle's metadata)
    GET  /health        status, waiting sentences, batches decoded
    GET  /docs          the OpenAPI page (FastAPI's)

Concurrent requests are batched per model (batcher.py). Every refusal is JSON,
`{"error": "..."}`: in our protocol the message names the field, with a 4xx status (503 and
Retry-After when the queue is full, 504 after `timeout_s`); in LibreTranslate's, its wording and
codes (400, 403 for a wrong key, 429 when the queue is full). The server keeps serving after
each. CORS headers on every answer (origins configurable). On SIGTERM uvicorn stops accepting
connections, lets requests in flight finish, then stops the workers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

import seq2seq.libre as libre
from indic_common.errors import BundleError, ConfigError
from indic_common.languages import ALL_SCRIPTS
from seq2seq.batcher import Batcher, BatchSettings, DecodeKey, QueueFull
from seq2seq.config import DecodeConfig, decode_options
from seq2seq.libre import LibreError, LibreRequest
from seq2seq.markup import MarkupError, parse_html
from seq2seq.translate import Translation, Translator

log = logging.getLogger("seq2seq.serve")

# Fonts of the web page, served from the pip font packages the attention plots use, so that
# Devanagari, Bengali and Tamil render the same on every machine.
FONTS = {script.name.lower(): script.shipped for script in ALL_SCRIPTS}


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


class _RequestBase(BaseModel):
    """What POST /translate takes besides the decoding options (types only; the limits are the
    server's options)."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)

    texts: list[str] = Field(description="the texts to translate, one translation each")
    model: str | None = Field(None, description="a model name from GET /models")
    src: str | None = Field(None, alias="from", description="source language, e.g. hi")
    tgt: str | None = Field(None, alias="to", description="target language, e.g. en")
    attention: bool = Field(False, description="the best hypothesis's attention weights")
    domain: str | None = Field(
        None, description="domain tag (models trained with them); default: the model's"
    )


# The decoding options a request may set, declared with DecodeConfig's fields (`request`).
REQUEST_OPTIONS = tuple(o for o in decode_options() if o.request)
TranslateRequest = create_model(
    "TranslateRequest",
    __base__=_RequestBase,
    __doc__="The body of POST /translate.",
    **{
        o.request: (o.type | None, Field(None, description=f"{o.help}; default: the model's"))
        for o in REQUEST_OPTIONS
    },
)


def request_decode(req: BaseModel, tr: Translator) -> DecodeConfig:
    """The model's decode settings with the request's options; DecodeConfig checks them, and a
    bad value is refused naming the request's field."""
    asked = {o.name: getattr(req, o.request) for o in REQUEST_OPTIONS}
    try:
        return replace(tr.decode, **{k: v for k, v in asked.items() if v is not None})
    except ConfigError as e:
        named = {o.name: str(o.request) for o in REQUEST_OPTIONS}
        key = getattr(e, "key", None) or ""
        message = str(e).removeprefix(f"decode.{key} ")
        for name, request in named.items():
            message = message.replace(name, request)
        raise _Refused(422, f"{named.get(key, key)}: {message}") from None


class _Refused(Exception):
    """A request refused with `status` and a one-line message naming the field."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers


def model_name(path: Path) -> str:
    """A model's name in requests: its folder's name (models/hi-en -> hi-en)."""
    return path.resolve().name


def _parse(body: bytes, limits: ServeLimits) -> TranslateRequest:
    """The request body as a TranslateRequest, or _Refused naming what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _Refused(
            400, f"body: not UTF-8 (byte {e.start}); send JSON encoded as UTF-8"
        ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise _Refused(
            400, f"body: malformed JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    try:
        req = TranslateRequest.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(part) for part in err["loc"]) or "body"
        raise _Refused(422, f"{where}: {err['msg']}") from None
    if len(req.texts) > limits.max_texts:
        raise _Refused(
            413,
            f"texts: {len(req.texts)} texts, at most {limits.max_texts} per request; "
            "send them in several requests",
        )
    for n, t in enumerate(req.texts):
        if len(t) > limits.max_chars:
            raise _Refused(
                413,
                f"texts.{n}: {len(t)} characters, at most {limits.max_chars} per text; "
                "split the text",
            )
    return req


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

    def choose(self, req: TranslateRequest) -> str:
        """The name of the model a request means: by name, by direction, or the only one."""
        names = ", ".join(self.translators)
        if req.model is not None:
            if req.model not in self.translators:
                raise _Refused(404, f"model: no model {req.model!r}; this server has: {names}")
            return req.model
        if req.src is None and req.tgt is None:
            if len(self.translators) == 1:
                return next(iter(self.translators))
            raise _Refused(422, f"model: this server has several models ({names}); name one")
        matches = [
            name
            for name, tr in self.translators.items()
            if req.src in (None, tr.src_lang) and req.tgt in (None, tr.tgt_lang)
        ]
        if not matches:
            directions = ", ".join(tr.direction for tr in self.translators.values())
            field = "from" if req.src is not None else "to"
            raise _Refused(
                404, f"{field}: no model for {req.src}->{req.tgt}; directions: {directions}"
            )
        return matches[0]

    def directions(self) -> list[tuple[str, str]]:
        """(source, target) of every served direction, each once, in the models' order."""
        pairs = [
            (src, tr.tgt_lang)
            for tr in self.translators.values()
            for src in ([tr.src_lang] if tr.src_lang else tr.sources)
        ]
        return list(dict.fromkeys(pairs))

    def for_pair(self, src: str, tgt: str) -> str | None:
        """The first model that translates src into tgt, or None."""
        for name, tr in self.translators.items():
            if tr.tgt_lang == tgt and src in ([tr.src_lang] if tr.src_lang else tr.sources):
                return name
        return None

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


def _key(decode: DecodeConfig, attention: bool, domain: str | None) -> DecodeKey:
    """The batching key of a request decoded with `decode`."""
    return DecodeKey(
        tuple((o.name, getattr(decode, o.name)) for o in REQUEST_OPTIONS), attention, domain
    )


def _hypotheses(t: Translation, nbest: int, attention: bool) -> dict:
    out: dict = {"text": t.best, "score": round(t.hypotheses[0].score, 4)}
    if nbest > 1:
        out["nbest"] = [{"text": h.text, "score": round(h.score, 4)} for h in t.hypotheses]
    if attention and t.alignment is not None:
        a = t.alignment
        out["attention"] = {
            "source": a.src_pieces,
            "target": a.tgt_pieces,
            "weights": [[round(float(w), 4) for w in row] for row in a.weights],
        }
    return out


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, read in chunks and refused once it passes `limit` bytes (a body sent without
    Content-Length is held to the same limit)."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Refused(413, f"body: over {limit} bytes; send fewer or shorter texts")
        chunks.append(chunk)
    return b"".join(chunks)


def _error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _answer(
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
            raise _Refused(499, "client: closed the connection before the answer")
        if time.monotonic() > deadline:
            task.cancel()
            raise _Refused(504, f"texts: not translated within {timeout_s:g} s; send fewer")
    return task.result()


def create_app(
    translators: dict[str, Translator],
    limits: ServeLimits | None = None,
    access: ServeAccess | None = None,
) -> FastAPI:
    """The ASGI app serving `translators` (name -> Translator)."""
    limits = limits or ServeLimits()
    access = access or ServeAccess()
    models = Models(translators, limits)
    web = resources.files("seq2seq") / "web"

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode")
        models.start(executor)
        log.info("serving %s", ", ".join(translators))
        yield
        for batcher in models.batchers.values():
            await batcher.stop()
        executor.shutdown(wait=True)

    app = FastAPI(title="indic-seq2seq", lifespan=lifespan, version="0.1.0")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(access.cors_origins),
        allow_methods=["*"],
        allow_headers=["*"],
        max_age=600,
    )

    @app.middleware("http")
    async def access_log(request: Request, call_next):
        start = time.perf_counter()
        response = await call_next(request)
        client = request.client.host if request.client else "-"
        log.info(
            "%s %s %s %d %.1f ms",
            client,
            request.method,
            request.url.path,
            response.status_code,
            (time.perf_counter() - start) * 1000,
        )
        return response

    async def body_of(request: Request) -> bytes:
        size = int(request.headers.get("content-length") or 0)
        if size > limits.max_body_bytes:
            raise _Refused(
                413,
                f"body: {size} bytes, more than {limits.max_texts} texts of "
                f"{limits.max_chars} characters take ({limits.max_body_bytes}); send at most "
                f"{limits.max_texts} texts of at most {limits.max_chars} characters",
            )
        return await _read_body(request, limits.max_body_bytes)

    async def ours(request: Request, body: bytes) -> Response:
        """Our protocol: texts in, translations (n-best, attention) out."""
        try:
            if access.api_keys is not None:
                given = request.headers.get("authorization", "").removeprefix("Bearer ")
                if given not in access.api_keys:
                    raise _Refused(403, "authorization: send `Authorization: Bearer <API key>`")
            req = _parse(body, limits)
            name = models.choose(req)
            tr = models.translators[name]
            decode = request_decode(req, tr)
            if decode.beam_size > limits.max_beam:
                raise _Refused(
                    422, f"beam: {decode.beam_size}, must be 1 to {limits.max_beam} here"
                )
            if req.attention and not tr.bundle.model.has_attention:
                raise _Refused(422, f"attention: model {name!r} has no attention")
            try:
                domain = tr.check_domain(req.domain or tr.domain)
            except ConfigError as e:
                raise _Refused(422, f"domain: {e}") from None
            start = time.perf_counter()
            key = _key(decode, req.attention, domain)
            found = await _answer(request, models.batchers[name], req.texts, key, limits.timeout_s)
        except _Refused as e:
            return _error(e.status, str(e), e.headers)
        except QueueFull as e:
            return _error(503, f"server: busy, {e}; retry later", {"Retry-After": "1"})
        except Exception as e:  # a decoding failure: logged, answered, the server goes on
            log.exception("decoding failed")
            return _error(500, f"server: decoding failed ({type(e).__name__}: {e})")
        return JSONResponse(
            {
                "model": name,
                "translations": [_hypotheses(t, decode.nbest, req.attention) for t in found],
                "took_ms": round((time.perf_counter() - start) * 1000, 1),
            }
        )

    async def libre_translate(request: Request, body: bytes) -> Response:
        """LibreTranslate's POST /translate."""
        try:
            fields = _libre_fields(request, body)
            libre.check_key(fields, access.api_keys)
            req = libre.parse_translate(
                fields, limits.max_chars, limits.max_texts, limits.max_beam - 1
            )
            answer = await _translate_libre(request, req, models, limits)
        except LibreError as e:
            return _error(e.status, str(e))
        except _Refused as e:
            return _error(e.status, str(e), e.headers)
        except QueueFull:
            return _error(429, "Slowdown: the server's queue is full; retry in a second")
        except Exception as e:
            log.exception("decoding failed")
            return _error(500, f"Translation failed ({type(e).__name__}: {e})")
        return JSONResponse(answer)

    ours_schema = TranslateRequest.model_json_schema(by_alias=True)
    translate_body = {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"oneOf": [ours_schema, libre.REQUEST_SCHEMA]}},
                "application/x-www-form-urlencoded": {"schema": libre.REQUEST_SCHEMA},
            },
        }
    }
    ours_body = {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": ours_schema}},
        }
    }

    @app.post("/translate", openapi_extra=translate_body)
    async def translate(request: Request) -> Response:
        """Translate texts. A JSON object with `texts` is our protocol (with `nbest` > 1 the
        n-best list, with `attention` the weights); anything else is LibreTranslate's
        (`q`, `source`, `target`, `format`, `alternatives`, `api_key`), as JSON, a form body
        or the query string."""
        try:
            body = await body_of(request)
        except _Refused as e:
            return _error(e.status, str(e), e.headers)
        if _is_ours(body, request.headers.get("content-type", "")):
            return await ours(request, body)
        return await libre_translate(request, body)

    @app.post("/v1/translate", openapi_extra=ours_body)
    async def translate_v1(request: Request) -> Response:
        """Our protocol only: `{"texts": [...], ...}`."""
        try:
            body = await body_of(request)
        except _Refused as e:
            return _error(e.status, str(e), e.headers)
        return await ours(request, body)

    @app.get("/languages")
    async def languages() -> list[dict]:
        """LibreTranslate's: each served language, its name and the languages it goes into."""
        return libre.languages(models.directions())

    app.add_api_route("/languages", languages, methods=["POST"], include_in_schema=False)

    @app.post("/detect")
    async def detect(request: Request) -> Response:
        """LibreTranslate's: the language of `q` among the served sources, from its script."""
        try:
            fields = _libre_fields(request, await body_of(request))
            libre.check_key(fields, access.api_keys)
            q = fields.get("q")
            if not isinstance(q, str) or not q:
                raise LibreError(400, "Invalid request: missing q parameter")
            sources = list(dict.fromkeys(src for src, _ in models.directions()))
            return JSONResponse([libre.detect(q, sources)])
        except LibreError as e:
            return _error(e.status, str(e))
        except _Refused as e:
            return _error(e.status, str(e), e.headers)

    @app.get("/frontend/settings")
    async def frontend_settings() -> dict:
        """LibreTranslate's page settings: the character limit, whether a key is needed."""
        return libre.settings(limits.max_chars, access.api_keys is not None, models.directions())

    @app.get("/models")
    async def list_models() -> list[dict]:
        """The models this server holds."""
        return models.describe()

    @app.get("/health")
    async def health() -> dict:
        """Liveness, and per model the sentences waiting and the batches decoded."""
        return {
            "status": "ok",
            "models": {
                name: {
                    "queued": b.queued,
                    "decoding": b.decoding,
                    "batches": b.batches,
                    "sentences": b.sentences,
                }
                for name, b in models.batchers.items()
            },
            "limits": limits.settings(),
        }

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page() -> HTMLResponse:
        return HTMLResponse((web / "index.html").read_text(encoding="utf-8"))

    @app.get("/app.js", include_in_schema=False)
    async def script() -> Response:
        return Response((web / "app.js").read_text(encoding="utf-8"), media_type="text/javascript")

    @app.get("/app.css", include_in_schema=False)
    async def stylesheet() -> Response:
        return Response((web / "app.css").read_text(encoding="utf-8"), media_type="text/css")

    @app.get("/fonts/{script_name}", include_in_schema=False)
    async def font(script_name: str) -> Response:
        if script_name not in FONTS:
            return _error(404, f"font: no font {script_name!r}; fonts: {', '.join(FONTS)}")
        try:
            import fontpkg

            return FileResponse(fontpkg.path(FONTS[script_name]), media_type="font/ttf")
        except Exception:  # no font package: the browser falls back to system fonts
            return _error(404, f"font: {FONTS[script_name]} is not installed")

    return app


def _is_ours(body: bytes, content_type: str) -> bool:
    """Our protocol: a JSON object with `texts` (or a JSON body that does not parse, answered
    with our parser's line and column)."""
    if "json" not in content_type and body.lstrip()[:1] != b"{":
        return False
    try:
        raw = json.loads(body)
    except ValueError:
        return True
    return isinstance(raw, dict) and "texts" in raw


def _libre_fields(request: Request, body: bytes) -> dict:
    # Form bodies are parsed from the size-capped body, with a cap on the number of fields.
    content_type = request.headers.get("content-type", "")
    return libre.read_fields(body, content_type, request.url.query, max_fields=32)


async def _translate_libre(
    request: Request, req: LibreRequest, models: Models, limits: ServeLimits
) -> dict:
    """Translate a LibreTranslate request: each text from its source (detected by script for
    `auto`), HTML texts piece by piece with their tags kept, every text of one source in one
    batch. A text whose source is the target comes back as it was."""
    directions = models.directions()
    served = {lang for pair in directions for lang in pair}
    if req.target not in served:
        raise LibreError(400, f"{req.target} is not supported")
    try:
        docs = [parse_html(t) for t in req.texts] if req.html else None
    except MarkupError as e:
        raise LibreError(400, f"Invalid request: {e}") from None
    detected = None
    if req.source == "auto":
        into = [s for s, t in directions if t == req.target] or sorted(served)
        plain = [d.plain() for d in docs] if docs else req.texts
        detected = [libre.detect(text, into + [req.target]) for text in plain]
        sources = [d["language"] for d in detected]
    elif req.source not in served:
        raise LibreError(400, f"{req.source} is not supported")
    else:
        sources = [req.source] * len(req.texts)
    units = [d.texts() for d in docs] if docs else [[t] for t in req.texts]
    found: list[list[Translation] | None] = [None] * len(req.texts)
    for src in dict.fromkeys(sources):
        if src == req.target:
            continue
        name = models.for_pair(src, req.target)
        if name is None:
            pairs = ", ".join(f"{s}-{t}" for s, t in directions)
            raise LibreError(400, f"{src}-{req.target} is not supported; pairs here: {pairs}")
        tr = models.translators[name]
        decode = tr.decode
        if req.alternatives:
            n = req.alternatives + 1
            decode = replace(decode, nbest=n, beam_size=max(decode.beam_size, n))
        mine = [i for i, s in enumerate(sources) if s == src]
        flat = [u for i in mine for u in units[i]]
        if not flat:
            continue
        key = _key(decode, False, tr.domain)
        done = iter(await _answer(request, models.batchers[name], flat, key, limits.timeout_s))
        for i in mine:
            found[i] = [next(done) for _ in units[i]]
    translated, alternatives = [], []
    for i, text in enumerate(req.texts):
        got = found[i]
        if got is None:  # already in the target language, or nothing to translate
            translated.append(text)
            alternatives.append([])
        elif docs:
            translated.append(docs[i].render([t.best for t in got]))
            alternatives.append([])
        else:
            translated.append(got[0].best)
            alternatives.append([h.text for h in got[0].hypotheses[1:]])
    return libre.answer(req, translated, alternatives, detected)


def load_translators(
    models: Sequence[Sequence[Path]], device: str = "cpu", decode_overrides: dict | None = None
) -> dict[str, Translator]:
    """The served models by name: one per entry of `models`, and one per direction of a
    multilingual model (`multi:hi-en`). An entry of several bundles is their ensemble
    (seq2seq.ensemble; the first's settings hold), named after its members (`a+b`)."""
    translators: dict[str, Translator] = {}
    for first, *others in models:
        name = "+".join(model_name(p) for p in (first, *others))
        if name in translators:
            raise BundleError(f"{first}: a second model named {name!r}; rename one folder")
        translator = Translator.load(first, device, ensemble=others, **(decode_overrides or {}))
        if len(translator.directions) == 1:
            translators[name] = translator
            continue
        for direction in translator.directions:  # a multilingual model: one entry each
            translators[f"{name}:{direction}"] = translator.for_direction(*direction.split("-"))
    return translators


def serve(
    models: Sequence[Sequence[Path]],
    host: str = "127.0.0.1",
    port: int = 8000,
    device: str = "cpu",
    limits: ServeLimits | None = None,
    decode_overrides: dict | None = None,
    access: ServeAccess | None = None,
) -> None:
    """Load the models (load_translators) and serve them until SIGTERM or Ctrl-C (requests in
    flight finish). `decode_overrides` change every model's default decoding (a request may
    ask for its own beam and n-best)."""
    import uvicorn

    app = create_app(load_translators(models, device, decode_overrides), limits, access)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # our middleware writes one line per request
        timeout_graceful_shutdown=int((limits or ServeLimits()).timeout_s) + 5,
        log_level="info",
    )
    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for whoever
    # handled it before: here nobody, so the process ends with status 0, not killed.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        uvicorn.Server(config).run()
    finally:
        signal.signal(signal.SIGTERM, previous)
    log.info("stopped")
