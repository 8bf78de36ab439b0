"""`seq2seq serve` speaking LibreTranslate's protocol to the clients that use it: the real
`libretranslatepy` and `deep-translator` packages, the request shapes of Mastodon and Weblate,
HTML kept, paragraphs split into sentences, LibreTranslate's errors, CORS and API keys."""

from __future__ import annotations

import html
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from serving import BUNDLE, ServerProcess

from seq2seq.decode.translate import Translator

PARAGRAPH = "एक आदमी सड़क पर चल रहा है । यह एक सुंदर शहर है । मुझे चाय पसंद है ।"
SENTENCES = ["एक आदमी सड़क पर चल रहा है ।", "यह एक सुंदर शहर है ।", "मुझे चाय पसंद है ।"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("libre") / "server.log"
    srv = ServerProcess(log, "--max-queued", "50")
    yield srv
    assert srv.stop() == 0, srv.log_text()


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.load(BUNDLE)


@pytest.fixture(scope="module")
def expected(translator: Translator) -> dict[str, str]:
    """Each sentence's translation, decoded alone by the Python API."""
    return {s: t.best for s, t in zip(SENTENCES, translator.translate_batch(SENTENCES))}


def form_post(server: ServerProcess, path: str, fields: dict) -> tuple[int, dict, object]:
    body = urllib.parse.urlencode(fields).encode()
    response = requests.post(
        server.url + path,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=60,
    )
    return response.status_code, dict(response.headers), response.json()


def test_libretranslatepy_translates_detects_and_lists(
    server: ServerProcess, expected: dict[str, str]
) -> None:
    from libretranslatepy import LibreTranslateAPI

    client = LibreTranslateAPI(server.url)  # form-encoded POSTs; GET /languages with a body
    assert client.translate(SENTENCES[0], "hi", "en") == expected[SENTENCES[0]]
    assert client.languages() == [
        {"code": "en", "name": "English", "targets": []},
        {"code": "hi", "name": "Hindi", "targets": ["en"]},
    ]
    [found] = client.detect("मुझे चाय पसंद है")
    assert found["language"] == "hi" and found["confidence"] == 100.0


def test_deep_translator_translates(server: ServerProcess, expected: dict[str, str]) -> None:
    from deep_translator import LibreTranslator

    # Every field in the query string of an empty POST; it will not start without a key.
    client = LibreTranslator(
        source="hi", target="en", api_key="unused", custom_url=server.url + "/"
    )
    assert client.translate(SENTENCES[1]) == expected[SENTENCES[1]]
    assert client.translate_batch(SENTENCES[:2]) == [expected[s] for s in SENTENCES[:2]]


def test_mastodon_html_request(server: ServerProcess, expected: dict[str, str]) -> None:
    # The shape of mastodon/mastodon:app/lib/translation_service/libre_translate.rb: JSON,
    # q a list, source auto, format html, api_key null; it reads translatedText and
    # detectedLanguage as lists parallel to q, and `targets` of every /languages entry.
    mention = (
        '<span class="h-card" translate="no"><a href="https://example.social/@asha" '
        'class="u-url mention">@<span>asha</span></a></span>'
    )
    tag = (
        '<a href="https://example.social/tags/चाय" class="mention hashtag" rel="tag">'
        "#<span>चाय</span></a>"
    )
    posts = [
        f"<p>{mention} {SENTENCES[0]}</p><p>{SENTENCES[1]}<br>{tag}</p>",
        f"<p>{SENTENCES[2]} <code>x &lt; 1</code></p>",
    ]
    status, _, answer = server.request(
        "POST",
        "/translate",
        {"q": posts, "source": "auto", "target": "en", "format": "html", "api_key": None},
    )
    assert status == 200, answer
    first, second = answer["translatedText"]
    esc = {s: html.escape(t, quote=False) for s, t in expected.items()}
    assert first == f"<p>{mention} {esc[SENTENCES[0]]}</p><p>{esc[SENTENCES[1]]}<br>{tag}</p>"
    assert second == f"<p>{esc[SENTENCES[2]]} <code>x &lt; 1</code></p>"
    assert [d["language"] for d in answer["detectedLanguage"]] == ["hi", "hi"]
    assert "alternatives" not in answer
    status, _, languages = server.request("GET", "/languages")
    assert status == 200 and all(isinstance(lang["targets"], list) for lang in languages)


def test_weblate_form_request(server: ServerProcess, expected: dict[str, str]) -> None:
    # WeblateOrg/weblate:weblate/machinery/libretranslate.py posts form data: api_key, q,
    # source, target, no format (requests drops the api_key None).
    response = requests.post(
        server.url + "/translate",
        data={"api_key": None, "q": SENTENCES[2], "source": "hi", "target": "en"},
        timeout=60,
    )
    assert response.status_code == 200
    assert response.json() == {"translatedText": expected[SENTENCES[2]]}


def test_a_paragraph_comes_back_sentence_by_sentence(
    server: ServerProcess, expected: dict[str, str]
) -> None:
    three = " ".join(expected[s] for s in SENTENCES)
    status, _, answer = server.request(
        "POST", "/translate", {"q": PARAGRAPH, "source": "hi", "target": "en"}
    )
    assert status == 200 and answer == {"translatedText": three}
    status, answer = server.translate(texts=[PARAGRAPH, f"{SENTENCES[0]}\n\n{SENTENCES[1]}"])
    assert status == 200
    got = [t["text"] for t in answer["translations"]]
    assert got == [three, f"{expected[SENTENCES[0]]}\n\n{expected[SENTENCES[1]]}"]
    status, answer = server.translate(texts=[PARAGRAPH], split=False)
    assert status == 200 and answer["translations"][0]["text"] != three


def test_alternatives_and_our_protocol_at_v1(server: ServerProcess) -> None:
    status, _, answer = server.request(
        "POST",
        "/translate",
        {"q": [SENTENCES[0]], "source": "hi", "target": "en", "alternatives": 2},
    )
    assert status == 200
    assert len(answer["alternatives"]) == 1 and len(answer["alternatives"][0]) == 2
    assert answer["translatedText"][0] not in answer["alternatives"][0]
    status, _, ours = server.request("POST", "/v1/translate", {"texts": [SENTENCES[0]]})
    assert status == 200 and ours["model"] == "bundle-v1"
    status, _, bad = server.request("POST", "/v1/translate", {"beam": 5})
    assert status == 422 and "texts:" in bad["error"]


def test_settings_and_cors(server: ServerProcess) -> None:
    status, _, settings = server.request("GET", "/frontend/settings")
    assert status == 200
    assert settings["charLimit"] == 2000 and settings["keyRequired"] is False
    assert settings["suggestions"] is False and settings["filesTranslation"] is False
    assert server.request("POST", "/languages", {})[0] == 200  # some clients POST it
    spec = server.request("GET", "/openapi.json")[2]
    body = spec["paths"]["/translate"]["post"]["requestBody"]["content"]
    assert body["application/x-www-form-urlencoded"]["schema"]["required"] == [
        "q",
        "source",
        "target",
    ]
    preflight = requests.options(
        server.url + "/translate",
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    answer = requests.post(
        server.url + "/translate",
        json={"q": "x"},
        headers={"Origin": "https://example.org"},
        timeout=10,
    )
    assert answer.status_code == 400 and answer.headers["access-control-allow-origin"] == "*"


BAD = [
    # (fields sent as JSON, status, the error exactly or the words it must hold)
    ({"source": "hi", "target": "en"}, 400, "Invalid request: missing q parameter"),
    ({"q": [], "source": "hi", "target": "en"}, 400, "Invalid request: missing q parameter"),
    ({"q": "a", "target": "en"}, 400, "Invalid request: missing source parameter"),
    ({"q": "a", "source": "hi"}, 400, "Invalid request: missing target parameter"),
    ({"q": "a", "source": "zz", "target": "en"}, 400, "zz is not supported"),
    ({"q": "a", "source": "hi", "target": "zz"}, 400, "zz is not supported"),
    ({"q": "a", "source": "en", "target": "hi"}, 400, "en-hi is not supported; pairs here: hi-en"),
    (
        {"q": "a", "source": "hi", "target": "en", "format": "xml"},
        400,
        "xml format is not supported",
    ),
    (
        {"q": "a", "source": "hi", "target": "en", "alternatives": "abc"},
        400,
        "Invalid request: alternatives parameter is not a number",
    ),
    ({"q": 5, "source": "hi", "target": "en"}, 400, "q must be a text or a list"),
    ({"q": ["a", 5], "source": "hi", "target": "en"}, 400, "q must be a text or a list"),
    ({"q": "a", "source": ["hi"], "target": "en"}, 400, "source parameter must be a string"),
    (
        {"q": ["a"] * 10_000, "source": "hi", "target": "en"},
        400,
        "Invalid request: request (10000) exceeds text limit (64)",
    ),
    (
        {"q": "क" * 2001, "source": "hi", "target": "en"},
        400,
        "Invalid request: request (2001) exceeds text limit (2000)",
    ),
    ({"q": "क" * 400_000, "source": "hi", "target": "en"}, 413, "body:"),
    (
        {"q": "<b>" * 600 + "क", "source": "hi", "target": "en", "format": "html"},
        400,
        "more than 256 nested elements",
    ),
    ([1, 2], 400, "Invalid JSON format"),
]


@pytest.mark.parametrize("fields,status,error", BAD)
def test_bad_requests_get_libretranslate_errors(
    server: ServerProcess, fields, status: int, error: str
) -> None:
    got, _, answer = server.request("POST", "/translate", fields)
    assert got == status, answer
    assert set(answer) == {"error"} and error in answer["error"]
    ok = server.request("POST", "/translate", {"q": SENTENCES[0], "source": "hi", "target": "en"})
    assert ok[0] == 200


def test_form_and_bad_bodies(server: ServerProcess) -> None:
    status, _, answer = form_post(server, "/translate", {"q": SENTENCES[0], "source": "hi"})
    assert status == 400 and answer["error"] == "Invalid request: missing target parameter"
    status, _, answer = server.request("POST", "/translate", b'{"q": "a", "source"')
    assert status == 400 and "malformed JSON" in answer["error"]
    too_many = "&".join(f"f{n}=1" for n in range(100)).encode()
    response = requests.post(
        server.url + "/translate",
        data=too_many,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert response.status_code == 400 and "more than 32 fields" in response.json()["error"]


def test_a_full_queue_answers_429(server: ServerProcess) -> None:
    # 60 texts are within the 64 a request may hold, but over the 50 that may wait in all.
    status, _, answer = server.request(
        "POST", "/translate", {"q": ["a"] * 60, "source": "hi", "target": "en"}
    )
    assert status == 429 and answer["error"].startswith("Slowdown")


def test_api_keys(tmp_path: Path) -> None:
    keys = tmp_path / "keys.txt"
    keys.write_text("# one a line\nsecret-1\n", encoding="utf-8")
    srv = ServerProcess(tmp_path / "server.log", "--api-keys", str(keys))
    try:
        fields = {"q": SENTENCES[0], "source": "hi", "target": "en"}
        status, _, answer = srv.request("POST", "/translate", fields)
        assert status == 403 and answer == {"error": "Invalid API key"}
        status, _, answer = srv.request("POST", "/translate", {**fields, "api_key": "wrong"})
        assert status == 403
        assert srv.request("POST", "/translate", {**fields, "api_key": "secret-1"})[0] == 200
        assert srv.request("GET", "/frontend/settings")[2]["keyRequired"] is True
        status, _, answer = srv.request("POST", "/v1/translate", {"texts": ["a"]})
        assert status == 403 and "Authorization" in answer["error"]
        response = requests.post(
            srv.url + "/v1/translate",
            data=json.dumps({"texts": [SENTENCES[0]]}),
            headers={"Authorization": "Bearer secret-1", "Content-Type": "application/json"},
            timeout=60,
        )
        assert response.status_code == 200
    finally:
        assert srv.stop() == 0, srv.log_text()
