"""Atomic writes: a file or a folder appears whole or not at all, and the litter of killed
runs is cleaned up.

Everything is first written under a temporary name in the destination's own folder,
`.<name>.tmp-<pid>-<random>`, then renamed into place with `os.replace` (atomic on one file
system). A folder that already exists is first renamed to `.<name>.old-<pid>-<random>`, so
that the new one can take its place, and removed afterwards. A run that is killed leaves its
temporary entry behind; `remove_stale` deletes those whose process is gone.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from indic_common.errors import DataError

# .<name>.tmp-<pid>-<hex> or .<name>.old-<pid>-<hex>; older releases wrote no <hex> part.
_TEMP = re.compile(r"^\..+\.(?:tmp|old)-(\d+)(?:-[0-9a-f]{8})?(?:\.[A-Za-z0-9]+)?$")


def temp_path(path: Path, kind: str = "tmp") -> Path:
    """A fresh temporary name beside `path`, owned by this process (kind: tmp or old)."""
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}-{secrets.token_hex(4)}")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale(folder: Path) -> list[Path]:
    """Delete the temporary files and folders that killed runs left in `folder`; return them."""
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for entry in folder.iterdir():
        match = _TEMP.match(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def _open_error(path: Path, e: OSError) -> DataError:
    if not path.parent.is_dir():
        return DataError(
            f"{path}: cannot write there: the folder {path.parent} does not exist; "
            "create it first or write somewhere else"
        )
    return DataError(f"{path}: cannot write there ({e.strerror}); write somewhere else")


@contextmanager
def open_atomic(path: Path, binary: bool = False) -> Iterator[IO]:
    """Open a temporary file for writing; on a clean exit it replaces `path`, else it goes.

    Text mode is UTF-8 with "\\n" line ends. A folder that does not exist, or one that cannot
    be written, raises DataError naming `path` before anything is written.
    """
    path = Path(path)
    tmp = temp_path(path)
    try:
        f = tmp.open("xb") if binary else tmp.open("x", encoding="utf-8", newline="\n")
    except OSError as e:
        raise _open_error(path, e) from None
    try:
        with f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    with open_atomic(path) as f:
        f.write(text)
    return Path(path)


def write_bytes(path: Path, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    with open_atomic(path, binary=True) as f:
        f.write(data)
    return Path(path)


@contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield an empty temporary folder; on a clean exit it replaces the folder `path`.

    The parent folder is created when missing. An older `path` is swapped out first and
    removed once the new one is in place; on an error the temporary folder is removed and
    `path` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    tmp.mkdir()
    try:
        yield tmp
        old = temp_path(path, "old")
        if path.exists():
            os.replace(path, old)
        os.replace(tmp, path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
