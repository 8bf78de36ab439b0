#!/usr/bin/env bash
# Create benchmarks/.venv-joeynmt with JoeyNMT 2.3.0 for the side-by-side benchmark.
#
# Idempotent: re-running reuses the venv and pip skips what is already satisfied.
#
#   bash benchmarks/setup_joeynmt.sh
#
# Pins, and why:
#   torch==2.13.0       the CPU build our own venv uses (this machine's wheel is 2.13.0+cpu,
#                       which `==2.13.0` matches); an unpinned torch resolves to a multi-GB
#                       CUDA build. It is installed first, so JoeyNMT's own `torch>=...`
#                       requirement is already satisfied and pip never looks for another.
#   sentencepiece==0.2.0  0.2.1+ removed an API JoeyNMT 2.3.0 calls.
#   importlib_metadata  JoeyNMT imports it but does not declare it.
#
# Scheduler: the benchmark wants a constant learning rate (Adam, lr 1e-3, as indic-seq2seq's
# side uses). JoeyNMT 2.3.0 has no working "none": an unset `scheduling` raises
# ConfigurationError (despite the docstring), `plateau` passes `verbose=` to
# torch's ReduceLROnPlateau, which current torch rejects, and `warmupexponentialdecay` is
# built without its optimizer (TypeError). benchmarks/joeynmt_run.py therefore uses
# `scheduling: exponential` with `decrease_factor: 1.0`: ExponentialLR with gamma 1.0, stepped
# once per epoch, i.e. a constant rate. No JoeyNMT code is patched.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv-joeynmt"
PY="${PYTHON:-python3}"

if [[ ! -x "$VENV/bin/python" ]]; then
    "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check)

"${PIP[@]}" --upgrade pip wheel setuptools >/dev/null
"${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" "joeynmt==2.3.0" "torch==2.13.0" "sentencepiece==0.2.0" importlib_metadata

"$VENV/bin/python" - <<'EOF'
import importlib.metadata as md
import torch
for name in ("joeynmt", "torch", "sentencepiece"):
    print(f"{name}=={md.version(name)}")
assert md.version("joeynmt") == "2.3.0", "JoeyNMT 2.3.0 expected"
assert "+cpu" in torch.__version__ or not torch.version.cuda, torch.__version__
EOF
