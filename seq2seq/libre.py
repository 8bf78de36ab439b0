"""LibreTranslate's protocol, the one self-hosted translation clients speak: its request fields
(JSON, a form body, or the query string), its answers and its error wording. The routes that
use it are in serve.py; this module reads requests and writes answers, and decodes nothing.

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
from dataclasses import dataclass
from urllib.parse import parse_qs

from indic_common.languages import CODES, language
from indic_common.script import script_counts

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
