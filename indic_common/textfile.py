"""Reading user text files: UTF-8 checked line by line, so an error names the file and line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from indic_common.errors import DataError


def decode_lines(raw_lines: Iterable[bytes], name: str) -> Iterator[str]:
    """Decode byte lines as UTF-8 (a leading BOM dropped), without their line ends.

    A line that is not UTF-8 raises DataError naming `name` and the line number.
    """
    for n, raw in enumerate(raw_lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DataError(
                f"{name}:{n}: not valid UTF-8 (byte {e.start + 1}); re-encode the "
                "file as UTF-8, e.g. iconv -f <encoding> -t utf-8"
            ) from None
        if n == 1:
            line = line.removeprefix("\ufeff")
        yield line.rstrip("\r\n")


def iter_lines(path: Path) -> Iterator[str]:
    """Stream the lines of a UTF-8 text file."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    with path.open("rb") as f:
        yield from decode_lines(f, str(path))


def read_lines(path: Path) -> list[str]:
    """All lines of a UTF-8 text file."""
    return list(iter_lines(path))
