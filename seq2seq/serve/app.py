"""`seq2seq serve`: models over HTTP (FastAPI on uvicorn) and the web page at `/`.

Two protocols on POST /translate. A JSON object with a `texts` field is ours (ours.py; also
served at /v1/translate); anything else (JSON with `q`, a form body, fields in the query string)
is LibreTranslate's (libre.py), so its clients work unchanged.

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

The routes are module-level functions; each finds the models, limits and access in
`request.app.state.service` (service.py).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, Response

import seq2seq.serve.libre as libre
import seq2seq.serve.ours as ours
from indic_common.errors import BundleError
from indic_common.languages import ALL_SCRIPTS
from seq2seq.decode.translate import Translator
from seq2seq.serve.service import (
    Models,
    Refused,
    ServeAccess,
    ServeLimits,
    Service,
    error,
    log,
    model_name,
    read_body,
)

# Fonts of the web page, served from the pip font packages the attention plots use, so that
# Devanagari, Bengali and Tamil render the same on every machine.
FONTS = {script.name.lower(): script.shipped for script in ALL_SCRIPTS}
WEB = resources.files("seq2seq.serve") / "web"


def _service(request: Request) -> Service:
    return request.app.state.service


async def _with_body(request: Request, handle) -> Response:
    """`handle(request, body, service)` once the body is read (within the limits)."""
    service = _service(request)
    try:
        body = await read_body(request, service.limits)
    except Refused as e:
        return e.response()
    return await handle(request, body, service)


async def _either_protocol(request: Request, body: bytes, service: Service) -> Response:
    if ours.is_ours(body, request.headers.get("content-type", "")):
        return await ours.translate(request, body, service)
    return await libre.translate(request, body, service)


async def translate(request: Request) -> Response:
    """Translate texts. A JSON object with `texts` is our protocol (with `nbest` > 1 the
    n-best list, with `attention` the weights); anything else is LibreTranslate's
    (`q`, `source`, `target`, `format`, `alternatives`, `api_key`), as JSON, a form body
    or the query string."""
    return await _with_body(request, _either_protocol)


async def translate_v1(request: Request) -> Response:
    """Our protocol only: `{"texts": [...], ...}`."""
    return await _with_body(request, ours.translate)


async def languages(request: Request) -> list[dict]:
    """LibreTranslate's: each served language, its name and the languages it goes into."""
    return libre.languages(_service(request).models.directions())


async def detect(request: Request) -> Response:
    """LibreTranslate's: the language of `q` among the served sources, from its script."""
    return await _with_body(request, libre.detect_route)


async def frontend_settings(request: Request) -> dict:
    """LibreTranslate's page settings: the character limit, whether a key is needed."""
    service = _service(request)
    keys = service.access.api_keys is not None
    return libre.settings(service.limits.max_chars, keys, service.models.directions())


async def list_models(request: Request) -> list[dict]:
    """The models this server holds."""
    return _service(request).models.describe()


async def health(request: Request) -> dict:
    """Liveness, and per model the sentences waiting and the batches decoded."""
    service = _service(request)
    return {
        "status": "ok",
        "models": {
            name: {
                "queued": b.queued,
                "decoding": b.decoding,
                "batches": b.batches,
                "sentences": b.sentences,
            }
            for name, b in service.models.batchers.items()
        },
        "limits": service.limits.settings(),
    }


async def page() -> HTMLResponse:
    return HTMLResponse((WEB / "index.html").read_text(encoding="utf-8"))


async def script() -> Response:
    return Response((WEB / "app.js").read_text(encoding="utf-8"), media_type="text/javascript")


async def stylesheet() -> Response:
    return Response((WEB / "app.css").read_text(encoding="utf-8"), media_type="text/css")


async def font(script_name: str) -> Response:
    if script_name not in FONTS:
        return error(404, f"font: no font {script_name!r}; fonts: {', '.join(FONTS)}")
    try:
        import fontpkg

        return FileResponse(fontpkg.path(FONTS[script_name]), media_type="font/ttf")
    except Exception:  # no font package: the browser falls back to system fonts
        return error(404, f"font: {FONTS[script_name]} is not installed")


async def access_log(request: Request, call_next):
    """One line per request: client, method, path, status, milliseconds."""
    start = time.perf_counter()
    response = await call_next(request)
    client = request.client.host if request.client else "-"
    took = (time.perf_counter() - start) * 1000
    method, path, status = request.method, request.url.path, response.status_code
    log.info("%s %s %s %d %.1f ms", client, method, path, status, took)
    return response


def create_app(
    translators: dict[str, Translator],
    limits: ServeLimits | None = None,
    access: ServeAccess | None = None,
) -> FastAPI:
    """The ASGI app serving `translators` (name -> Translator)."""
    limits = limits or ServeLimits()
    access = access or ServeAccess()
    models = Models(translators, limits)

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
    app.state.service = Service(models, access)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(access.cors_origins),
        allow_methods=["*"],
        allow_headers=["*"],
        max_age=600,
    )
    app.middleware("http")(access_log)
    ours_schema = ours.TranslateRequest.model_json_schema(by_alias=True)
    both = {
        "application/json": {"schema": {"oneOf": [ours_schema, libre.REQUEST_SCHEMA]}},
        "application/x-www-form-urlencoded": {"schema": libre.REQUEST_SCHEMA},
    }
    only_ours = {"application/json": {"schema": ours_schema}}

    def body(content: dict) -> dict:
        return {"requestBody": {"required": True, "content": content}}

    app.add_api_route("/translate", translate, methods=["POST"], openapi_extra=body(both))
    app.add_api_route(
        "/v1/translate", translate_v1, methods=["POST"], openapi_extra=body(only_ours)
    )
    app.add_api_route("/languages", languages, methods=["GET"])
    app.add_api_route("/languages", languages, methods=["POST"], include_in_schema=False)
    app.add_api_route("/detect", detect, methods=["POST"])
    app.add_api_route("/frontend/settings", frontend_settings, methods=["GET"])
    app.add_api_route("/models", list_models, methods=["GET"])
    app.add_api_route("/health", health, methods=["GET"])
    for path, handler in (("/", page), ("/app.js", script), ("/app.css", stylesheet)):
        app.add_api_route(path, handler, methods=["GET"], include_in_schema=False)
    app.add_api_route("/fonts/{script_name}", font, methods=["GET"], include_in_schema=False)
    return app


def load_translators(
    models: Sequence[Sequence[Path]], device: str = "cpu", decode_overrides: dict | None = None
) -> dict[str, Translator]:
    """The served models by name: one per entry of `models`, and one per direction of a
    multilingual model (`multi:hi-en`). An entry of several bundles is their ensemble
    (seq2seq.model.ensemble; the first's settings hold), named after its members (`a+b`)."""
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
