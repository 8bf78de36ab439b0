"""`seq2seq serve` as its clients see it: a real server process on a loopback port, the fixture
model, answers compared with the Python API's, every kind of bad request, 16 concurrent
clients, a full queue and a graceful SIGTERM."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from serving import BUNDLE, ServerProcess

from seq2seq.decode.translate import Translator

SENTENCES = [
    "भारत की राजधानी नई दिल्ली है ।",
    "मुझे चाय पसंद है ।",
    "एक आदमी सड़क पर चल रहा है ।",
    "यह एक सुंदर शहर है ।",
    "मेज़ पर एक सफ़ेद प्लेट है",
    "गंगा भारत की सबसे लंबी नदी है ।",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    log = tmp_path_factory.mktemp("serve") / "server.log"
    srv = ServerProcess(log, "--max-queued", "50", "--max-wait-ms", "30")
    yield srv
    assert srv.stop() == 0, srv.log_text()


@pytest.fixture(scope="module")
def translator() -> Translator:
    return Translator.load(BUNDLE)


def test_models_and_health(server: ServerProcess, translator: Translator) -> None:
    status, _, models = server.request("GET", "/models")
    assert status == 200
    assert models == [
        {
            "name": "bundle-v1",
            "from": "hi",
            "to": "en",
            "parameters": translator.bundle.metadata["parameters"],
            "training_steps": translator.bundle.metadata["training_steps"],
            "dev_bleu": translator.bundle.metadata["dev_bleu"],
            "dev_chrf": translator.bundle.metadata.get("dev_chrf"),
            "dev_set": translator.bundle.cfg.data.dev_set,
            "ensemble": [],
            "beam": translator.decode.beam_size,
            "attention": True,
            "domains": [],
            "default_domain": None,
        }
    ]
    status, _, health = server.request("GET", "/health")
    assert status == 200 and health["status"] == "ok" and "bundle-v1" in health["models"]
    status, _, spec = server.request("GET", "/openapi.json")
    assert status == 200 and "/translate" in spec["paths"]


def test_answers_equal_the_python_api(server: ServerProcess, translator: Translator) -> None:
    texts = SENTENCES[:3] + [""]
    status, answer = server.translate(texts=texts, **{"from": "hi", "to": "en"})
    assert status == 200 and answer["model"] == "bundle-v1"
    expected = translator.translate_batch(texts)
    assert [t["text"] for t in answer["translations"]] == [t.best for t in expected]
    for got, want in zip(answer["translations"], expected):
        assert got["score"] == pytest.approx(want.hypotheses[0].score, abs=1e-3)
        assert "nbest" not in got and "attention" not in got

    status, answer = server.translate(texts=texts[:2], beam=3, nbest=3)
    nbest = translator.with_decode(beam_size=3, nbest=3).translate_batch(texts[:2])
    assert status == 200
    for got, want in zip(answer["translations"], nbest):
        assert [h["text"] for h in got["nbest"]] == [h.text for h in want.hypotheses]

    status, answer = server.translate(texts=texts[:1], attention=True)
    att = answer["translations"][0]["attention"]
    aligned = translator.align(texts[0])
    assert att["source"] == aligned.src_pieces and att["target"] == aligned.tgt_pieces
    assert len(att["weights"]) == len(att["target"])
    assert all(len(row) == len(att["source"]) for row in att["weights"])
    assert all(abs(sum(row) - 1) < 0.01 for row in att["weights"])


LONG = "क" * 10_000
BAD_REQUESTS = [
    # (body, status, the words the one-line error must hold)
    ({"texts": [LONG] * 200}, 413, ["body:", "at most 64 texts", "2000 characters"]),
    ({"texts": ["a"] * 65}, 413, ["texts:", "65 texts", "at most 64"]),
    ({"texts": ["a", "क" * 2001]}, 413, ["texts.1:", "2001 characters", "at most 2000"]),
    (b'{"texts": ["a"', 400, ["body:", "malformed JSON", "line 1"]),
    (b'{"texts": ["\xff\xfe"]}', 400, ["body:", "not UTF-8", "byte 12"]),
    ({"texts": "a sentence"}, 422, ["texts:", "list"]),
    ({"texts": ["a", 7]}, 422, ["texts.1:", "string"]),
    ({"texts": ["a"], "beam": "5"}, 422, ["beam:", "integer"]),
    ({"texts": ["a"], "beam": 99}, 422, ["beam:", "1 to 16"]),
    ({"texts": ["a"], "beam": 2, "nbest": 3}, 422, ["nbest:", "beam (2)"]),
    ({"texts": ["a"], "colour": "red"}, 422, ["colour:", "xtra"]),
    ({"beam": 5}, 422, ["texts:", "required"]),
    ([1, 2], 422, ["body:"]),
    ({"texts": ["a"], "model": "ta-en"}, 404, ["model:", "'ta-en'", "bundle-v1"]),
    ({"texts": ["a"], "from": "ta", "to": "en"}, 404, ["from:", "ta->en", "hi-en"]),
    ({"texts": ["a"], "domain": "news"}, 422, ["domain:", "without domain tags"]),
]


@pytest.mark.parametrize("body,status,words", BAD_REQUESTS)
def test_bad_request_is_named_and_server_keeps_serving(
    server: ServerProcess, body, status: int, words: list[str]
) -> None:
    # Without `texts`, POST /translate reads LibreTranslate's protocol (test_libre.py);
    # ours alone is at /v1/translate.
    ours = isinstance(body, bytes) or (isinstance(body, dict) and "texts" in body)
    got, headers, answer = server.request("POST", "/translate" if ours else "/v1/translate", body)
    assert got == status, answer
    assert set(answer) == {"error"} and "\n" not in answer["error"]
    for word in words:
        assert word in answer["error"], answer["error"]
    assert server.translate(texts=["मुझे चाय पसंद है ।"])[0] == 200


def test_a_full_queue_answers_503(server: ServerProcess) -> None:
    # 60 texts are within the 64 a request may hold, but over the 50 that may wait in all.
    status, headers, answer = server.request("POST", "/translate", {"texts": ["a"] * 60})
    assert status == 503 and headers["retry-after"] == "1"
    assert "at most 50" in answer["error"] and "retry" in answer["error"]


def test_sixteen_concurrent_clients_are_batched(
    server: ServerProcess, translator: Translator
) -> None:
    before = server.request("GET", "/health")[2]["models"]["bundle-v1"]
    jobs = [[SENTENCES[(c + i) % len(SENTENCES)] for i in range(1 + c % 5)] for c in range(16)]
    expected = {s: t.best for s, t in zip(SENTENCES, translator.translate_batch(SENTENCES))}
    barrier = threading.Barrier(16)

    def client(texts: list[str]) -> tuple[int, list[str]]:
        barrier.wait()
        status, answer = server.translate(texts=texts)
        assert status == 200, answer
        return status, [t["text"] for t in answer["translations"]]

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(client, jobs))
    for texts, (status, got) in zip(jobs, results):
        assert status == 200 and got == [expected[t] for t in texts]
    after = server.request("GET", "/health")[2]["models"]["bundle-v1"]
    assert after["sentences"] - before["sentences"] == sum(len(j) for j in jobs)
    assert after["batches"] - before["batches"] < 16  # requests were decoded together
    log = server.log_text()
    assert log.count("POST /translate 200") >= 16  # one access-log line per request


def test_sigterm_finishes_requests_in_flight(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "server.log")
    texts = [" ".join(SENTENCES) * 6] * 48  # long enough to be decoding when SIGTERM comes
    answer: dict = {}
    sender = threading.Thread(target=lambda: answer.update(r=srv.translate(texts=texts)))
    sender.start()
    deadline, busy = time.monotonic() + 30, False
    while not busy and time.monotonic() < deadline:
        state = srv.request("GET", "/health")[2]["models"]["bundle-v1"]
        busy = state["queued"] + state["decoding"] > 0
    exit_code = srv.stop()
    sender.join(60)
    status, body = answer["r"]
    assert busy, "the request was answered before SIGTERM: make it longer"
    assert status == 200 and len(body["translations"]) == 48
    assert exit_code == 0, srv.log_text()
    with pytest.raises(OSError):
        srv.request("GET", "/health", timeout=2)


def test_an_ensemble_is_served_as_one_model(tmp_path: Path) -> None:
    srv = ServerProcess(tmp_path / "server.log", model=f"{BUNDLE}+{BUNDLE}")
    try:
        models = srv.request("GET", "/models")[2]
        assert [(m["name"], m["ensemble"]) for m in models] == [
            ("bundle-v1+bundle-v1", ["bundle-v1", "bundle-v1"])
        ]
        status, answer = srv.translate(texts=SENTENCES[:3])
    finally:
        assert srv.stop() == 0, srv.log_text()
    joined = Translator.load(BUNDLE, ensemble=[BUNDLE])
    expected = [t.best for t in joined.translate_batch(SENTENCES[:3])]
    assert status == 200 and [t["text"] for t in answer["translations"]] == expected


@pytest.mark.parametrize(
    "options,message",
    [
        (["--model", str(BUNDLE), "--max-texts", "0"], "max_texts must be positive (got 0)"),
        (["--model", "models/nothing-here"], "models/nothing-here: no such model folder"),
        (["--model", str(BUNDLE), "--model", str(BUNDLE)], "a second model named 'bundle-v1'"),
        (["--model", f"{BUNDLE}+models/nothing-here"], "models/nothing-here: no such model"),
    ],
)
def test_bad_serve_options_are_one_line(options: list[str], message: str) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "seq2seq.cli.main", "serve", *options, "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr
