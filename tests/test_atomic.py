"""Atomic writes: whole or nothing, a one-line error for a folder that does not exist, and the
temporary litter of killed runs removed (never that of a live one)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from indic_common.atomic import atomic_dir, open_atomic, remove_stale, temp_path, write_text
from indic_common.errors import DataError


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_file_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    path = write_text(tmp_path / "a.txt", "old\n")
    with pytest.raises(RuntimeError), open_atomic(path) as f:
        f.write("half")
        raise RuntimeError("killed")
    assert path.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "out.txt"
    with pytest.raises(DataError, match=f"{target}: cannot write there: the folder"):
        write_text(target, "x")


def test_folder_replaced_whole(tmp_path: Path) -> None:
    final = tmp_path / "bundle"
    with atomic_dir(final) as tmp:
        (tmp / "one").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(final) as tmp:
        (tmp / "two").write_text("2")
        raise RuntimeError("killed")
    assert [p.name for p in final.iterdir()] == ["one"]
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]


def test_stale_entries_of_dead_runs_are_removed(tmp_path: Path) -> None:
    dead = _dead_pid()
    stale = [
        tmp_path / f".hi-en.tmp-{dead}",
        tmp_path / f".hi-en.tmp-{dead}-0a1b2c3d",
        tmp_path / f".hi-en.old-{dead}-0a1b2c3d",
        tmp_path / f".out.txt.tmp-{dead}",
    ]
    for path in stale[:3]:
        (path / "train.hi").parent.mkdir()
        (path / "train.hi").write_text("x")
    stale[3].write_text("x")
    live = temp_path(tmp_path / "hi-en")  # this process: a run in progress
    live.mkdir()
    keep = tmp_path / "hi-en"
    keep.mkdir()
    assert sorted(remove_stale(tmp_path)) == sorted(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, "hi-en"])


def test_prepare_cleans_up_after_a_killed_run(mini_mirror: Path, tmp_path: Path) -> None:
    from conftest import small_options

    from data_prep.pipeline import prepare

    litter = tmp_path / "data" / f".hi-en.tmp-{_dead_pid()}"
    litter.mkdir(parents=True)
    prepare(
        "hi-en", tmp_path / "data", small_options(mini_mirror, tmp_path / "cache", max_train=200)
    )
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["hi-en"]
