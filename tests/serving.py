"""A `seq2seq serve` process on a free loopback port, for the server and browser tests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "tests" / "fixtures" / "bundle-v1"  # a 40-unit hi->en model, 0.6 MB


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`seq2seq serve --model BUNDLE ...` started, waited for, stopped with SIGTERM."""

    def __init__(self, log: Path, *options: str, model: Path | str = BUNDLE) -> None:
        self.port = free_port()
        self.log = log
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        cmd = [sys.executable, "-m", "seq2seq.cli.main", "serve", "--model", str(model)]
        cmd += ["--port", str(self.port), *options]
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{log.read_text(errors='replace')}")
            try:
                if self.request("GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not start in 90 s:\n{log.read_text(errors='replace')}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self, method: str, path: str, body: bytes | dict | list | None = None, timeout: float = 60
    ) -> tuple[int, dict, dict | list]:
        """(status, headers, JSON answer) of one request on a new connection."""
        if body is not None and not isinstance(body, bytes):
            body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            headers = {k.lower(): v for k, v in response.getheaders()}
            return response.status, headers, json.loads(data or b"null")
        finally:
            conn.close()

    def translate(self, **body) -> tuple[int, dict | list]:
        status, _, answer = self.request("POST", "/translate", body)
        return status, answer

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, then wait; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self._log_file.close()

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")
