"""The machine a benchmark ran on, named the same way in every results file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from indic_common.machine import cpu_name as machine_cpu_name

ROOT = Path(__file__).resolve().parents[1]
# Environment variables that make a CPU pretend to be a lesser one.
CAPS = ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY")


def cpu_name() -> str:
    """The CPU model and the instruction sets that decide our speed (indic_common.machine):
    every benchmark row names it. A run under an ISA cap (ONEDNN_MAX_CPU_ISA,
    ATEN_CPU_CAPABILITY) says so: it proves that the code runs on that class of CPU, never how
    fast."""
    caps = [f"{k}={os.environ[k]}" for k in CAPS if os.environ.get(k)]
    label = machine_cpu_name()
    return f"{label}, capped: {' '.join(caps)}" if caps else label


def bf16_unavailable() -> str | None:
    """Why bf16 autocast cannot run on this CPU (seq2seq.train.precision asks oneDNN), or None."""
    import torch

    from seq2seq.train.precision import bf16_unsupported

    return bf16_unsupported(torch.device("cpu"))


def exit_unless_bf16() -> None:
    """Exit with one line where bf16 autocast cannot run on this CPU."""
    reason = bf16_unavailable()
    if reason:
        sys.exit(f"error: {reason}: the bf16 figures cannot be measured here")


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
