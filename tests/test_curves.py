"""Dev BLEU against training time, from a real run's TensorBoard logs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from seq2seq.curves import dev_curve


def test_dev_curve_of_a_run_and_its_plot(tiny_bundle: Path, tmp_path: Path) -> None:
    run = tiny_bundle.parent.parent / "runs" / "hi-en"
    points = dev_curve(run)
    assert [p.step for p in points] == [50, 100]  # val_every_steps 50, max_steps 100
    assert 0 < points[0].minutes < points[1].minutes < 10
    out = tmp_path / "curves.png"
    result = subprocess.run(
        [sys.executable, "-m", "seq2seq.cli", "curves", "--run", f"tiny={run}", "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "tiny: 2 validations" in result.stdout and out.stat().st_size > 5000
    bad = subprocess.run(
        [sys.executable, "-m", "seq2seq.cli", "curves", "--run", str(tmp_path), "-o", str(out)],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "write NAME=FOLDER" in bad.stderr
