"""LibreTranslate's protocol, the one self-hosted translation clients speak: its request fields
(JSON, a form body, or the query string), its answers and its error wording, and the work of
its routes (registered in seq2seq/serve/app.py).

    POST /translate  q (a text or a list), source (a code or auto), target, format (text or
                     html), alternatives, api_key -> translatedText, alternatives,
                     detectedLanguage (source auto only)
    POST /detect     q -> [{"language", "confidence"}]
    GET  /languages  [{"code", "name", "targets"}]
    GET  /frontend/settings
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from indic_common.languages import CODES, language
from indic_common.script import script_counts
from seq2seq.serve.batcher import QueueFull
from seq2seq.serve.markup import MarkupError, parse_html
from seq2seq.serve.service import Refused, Service, decode_key, error, log, wait_for

if TYPE_CHECKING:
    from seq2seq.decode.translate import Translation

FORMATS = ("text", "html")

# POST /translate's body in LibreTranslate's protocol, for the OpenAPI page.
REQUEST_SCHEMA = {
    "title": "LibreTranslateRequest",
    "type": "object",
    "required": ["q", "source", "target"],
    "properties": {
        "q": {
            "description": "a text, or a list of texts",
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
        },
        "source": {"type": "string", "description": "source language code, or auto"},
        "target": {"type": "string", "description": "target language code"},
        "format": {"type": "string", "enum": list(FORMATS), "default": "text"},
        "alternatives": {"type": "integer", "default": 0, "description": "more hypotheses"},
        "api_key": {"type": ["string", "null"], "description": "needed with --api-keys"},
    },
}


class LibreError(Exception):
    """A refusal in LibreTranslate's words: `{"error": message}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class LibreRequest:
    """A checked POST /translate."""

    texts: list[str]
    batch: bool  # q was a list: every answer field is a list too
    source: str  # a language code, or "auto"
    target: str
    html: bool
    alternatives: int


def read_fields(body: bytes, content_type: str, query: str, max_fields: int) -> dict:
    """The request's fields: a JSON object, or a form body, with the query string's fields
    under them (a client may send every field in the query string of an empty POST). A form
    field given more than once is a list."""
    is_json = "json" in content_type or body.lstrip()[:1] in (b"{", b"[")
    try:
        texts = [query] + ([] if is_json else [body.decode("utf-8")])
    except UnicodeDecodeError as e:
        raise LibreError(400, f"Invalid request: the body is not UTF-8 (byte {e.start})") from None
    fields: dict = {}
    for text in texts:
        try:
            parsed = parse_qs(text, keep_blank_values=True, max_num_fields=max_fields)
        except ValueError:
            raise LibreError(400, f"Invalid request: more than {max_fields} fields") from None
        fields.update({k: v[0] if len(v) == 1 else v for k, v in parsed.items()})
    if is_json:
        try:
            raw = json.loads(body)
        except ValueError:
            raise LibreError(400, "Invalid JSON format") from None
        if not isinstance(raw, dict):
            raise LibreError(400, "Invalid JSON format")
        fields.update(raw)
    return fields


def _text(fields: dict, name: str) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise LibreError(400, f"Invalid request: {name} parameter must be a string")
    return value


def parse_translate(
    fields: dict, char_limit: int, batch_limit: int, max_alternatives: int
) -> LibreRequest:
    """A POST /translate's fields, checked in LibreTranslate's order and words."""
    q = fields.get("q")
    if q is None or q == "" or q == []:
        raise LibreError(400, "Invalid request: missing q parameter")
    batch = isinstance(q, list)
    texts = q if batch else [q]
    if not all(isinstance(t, str) for t in texts):
        raise LibreError(400, "Invalid request: q must be a text or a list of texts")
    source, target = _text(fields, "source"), _text(fields, "target")
    if source is None:
        raise LibreError(400, "Invalid request: missing source parameter")
    if target is None:
        raise LibreError(400, "Invalid request: missing target parameter")
    if batch and len(texts) > batch_limit:
        raise LibreError(
            400, f"Invalid request: request ({len(texts)}) exceeds text limit ({batch_limit})"
        )
    chars = sum(len(t) for t in texts)
    if chars > char_limit:
        raise LibreError(
            400, f"Invalid request: request ({chars}) exceeds text limit ({char_limit})"
        )
    form = _text(fields, "format") or "text"
    if form not in FORMATS:
        raise LibreError(400, f"{form} format is not supported")
    raw = fields.get("alternatives", 0)
    try:
        alternatives = int(raw) if not isinstance(raw, bool) else None
    except (TypeError, ValueError):
        alternatives = None
    if alternatives is None:
        raise LibreError(400, "Invalid request: alternatives parameter is not a number")
    if not 0 <= alternatives <= max_alternatives:
        raise LibreError(
            400, f"Invalid request: alternatives parameter must be <= {max_alternatives}"
        )
    return LibreRequest(texts, batch, source, target, form == "html", alternatives)


