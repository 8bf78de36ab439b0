"""Load test of `seq2seq serve` on loopback, beside the CLI translating the same sentences.

For each concurrency level, that many client threads each send `--requests` requests of 1-5
sentences (seeded) from a test set, one after the other, to a server started here on a free
127.0.0.1 port; everything stops after `--requests` per client or `--seconds`, whichever comes
first. Reported per level: sentences/s, latency p50/p95/p99, errors, the server's peak RSS.
`--protocol libre` sends LibreTranslate's requests (`{"q": [...], "source", "target"}`) to the
same route instead of ours (`{"texts": [...]}`).
The CLI row translates all the sentences of the largest level as one file (`seq2seq translate
--input`), its start-up (an empty file) subtracted.

    .venv/bin/python benchmarks/serve_load.py --model models/hi-en \\
        --source data/hi-en/test-vg.hi --clients 1 4 16 --requests 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from machine import cpu_name

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEQ2SEQ = [sys.executable, "-m", "seq2seq.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_body(protocol: str, texts: list[str], pair: str) -> dict:
    """One request of `protocol` for `texts`."""
    if protocol == "libre":
        source, target = pair.split("-")
        return {"q": texts, "source": source, "target": target}
    return {"texts": texts}


def answered(protocol: str, answer: dict) -> int:
    """How many translations an answer holds."""
    return len(answer.get("translatedText" if protocol == "libre" else "translations", []))


def post(port: int, body: dict, timeout: float) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        conn.request("POST", "/translate", data, {"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def plan(sentences: list[str], clients: int, requests: int, seed: int) -> list[list[list[str]]]:
    """Per client, its requests: each 1-5 sentences drawn from the test set (seeded)."""
    rng = random.Random(seed + clients)
    return [
        [rng.sample(sentences, rng.randint(1, 5)) for _ in range(requests)] for _ in range(clients)
    ]


def run_level(
    port: int, jobs: list[list[list[str]]], seconds: float, protocol: str, pair: str
) -> dict:
    """All clients at once; latency of each answered request, errors, sentences/s."""
    latencies: list[float] = []
    errors: list[str] = []
    done_sentences = [0]
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    start = threading.Barrier(len(jobs))

    def client(requests: list[list[str]]) -> None:
        start.wait()
        for texts in requests:
            if time.monotonic() > deadline:
                return
            t0 = time.perf_counter()
            try:
                body = request_body(protocol, texts, pair)
                status, answer = post(port, body, timeout=max(1, seconds))
                ok = status == 200 and answered(protocol, answer) == len(texts)
                problem = None if ok else f"{status} {answer.get('error')}"
            except OSError as e:
                problem = repr(e)
            took = time.perf_counter() - t0
            with lock:
                if problem:
                    errors.append(problem)
                else:
                    latencies.append(took)
                    done_sentences[0] += len(texts)

    threads = [threading.Thread(target=client, args=(j,)) for j in jobs]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "clients": len(jobs),
        "requests": len(latencies) + len(errors),
        "requests_planned": sum(len(j) for j in jobs),
        "sentences": done_sentences[0],
        "seconds": round(wall, 2),
        "sentences_per_s": round(done_sentences[0] / wall, 1),
        "latency_ms": {
            "p50": round(q[49] * 1000, 1),
            "p95": round(q[94] * 1000, 1),
            "p99": round(q[98] * 1000, 1),
        },
        "errors": len(errors),
        "error_samples": errors[:5],
    }


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def cli_rate(model: str, sentences: list[str], beam: int | None) -> dict:
    """`seq2seq translate --input` over `sentences` as one file, start-up subtracted."""
    extra = ["--beam", str(beam)] if beam else []
    with tempfile.TemporaryDirectory() as tmp:
        full, empty = Path(tmp) / "in.txt", Path(tmp) / "empty.txt"
        full.write_text("\n".join(sentences) + "\n", encoding="utf-8")
        empty.write_text("", encoding="utf-8")
        times = {}
        for name, path in (("startup", empty), ("total", full)):
            t0 = time.perf_counter()
            subprocess.run(
                [*SEQ2SEQ, "translate", "--model", model, "--input", str(path), *extra],
                check=True,
                stdout=subprocess.DEVNULL,
                cwd=ROOT,
            )
            times[name] = time.perf_counter() - t0
    decode = times["total"] - times["startup"]
    return {
        "sentences": len(sentences),
        "startup_s": round(times["startup"], 2),
        "decode_s": round(decode, 2),
        "sentences_per_s": round(len(sentences) / decode, 1),
    }


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    x = [r["clients"] for r in rows]
    for q in ("p50", "p95", "p99"):
        ax.plot(x, [r["latency_ms"][q] for r in rows], marker="o", label=q)
    ax.set_xscale("log", base=2)
    ax.set_xticks(x, [str(c) for c in x])
    ax.set_xlabel("concurrent clients")
    ax.set_ylabel("latency per request (ms)")
    ax.set_title("seq2seq serve: latency against concurrency")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, help="model bundle, e.g. models/hi-en")
    p.add_argument("--source", required=True, help="test-set source file, one sentence a line")
    p.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--requests", type=int, default=100, help="requests per client")
    p.add_argument("--seconds", type=float, default=300, help="time limit per level")
    p.add_argument("--beam", type=int, help="beam size (default: the model's)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--protocol", choices=["ours", "libre"], default="ours")
    p.add_argument("--pair", default="hi-en", help="source-target, for --protocol libre")
    p.add_argument("--out", default=str(HERE / "results" / "serve-load.json"))
    p.add_argument("--plot", default=str(HERE / "serve-latency.png"))
    args = p.parse_args()

    sentences = [
        line.strip()
        for line in Path(args.source).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    port = free_port()
    cmd = [*SEQ2SEQ, "serve", "--model", args.model, "--port", str(port)]
    if args.beam:
        cmd += ["--beam", str(args.beam)]
    log = tempfile.NamedTemporaryFile(prefix="serve-load-", suffix=".log", delete=False)
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/health")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start; see {log.name}") from None
                time.sleep(0.3)
        rows = []
        for clients in args.clients:
            jobs = plan(sentences, clients, args.requests, args.seed)
            row = run_level(port, jobs, args.seconds, args.protocol, args.pair)
            rows.append(row)
            print(json.dumps(row), flush=True)
        rss = peak_rss_mib(server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    largest = plan(sentences, max(args.clients), args.requests, args.seed)
    cli = cli_rate(args.model, [s for job in largest for req in job for s in req], args.beam)
    result = {
        "date": dt.date.today().isoformat(),
        "cpu": cpu_name(),
        "cores": len(os.sched_getaffinity(0)),
        "command": " ".join([".venv/bin/python", "benchmarks/serve_load.py", *sys.argv[1:]]),
        "model": args.model,
        "protocol": args.protocol,
        "beam": args.beam,
        "server_peak_rss_mib": rss,
        "levels": rows,
        "cli": cli,
    }
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    plot(rows, Path(args.plot))
    print("| clients | requests | sentences | sentences/s | p50 ms | p95 ms | p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        lat = r["latency_ms"]
        print(
            f"| {r['clients']} | {r['requests']} | {r['sentences']} | {r['sentences_per_s']} | "
            f"{lat['p50']} | {lat['p95']} | {lat['p99']} | {r['errors']} |"
        )
    print(f"CLI, one file of {cli['sentences']} sentences: {cli['sentences_per_s']} sentences/s")
    print(f"server peak RSS {rss} MiB; wrote {args.out} and {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
