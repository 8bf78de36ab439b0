"""The machine a benchmark ran on, named the same way in every results file."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else what `platform` says."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def run_stamped(cmd: list[str], log: Path, env: dict | None = None) -> tuple[float, list[tuple]]:
    """Run `cmd` in the project root, its output to `log`, each line stamped with the seconds
    since the start; exit with a one-line message if it fails. Returns (wall seconds, lines)."""
    start = time.monotonic()
    lines = []
    with log.open("w", encoding="utf-8") as f:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            t = time.monotonic() - start
            lines.append((t, line.rstrip("\n")))
            f.write(f"{t:8.1f} {line}")
        code = proc.wait()
    if code:
        sys.exit(f"{' '.join(cmd[:4])} ... failed (exit {code}); see {log}")
    return time.monotonic() - start, lines
