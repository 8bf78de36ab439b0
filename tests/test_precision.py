"""The precision probe on a CPU without bf16: `precision: auto` trains in fp32 and says why,
a bf16 step that fails anyway falls back to fp32, and `bf16-mixed` named is a one-line error.

oneDNN capped at AVX2 (ONEDNN_MAX_CPU_ISA=AVX2, with ATEN_CPU_CAPABILITY=avx2) stands in for
the CPU most users have: under the cap `nn.LSTM` under bf16 autocast fails exactly as on a real
AVX2-only CPU ("could not create a primitive descriptor for the LSTM forward propagation
primitive"). Each case runs in its own process, since the cap is read when torch loads. A
capped run proves the fallback, never a speed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import tiny_config

from seq2seq.config import config_to_yaml

AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
# The CLI as the installed `seq2seq` command runs it; PRELUDE runs first (a patch, or nothing).
CLI = "import sys; {prelude}; from seq2seq.cli.main import main; sys.exit(main(sys.argv[1:]))"


def _train_capped(config: Path, prelude: str = "pass") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CLI.format(prelude=prelude), "-v", "train", "--config", str(config)],
        env={**os.environ, **AVX2},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _config(data_root: Path, work: Path, precision: str) -> Path:
    cfg = tiny_config(
        data_root, work, train={"max_steps": 6, "val_every_steps": 6, "precision": precision}
    )
    path = work / "config.yaml"
    work.mkdir(parents=True, exist_ok=True)
    path.write_text(config_to_yaml(cfg), encoding="utf-8")
    return path


def _precision_record(work: Path) -> dict:
    (bundle,) = (work / "models").iterdir()
    return json.loads((bundle / "metadata.json").read_text(encoding="utf-8"))["precision"]


def test_auto_trains_in_fp32_where_onednn_has_no_bf16(data_root: Path, tmp_path: Path) -> None:
    """Asked first: oneDNN reports no bf16, so bf16 is not timed; the log and the metadata
    say why."""
    done = _train_capped(_config(data_root, tmp_path, "auto"))
    assert done.returncode == 0, done.stderr[-3000:]
    record = _precision_record(tmp_path)
    assert record["chosen"] == "32-true"
    assert set(record["probe_tokens_per_s"]) == {"32-true"}
    assert "bf16 not supported on this CPU" in record["bf16_unavailable"]
    assert "precision auto: 32-true" in done.stderr
    assert "bf16 not supported on this CPU" in done.stderr


def test_a_failing_bf16_step_falls_back_to_fp32(data_root: Path, tmp_path: Path) -> None:
    """The backstop: with the oneDNN question answered wrongly (patched to say yes), the bf16
    steps fail for real, and the run trains in fp32 with oneDNN's reason recorded."""
    patch = "import seq2seq.train.precision as p; p.bf16_unsupported = lambda device: None"
    done = _train_capped(_config(data_root, tmp_path, "auto"), prelude=patch)
    assert done.returncode == 0, done.stderr[-3000:]
    record = _precision_record(tmp_path)
    assert record["chosen"] == "32-true"
    assert record["bf16_unavailable"].startswith("bf16 failed on this machine: could not create")
    assert "bf16 failed on this machine" in done.stderr


def test_bf16_named_where_it_cannot_run_is_one_line(tmp_path: Path) -> None:
    """Named explicitly, bf16-mixed fails before the data loads (there is none here), in one
    line naming the option."""
    cfg = tiny_config(tmp_path / "no-data", tmp_path, train={"precision": "bf16-mixed"})
    path = tmp_path / "config.yaml"
    path.write_text(config_to_yaml(cfg), encoding="utf-8")
    done = _train_capped(path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("seq2seq train: error: train.precision=bf16-mixed: bf16 not ")
    assert "use train.precision=auto" in lines[0]
