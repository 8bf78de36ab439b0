"""Dev BLEU against training time, from a real run's TensorBoard logs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from indic_common.errors import DataError
from seq2seq.evaluate.curves import dev_curve, read_curve


def test_dev_curve_of_a_run_and_its_plot(tiny_bundle: Path, tmp_path: Path) -> None:
    run = tiny_bundle.parent.parent / "runs" / "hi-en"
    points = dev_curve(run)
    assert [p.step for p in points] == [50, 100]  # val_every_steps 50, max_steps 100
    assert 0 < points[0].minutes < points[1].minutes < 10
    out = tmp_path / "curves.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "seq2seq.cli.main",
            "curves",
            "--run",
            f"tiny={run}",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "tiny: 2 validations" in result.stdout and out.stat().st_size > 5000
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "seq2seq.cli.main",
            "curves",
            "--run",
            str(tmp_path),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "write NAME=FOLDER" in bad.stderr
    # The points beside the plot: a later plot reads the run back from them, with no logs.
    saved = tmp_path / "curves.tsv"
    assert [(round(p.minutes, 2), p.step, round(p.score, 2)) for p in points] == [
        (p.minutes, p.step, p.score) for p in read_curve(saved, "tiny")
    ]
    again = tmp_path / "again.png"
    for spec, code, said in (
        (f"tiny={saved}", 0, "tiny: 2 validations"),
        (f"other={saved}", 2, f"{saved}: no run named 'other'; it holds tiny"),
    ):
        result = subprocess.run(
            [sys.executable, "-m", "seq2seq.cli.main", "curves", "--run", spec, "-o", str(again)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == code and said in result.stdout + result.stderr
    assert (tmp_path / "again.tsv").read_text() == saved.read_text()
    saved.write_text(saved.read_text() + "tiny\t3.0\tmany\t1.0\n")
    with pytest.raises(DataError, match=rf"{saved}:4: expected run, minutes, step and BLEU"):
        read_curve(saved, "tiny")
    # chrF++ instead: the run logged it at the same validations; a BLEU file is not a chrF++ one.
    chrf = dev_curve(run, "chrf")
    assert [p.step for p in chrf] == [50, 100] and [p.score for p in chrf] != [
        p.score for p in points
    ]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "seq2seq.cli.main",
            "curves",
            "--metric",
            "chrf",
            "--run",
            f"tiny={run}",
        ]
        + ["-o", str(tmp_path / "chrf.png")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "best dev chrF++" in result.stdout, result.stderr
    assert (tmp_path / "chrf.tsv").read_text().startswith("run\tminutes\tstep\tchrf\n")
    with pytest.raises(DataError, match=rf"{saved}:1: not a chrF\+\+ curves file"):
        read_curve(saved, "tiny", "chrf")


def _version(run: Path, n: int, start: int, scalars: list[tuple[str, int, float, float]]) -> None:
    """A TensorBoard log version whose writer started at `start` (the time in the file name)."""
    from torch.utils.tensorboard import SummaryWriter

    folder = run / "tensorboard" / f"version_{n}"
    writer = SummaryWriter(str(folder))
    for tag, step, value, wall in scalars:
        writer.add_scalar(tag, value, step, walltime=wall)
    writer.close()
    [file] = folder.glob("events.out.tfevents.*")
    parts = file.name.split(".")
    file.rename(folder / ".".join([*parts[:3], str(start), *parts[4:]]))


def test_a_run_resumed_from_an_earlier_checkpoint_counts_each_step_once(tmp_path: Path) -> None:
    run = tmp_path / "run"
    # Trained to step 1,600, then resumed from the step-1,000 checkpoint (version 1) days later.
    _version(
        run,
        0,
        1000,
        [("val/bleu", 499, 1.0, 1100), ("val/bleu", 999, 2.0, 1200)]
        + [("val/bleu", 1499, 2.5, 1300), ("train/loss", 1599, 4.0, 1320)],
    )
    _version(
        run,
        1,
        9000,
        [("train/loss", 1049, 4.1, 9010), ("val/bleu", 1499, 3.0, 9100)]
        + [("val/bleu", 1999, 3.5, 9200)],
    )
    points = dev_curve(run)
    assert [(p.step, p.score) for p in points] == [
        (500, 1.0),
        (1000, 2.0),
        (1500, 3.0),
        (2000, 3.5),
    ]
    # Version 0 counts until step 1,000 (200 s), version 1 from its start: 100 and 200 s more.
    assert [round(p.minutes * 60) for p in points] == [100, 200, 300, 400]
