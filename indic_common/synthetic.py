"""Names of synthetic training parts, formatted and parsed in one place:
`bt-<method>[-floor<F>][-lines<N>][-iter<I>]` (`data/<pair>/synthetic/<name>.<lang>`).

`make backtranslate` writes the same names from BT_METHOD, BT_FLOOR, BT_LINES and BT_ITER
(the Makefile's BT_PART); tests/test_synthetic.py checks the Makefile and every shipped config
against `part_name` and `parse_part_name`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# How the synthetic side is made: by the reverse model (greedy, sample, beam) or a baseline
# without one (copy: the target copied; dummy: one placeholder piece).
METHODS = ("greedy", "sample", "beam", "copy", "dummy")
DEFAULT_LINES = 60000  # lines back-translated unless BT_LINES says otherwise

_NAME = re.compile(
    rf"bt-(?P<method>{'|'.join(METHODS)})(?:-floor(?P<floor>\d+(?:\.\d+)?))?"
    r"(?:-lines(?P<lines>\d+))?(?:-iter(?P<iteration>\d+))?"
)


@dataclass(frozen=True)
class SyntheticPart:
    """What names a back-translated part: the method, the reverse model's replaced length floor
    (None: its own), the lines translated (None: DEFAULT_LINES) and the iteration (None: the
    first)."""

    method: str
    floor: str | None = None
    lines: int | None = None
    iteration: int | None = None

    @property
    def name(self) -> str:
        """The part's name, e.g. bt-greedy-floor0-lines115000."""
        return (
            f"bt-{self.method}"
            + (f"-floor{self.floor}" if self.floor is not None else "")
            + (f"-lines{self.lines}" if self.lines not in (None, DEFAULT_LINES) else "")
            + (f"-iter{self.iteration}" if self.iteration not in (None, 1) else "")
        )

    def make_variables(self) -> str:
        """The `make backtranslate` variables that write this part (none for the defaults)."""
        return "".join(
            f" {key}={value}"
            for key, value in (
                ("BT_METHOD", None if self.method == "greedy" else self.method),
                ("BT_FLOOR", self.floor),
                ("BT_LINES", self.lines if self.lines != DEFAULT_LINES else None),
                ("BT_ITER", self.iteration if self.iteration != 1 else None),
            )
            if value is not None
        )


def parse_part_name(name: str) -> SyntheticPart | None:
    """The part a name stands for, or None when `make backtranslate` does not write that name
    (a part written by `seq2seq backtranslate --output` under a name of its own)."""
    match = _NAME.fullmatch(name)
    if match is None:
        return None
    lines, iteration = match["lines"], match["iteration"]
    return SyntheticPart(
        match["method"],
        match["floor"],
        int(lines) if lines else None,
        int(iteration) if iteration else None,
    )
