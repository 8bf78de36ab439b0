"""Languages declared once (indic_common/languages.py): the tag ids are pinned, the Makefile's
include is generated from the module, no other file lists language codes, and a new language
added to the module reaches every place that lists languages."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import sentencepiece as spm

from indic_common.languages import CODES, LANG_TAGS, PAIRS, makefile_include

ROOT = Path(__file__).resolve().parents[1]


def test_tag_ids_are_pinned(data_root: Path) -> None:
    """Append-only: the tags of today's languages keep their piece ids in every tokenizer, so
    stored models can be continued and ensembled with new runs."""
    assert LANG_TAGS[:4] == ("<2en>", "<2hi>", "<2ta>", "<2bn>")
    (model,) = sorted((data_root / "hi-en").glob("*.model"))[:1]
    sp = spm.SentencePieceProcessor(model_file=str(model))
    assert [sp.piece_to_id(tag) for tag in LANG_TAGS[:4]] == [4, 5, 6, 7]


def test_makefile_include_is_generated_from_the_module() -> None:
    """languages.mk is what `python -m indic_common.languages` writes; run it after a change."""
    assert (ROOT / "languages.mk").read_text(encoding="utf-8") == makefile_include()


_NAMES = (*CODES, *PAIRS, *("-".join(reversed(p.split("-"))) for p in PAIRS))
_QUOTED = re.compile(r"""["'](""" + "|".join(_NAMES) + r""")["']""")


def test_no_list_of_language_codes_elsewhere() -> None:
    """A line naming three or more language codes or pairs is a list that belongs in
    indic_common/languages.py (tests aside); so is a Makefile line naming several."""
    offenders = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("tests", ".venv") or rel == Path("indic_common/languages.py"):
            continue
        if any(part.startswith(".venv") for part in rel.parts) or "work" in rel.parts:
            continue  # virtual environments (benchmarks/.venv-joeynmt too) and scratch folders
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if len(set(_QUOTED.findall(line))) >= 3:
                offenders.append(f"{rel}:{number}: {line.strip()}")
    indic = "|".join(code for code in CODES if code != "en")
    for number, line in enumerate((ROOT / "Makefile").read_text().splitlines(), 1):
        if not line.startswith("#") and len(re.findall(rf"\b({indic})(-en)?\b", line)) >= 2:
            offenders.append(f"Makefile:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


# Run in a fresh process: indic_common.languages with one row more (Telugu, a script of its
# own) stands in for the real module, then every place that lists languages is asked.
DRY_RUN = r"""
import json, sys, types
from pathlib import Path

source = Path("indic_common/languages.py").read_text(encoding="utf-8")
row = '        ("একজন লোক রাস্তায় হাঁটছে।", "এটি একটি সুন্দর শহর।", "আমি চা পছন্দ করি।"),\n    ),\n'
telugu = (
    'TELUGU = Script("Telugu", ((0x0C00, 0x0C7F),), ("Noto Sans Telugu",), '
    '"fontpkg-noto-sans-telugu", "Noto Sans Telugu")\n'
)
source = source.replace(row, row + '    Language("te", "Telugu", TELUGU, ("a", "b", "c")),\n')
source = source.replace("# Append-only (see above)", telugu + "# Append-only (see above)")
module = types.ModuleType("indic_common.languages")
module.__file__ = "indic_common/languages.py"
sys.modules["indic_common.languages"] = module
exec(compile(source, module.__file__, "exec"), module.__dict__)

from data_prep import catalog, multi, tokenizer
from indic_common.script import detect_language
from seq2seq import config
from seq2seq.evaluate import plots
from seq2seq.serve import app as serve
from seq2seq.train import backtranslate

reached = {
    "LANG_TAGS (tokenizer's reserved pieces)": "<2te>" in tokenizer.LANG_TAGS
    and tokenizer.LANG_TAGS.index("<2te>") == 4,
    "config.LANGS (directions, length floors)": "te" in config.LANGS,
    "a te-en direction validates": config.DataConfig(src_lang="te", tgt_lang="en").direction
    == "te-en",
    "backtranslate.LANGS": "te" in backtranslate.LANGS,
    "catalog.PAIRS (data folders)": "te-en" in catalog.PAIRS,
    "multi.MULTI_PAIRS": "te-en" in multi.MULTI_PAIRS,
    "detect_language": detect_language("తెలుగు భాష", ["en", "hi", "te"]) == "te",
    "plots.SCRIPTS (attention-plot fonts)": any(s.name == "Telugu" for s in plots.SCRIPTS),
    "serve.FONTS (web page fonts)": serve.FONTS.get("telugu") == "Noto Sans Telugu",
    "languages.mk (Makefile)": "te-en" in module.makefile_include(),
}
print(json.dumps(reached))
"""


def test_a_new_language_reaches_every_list() -> None:
    """The dry run: Telugu added to the module alone reaches every place that lists languages
    (the catalogue aside, which needs corpora); its tag comes after today's four."""
    done = subprocess.run(
        [sys.executable, "-c", DRY_RUN], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reached = json.loads(done.stdout.strip().splitlines()[-1])
    assert reached and all(reached.values()), reached
