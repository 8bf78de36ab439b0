"""Dev BLEU (or chrF++) against wall-clock training time, from runs' TensorBoard logs; its plot.

Each validation's `val/bleu` (and `val/chrf`) event carries the wall-clock time it was written. A
run resumed N times has N log versions; its training time adds up each version's own time (from the
version's start, the time in its event file's name, to its last event), so the hours a run
spent stopped between two versions do not count. A version that starts at an earlier step
than the one before it ended (resumed from an earlier checkpoint) replaces what followed that
step: the earlier version's later validations and time are dropped.

The runs' logs are not committed and a fresh machine has none, so every plot is written with its
points beside it (`dev-curves.png` and `dev-curves.tsv`: run, minutes, step, and the score, in a
column named `bleu` or `chrf`); a later plot reads a run back from that file instead of its
folder, and so can hold models trained on several machines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from indic_common.atomic import open_atomic
from indic_common.errors import DataError
from indic_common.textfile import iter_lines

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Point:
    """One validation: training minutes so far, the step and the dev score."""

    minutes: float
    step: int
    score: float


METRICS = {"bleu": "BLEU", "chrf": "chrF++"}  # the runs' val/<name> scores and their labels


def dev_curve(run_dir: Path, metric: str = "bleu") -> list[Point]:
    """Every validation of a run (`runs/<name>/`) scored with `metric`, in training-time order.

    Runs that logged no chrF++ (older ones) have an empty chrf curve.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    versions = sorted(
        (run_dir / "tensorboard").glob("version_*"), key=lambda p: int(p.name.split("_")[1])
    )
    if not versions:
        raise DataError(f"{run_dir}: no TensorBoard logs (tensorboard/version_*); is it a run?")
    points: list[Point] = []
    before = 0.0  # seconds trained in the earlier versions
    previous: tuple[float, float, list] | None = None  # the last version: before, start, events
    for version in versions:
        files = sorted(version.glob("events.out.tfevents.*"))
        if not files:
            continue
        start = float(files[0].name.split(".")[3])  # the writer's creation time
        events = EventAccumulator(str(version), size_guidance={"scalars": 0})
        events.Reload()
        tags = events.Tags()["scalars"]
        scalars = [e for tag in tags for e in events.Scalars(tag)]
        if previous is not None and scalars:
            first = min(e.step for e in scalars)
            then, then_start, then_events = previous
            if any(e.step >= first for e in then_events):  # resumed from an earlier step
                points = [p for p in points if p.step <= first]
                kept = [e.wall_time for e in then_events if e.step < first]
                before = then + max([then_start, *kept]) - then_start
        previous = (before, start, scalars)
        tag = f"val/{metric}"
        for e in events.Scalars(tag) if tag in tags else []:
            points.append(Point((before + e.wall_time - start) / 60, e.step + 1, e.value))
        before += max([start, *(e.wall_time for e in scalars)]) - start
    return points


def _header(metric: str) -> str:
    return f"run\tminutes\tstep\t{metric}"


def read_curve(tsv: Path, name: str, metric: str = "bleu") -> list[Point]:
    """The run `name`'s points from a file that `write_curves` wrote with `metric`."""
    lines = iter_lines(tsv)
    header = next(lines, None)
    if header != _header(metric):
        raise DataError(
            f"{tsv}:1: not a {METRICS[metric]} curves file (its first line must be "
            f"{_header(metric)!r})"
        )
    runs: dict[str, list[Point]] = {}
    for number, line in enumerate(lines, start=2):
        fields = line.split("\t")
        try:
            run, minutes, step, score = fields
            point = Point(float(minutes), int(step), float(score))
        except ValueError:
            raise DataError(
                f"{tsv}:{number}: expected run, minutes, step and {METRICS[metric]} separated "
                "by tabs"
            ) from None
        runs.setdefault(run, []).append(point)
    if name not in runs:
        raise DataError(f"{tsv}: no run named {name!r}; it holds {', '.join(runs) or 'none'}")
    return runs[name]


def write_curves(curves: dict[str, list[Point]], path: Path, metric: str = "bleu") -> Path:
    """Every run's points as TSV (run, minutes, step, score), for `read_curve`."""
    rows = [_header(metric)]
    for name, points in curves.items():
        if "\t" in name or "\n" in name:
            raise DataError(f"run name {name!r}: no tabs or line breaks")
        rows += [f"{name}\t{p.minutes:.2f}\t{p.step}\t{p.score:.2f}" for p in points]
    with open_atomic(path) as out:
        out.write("\n".join(rows) + "\n")
    log.info("wrote %s", path)
    return path


def plot_dev_curves(
    curves: dict[str, list[Point]], path: Path, dev_set: str = "dev", metric: str = "bleu"
) -> Path:
    """One line per run: the dev score against training minutes, to PNG/SVG/PDF by suffix."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=130)
    ax = fig.add_subplot()
    for name, points in curves.items():
        ax.plot([p.minutes for p in points], [p.score for p in points], marker=".", label=name)
    ax.set_xlabel("training time (minutes, 2 CPU cores)")
    ax.set_ylabel(f"{dev_set} {METRICS[metric]} (greedy)")
    ax.set_title(f"Dev {METRICS[metric]} against wall-clock training time")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(path, binary=True) as out:
        fig.savefig(out, format=path.suffix.lstrip(".").lower() or "png")
    log.info("wrote %s", path)
    return path
