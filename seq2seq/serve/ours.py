"""Our protocol of `seq2seq serve`: `{"texts": [...], ...}` in, translations with scores,
n-best lists and attention out, every refusal naming the request's field."""

from __future__ import annotations

import json
import time
from dataclasses import replace

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from indic_common.errors import ConfigError
from seq2seq.config import DecodeConfig
from seq2seq.decode.translate import Translation, Translator
from seq2seq.serve.batcher import QueueFull
from seq2seq.serve.service import (
    REQUEST_OPTIONS,
    Refused,
    ServeLimits,
    Service,
    decode_key,
    error,
    log,
    wait_for,
)


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
        raise Refused(422, f"{named.get(key, key)}: {message}") from None


def parse(body: bytes, limits: ServeLimits) -> TranslateRequest:
    """The request body as a TranslateRequest, or Refused naming what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise Refused(
            400, f"body: not UTF-8 (byte {e.start}); send JSON encoded as UTF-8"
        ) from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as e:
        raise Refused(
            400, f"body: malformed JSON ({e.msg} at line {e.lineno} column {e.colno})"
        ) from None
    try:
        req = TranslateRequest.model_validate(raw)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(part) for part in err["loc"]) or "body"
        raise Refused(422, f"{where}: {err['msg']}") from None
    if len(req.texts) > limits.max_texts:
        raise Refused(
            413,
            f"texts: {len(req.texts)} texts, at most {limits.max_texts} per request; "
            "send them in several requests",
        )
    for n, t in enumerate(req.texts):
        if len(t) > limits.max_chars:
            raise Refused(
                413,
                f"texts.{n}: {len(t)} characters, at most {limits.max_chars} per text; "
                "split the text",
            )
    return req


def hypotheses(t: Translation, nbest: int, attention: bool) -> dict:
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


def is_ours(body: bytes, content_type: str) -> bool:
    """Our protocol: a JSON object with `texts` (or a JSON body that does not parse, answered
    with our parser's line and column)."""
    if "json" not in content_type and body.lstrip()[:1] != b"{":
        return False
    try:
        raw = json.loads(body)
    except ValueError:
        return True
    return isinstance(raw, dict) and "texts" in raw


async def translate(request: Request, body: bytes, service: Service) -> Response:
    """Answer a request of our protocol."""
    models, limits, access = service.models, service.limits, service.access
    try:
        if access.api_keys is not None:
            given = request.headers.get("authorization", "").removeprefix("Bearer ")
            if given not in access.api_keys:
                raise Refused(403, "authorization: send `Authorization: Bearer <API key>`")
        req = parse(body, limits)
        name = models.choose(req)
        tr = models.translators[name]
        decode = request_decode(req, tr)
        if decode.beam_size > limits.max_beam:
            raise Refused(422, f"beam: {decode.beam_size}, must be 1 to {limits.max_beam} here")
        if req.attention and not tr.bundle.model.has_attention:
            raise Refused(422, f"attention: model {name!r} has no attention")
        try:
            domain = tr.check_domain(req.domain or tr.domain)
        except ConfigError as e:
            raise Refused(422, f"domain: {e}") from None
        start = time.perf_counter()
        key = decode_key(decode, req.attention, domain)
        found = await wait_for(request, models.batchers[name], req.texts, key, limits.timeout_s)
    except Refused as e:
        return e.response()
    except QueueFull as e:
        return error(503, f"server: busy, {e}; retry later", {"Retry-After": "1"})
    except Exception as e:  # a decoding failure: logged, answered, the server goes on
        log.exception("decoding failed")
        return error(500, f"server: decoding failed ({type(e).__name__}: {e})")
    return JSONResponse(
        {
            "model": name,
            "translations": [hypotheses(t, decode.nbest, req.attention) for t in found],
            "took_ms": round((time.perf_counter() - start) * 1000, 1),
        }
    )
