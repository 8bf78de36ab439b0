"""Layers: translating imports no trainer; seq2seq and data_prep share only indic_common."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _imports(package: str) -> set[str]:
    names = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
    return names


def test_packages_do_not_import_each_other() -> None:
    assert "data_prep" not in _imports("seq2seq")
    assert "seq2seq" not in _imports("data_prep")
    assert not {"seq2seq", "data_prep"} & _imports("indic_common")


def test_translator_imports_no_trainer() -> None:
    code = (
        "import sys; import seq2seq; assert 'torch' not in sys.modules, 'import seq2seq is heavy';"
        "from seq2seq import Translator;"
        "bad = [m for m in ('pytorch_lightning', 'lightning', 'lightning_fabric') "
        "if m in sys.modules]; assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