def check_key(fields: dict, keys: frozenset[str] | None) -> None:
    """With keys configured, the request's api_key must be one of them (else 403)."""
    if keys is not None and fields.get("api_key") not in keys:
        raise LibreError(403, "Invalid API key")


def detect(text: str, candidates: Sequence[str]) -> dict:
    """{"language", "confidence"}: the candidate whose script has the most characters of
    `text`, and its share of the characters in any known script, in percent (0 for a text in
    none)."""
    counts = script_counts(text, CODES)
    best = max(candidates, key=lambda lang: counts[lang])
    total = sum(counts.values())
    return {
        "confidence": round(100.0 * counts[best] / total, 1) if total else 0.0,
        "language": best,
    }


def languages(directions: Sequence[tuple[str, str]]) -> list[dict]:
    """GET /languages: every language of the served directions, with the targets it has."""
    codes = {lang for direction in directions for lang in direction}
    return [
        {
            "code": code,
            "name": language(code).name,
            "targets": sorted(t for s, t in directions if s == code),
        }
        for code in CODES
        if code in codes
    ]


def settings(char_limit: int, key_required: bool, directions: Sequence[tuple[str, str]]) -> dict:
    """GET /frontend/settings, as LibreTranslate's page reads it."""
    source, target = directions[0] if directions else ("en", "en")
    return {
        "charLimit": char_limit,
        "frontendTimeout": 500,
        "apiKeys": key_required,
        "keyRequired": key_required,
        "suggestions": False,
        "filesTranslation": False,
        "supportedFilesFormat": [],
        "language": {
            "source": {"code": source, "name": language(source).name},
            "target": {"code": target, "name": language(target).name},
        },
    }


def answer(
    req: LibreRequest,
    translated: list[str],
    alternatives: list[list[str]] | None,
    detected: list[dict] | None,
) -> dict:
    """The answer to a POST /translate: one value per text, a list where q was a list."""

    def each(values: list):
        return values if req.batch else values[0]

    out: dict = {"translatedText": each(translated)}
    if req.alternatives > 0:
        out["alternatives"] = each(alternatives or [[] for _ in translated])
    if detected is not None:
        out["detectedLanguage"] = each(detected)
    return out


# --- the routes' work (seq2seq/serve/app.py registers them) ---


def _fields(request: Request, body: bytes) -> dict:
    # Form bodies are parsed from the size-capped body, with a cap on the number of fields.
    content_type = request.headers.get("content-type", "")
    return read_fields(body, content_type, request.url.query, max_fields=32)


async def translate(request: Request, body: bytes, service: Service) -> Response:
    """LibreTranslate's POST /translate."""
    limits = service.limits
    try:
        fields = _fields(request, body)
        check_key(fields, service.access.api_keys)
        req = parse_translate(fields, limits.max_chars, limits.max_texts, limits.max_beam - 1)
        return JSONResponse(await _translate(request, req, service))
    except LibreError as e:
        return error(e.status, str(e))
    except Refused as e:
        return e.response()
    except QueueFull:
        return error(429, "Slowdown: the server's queue is full; retry in a second")
    except Exception as e:
        log.exception("decoding failed")
        return error(500, f"Translation failed ({type(e).__name__}: {e})")


async def detect_route(request: Request, body: bytes, service: Service) -> Response:
    """LibreTranslate's POST /detect: the language of `q` among the served sources."""
    try:
        fields = _fields(request, body)
        check_key(fields, service.access.api_keys)
        q = fields.get("q")
        if not isinstance(q, str) or not q:
            raise LibreError(400, "Invalid request: missing q parameter")
        sources = list(dict.fromkeys(src for src, _ in service.models.directions()))
        return JSONResponse([detect(q, sources)])
    except LibreError as e:
        return error(e.status, str(e))


async def _translate(request: Request, req: LibreRequest, service: Service) -> dict:
    """Translate a LibreTranslate request: each text from its source (detected by script for
    `auto`), HTML texts piece by piece with their tags kept, every text of one source in one
    batch. A text whose source is the target comes back as it was."""
    models, limits = service.models, service.limits
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
        detected = [detect(text, into + [req.target]) for text in plain]
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
        key = decode_key(decode, False, tr.domain)
        done = iter(await wait_for(request, models.batchers[name], flat, key, limits.timeout_s))
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
    return answer(req, translated, alternatives, detected)
