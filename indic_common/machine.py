"""The CPU a run used, named the same way in model metadata, cards and benchmark rows."""

from __future__ import annotations

import platform
from pathlib import Path

# Instruction sets that decide our speed (bf16 training, oneDNN kernels), by /proc/cpuinfo flag.
_ISA = (("AVX-512", "avx512f"), ("avx512_bf16", "avx512_bf16"), ("AMX", "amx_bf16"))


def cpu_name() -> str:
    """The CPU model and its relevant instruction sets, e.g. 'AMD EPYC (AVX-512, avx512_bf16)'
    or 'Intel Core i5 (AVX2 only)'; what `platform` says where /proc/cpuinfo is missing."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return platform.processor() or "unknown CPU"
    model, flags = "unknown CPU", set()
    for line in cpuinfo.read_text().splitlines():
        if line.startswith("model name") and model == "unknown CPU":
            model = line.split(":", 1)[1].strip()
        elif line.startswith("flags") and not flags:
            flags = set(line.split(":", 1)[1].split())
    isa = [name for name, flag in _ISA if flag in flags] or (
        ["AVX2 only"] if "avx2" in flags else []
    )
    return f"{model} ({', '.join(isa)})" if isa else model
