"""The project's import graph: every import between its own modules (seq2seq, data_prep,
indic_common), inside functions too (a lazy import is still a dependency); only imports under
`if TYPE_CHECKING:` are not edges. It has no cycle, and its longest chain is kept short: each
level is a module that cannot be read without the ones below it.

    python tests/test_imports.py    # prints the longest chain
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("seq2seq", "data_prep", "indic_common")
LONGEST = 11  # files in the longest chain, at most


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Each project module and the project modules it imports at module level."""
    paths = [p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))]
    modules = {_module(p): p for p in paths}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def longest_chain(graph: dict[str, set[str]]) -> list[str]:
    """The longest import chain, importer first; RecursionError-free ValueError on a cycle."""

    @cache
    def chain(name: str, visiting: frozenset[str] = frozenset()) -> tuple[str, ...]:
        if name in visiting:
            raise ValueError(f"import cycle through {name}")
        below = [chain(dep, visiting | {name}) for dep in sorted(graph[name])]
        return (name, *max(below, key=len, default=()))

    return list(max((chain(name) for name in sorted(graph)), key=len))


def test_no_cycle_and_a_short_longest_chain() -> None:
    chain = longest_chain(import_graph())
    assert len(chain) <= LONGEST, " -> ".join(chain)


# The wings of seq2seq/, bottom first: a module imports only from its own wing or lower ones.
# `seq2seq.config` is the floor every wing stands on; the package itself (`from seq2seq import
# Translator`) is the roof.
WINGS = ["config", "model", "decode", "data", "evaluate", "train", "serve", "cli"]


def _wing(module: str) -> int:
    parts = module.split(".")
    if parts[0] != "seq2seq":
        return -1  # indic_common, data_prep: below every wing
    return WINGS.index(parts[1]) if len(parts) > 1 else len(WINGS)


def test_imports_run_one_way_between_wings() -> None:
    graph = import_graph()
    upward = [
        f"{name} -> {dep}"
        for name, deps in graph.items()
        if name.startswith("seq2seq")
        for dep in deps
        if _wing(dep) > _wing(name)
    ]
    assert not upward, upward
    modules = {
        name.split(".")[1] for name in graph if name.count(".") >= 1 and name.startswith("seq2seq.")
    }
    assert modules == set(WINGS), "every module of seq2seq/ is in a wing: " + str(modules)


def test_prepared_data_does_not_import_decoding() -> None:
    """Reading prepared text stands below back-translation and the inference stack."""
    graph = import_graph()
    assert "seq2seq.train.backtranslate" not in graph["seq2seq.data.prepared"]


if __name__ == "__main__":
    found = longest_chain(import_graph())
    sys.stdout.write(f"{len(found)} files: {' -> '.join(found)}\n")
