"""A prepared-data folder (`data/<pair>/`, written by `python -m data_prep`): its text files,
references and tokenizers. Plain file reading: no training code is imported."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence, Sized
from pathlib import Path

import numpy as np

from indic_common.errors import DataError
from indic_common.languages import PAIRS
from indic_common.synthetic import parse_part_name
from seq2seq.model.vocab import Vocab

log = logging.getLogger(__name__)


class PreparedPair:
    """A prepared-data folder (`data/<pair>/`, written by `python -m data_prep`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        meta_path = root / "meta.json"
        if not meta_path.is_file():
            raise DataError(
                f"{root}: no prepared data (meta.json missing); run "
                f"`make data PAIR={root.name}` or `python -m data_prep {root.name}`"
            )
        self.meta = json.loads(meta_path.read_text(encoding="utf-8"))

    def vocab(self, lang: str) -> Vocab:
        """The SentencePiece model of one language."""
        return Vocab.from_file(self.root / self.meta["tokenizer"][lang])

    def path(self, name: str, lang: str) -> Path:
        """The file `<name>.<lang>`, which must exist."""
        path = self.root / f"{name}.{lang}"
        if not path.is_file():
            if name.startswith(("dev", "test-")):
                self._refs(name)  # an unknown held-out set: the error lists the known ones
            raise DataError(
                f"{path}: file missing from the prepared data; run "
                f"`make data PAIR={self.root.name}` again"
            )
        return path

    def read(self, name: str, lang: str) -> list[str]:
        """Lines of `<name>.<lang>`, e.g. ("train", "hi") or ("test-post2012", "en.2")."""
        return self.path(name, lang).read_text(encoding="utf-8").split("\n")[:-1]

    def codes(self, name: str, suffix: str) -> tuple[np.ndarray, list[str]]:
        """The lines of a file of names (`train.origin`, `train.domain`) as codes into the list
        of names, read a line at a time: no string is kept per line of a large corpus."""
        names: dict[str, int] = {}
        with self.path(name, suffix).open(encoding="utf-8", newline="\n") as f:
            codes = np.fromiter(
                (names.setdefault(line.rstrip("\n"), len(names)) for line in f), dtype=np.int32
            )
        return codes, list(names)

    def references(self, name: str, tgt_lang: str) -> list[list[str]]:
        """Reference streams of a dev/test set: the English side may have several."""
        if tgt_lang != "en":
            return [self.read(name, tgt_lang)]
        return [self.read(name, "en" if k == 0 else f"en.{k}") for k in range(self._refs(name))]

    def _refs(self, name: str) -> int:
        """How many English references the held-out set `name` has."""
        kind, _, part = name.partition("-")
        table = {"dev": self.meta.get("devs", {}), "test": self.meta["tests"]}.get(kind)
        if name == "dev":
            return self.meta["dev"]["en_refs"]
        if table is None or part not in table:
            known = ", ".join(["dev", *self.dev_sets(), *self.test_sets()])
            raise DataError(
                f"{self.root}: no held-out set {name!r} (known: {known}); a folder prepared "
                f"before dev sets were split needs `make data PAIR={self.root.name}` again"
            )
        return table[part]["en_refs"]

    def documents(self, name: str) -> list[str] | None:
        """The document of each line of a held-out set (`<name>.doc`), or None if not written."""
        return self.read(name, "doc") if (self.root / f"{name}.doc").is_file() else None

    def dev_sets(self) -> list[str]:
        """Names of the per-corpus dev sets, e.g. ["dev-vg", "dev-post2012"]."""
        return [f"dev-{name}" for name in self.meta.get("devs", {})]

    def domains(self, name: str) -> list[str]:
        """The domain of each line of `<name>` (train or a held-out set), `<name>.domain`."""
        self._require_domains(name)
        return self.read(name, "domain")

    def domain_codes(self, name: str) -> tuple[np.ndarray, list[str]]:
        """`domains` as codes into the list of domain names (see `codes`)."""
        self._require_domains(name)
        return self.codes(name, "domain")

    def _require_domains(self, name: str) -> None:
        if not (self.root / f"{name}.domain").is_file():
            raise DataError(
                f"{self.root}/{name}.domain missing: the folder was prepared before domain "
                f"tags; run `make data PAIR={self.root.name}` again"
            )

    def train_index(
        self,
        times: dict[str, int],
        keep: Sequence[str] = (),
        lines: int | None = None,
        only_known: bool = False,
    ) -> np.ndarray:
        """Which training lines to use, each as often as its weight: `times[key]` repeats
        of a part, where a key names a line of `train.origin` (corpus/split, e.g.
        post2012/dev) or a whole corpus (post2012), the exact name winning. With `keep`
        (names of the same kind), only the lines of those parts. `lines`: the number of
        training pairs `train.origin` must describe. `only_known` drops the names this folder
        lacks instead of refusing them (a multilingual model's shared weighting)."""
        origin, code_names = self.codes("train", "origin")
        if lines is not None:
            self.check_aligned("train", lines, origin=origin)
        names = sorted(code_names)
        known = set(names) | {name.split("/")[0] for name in names}
        if only_known:
            times = {k: v for k, v in times.items() if k in known}
            keep = [k for k in keep if k in known]
        for key, asked in (("data.upsample", times), ("data.train_parts", keep)):
            unknown = sorted(set(asked) - known)
            if unknown:
                raise DataError(
                    f"{key} names {', '.join(unknown)}, not among the training "
                    f"parts of {self.root} ({', '.join(names)})"
                )
        repeat = {name: times.get(name, times.get(name.split("/")[0], 1)) for name in names}
        if keep:
            repeat = {n: r if {n, n.split("/")[0]} & set(keep) else 0 for n, r in repeat.items()}
        repeats = np.array([repeat[name] for name in code_names], dtype=np.int64)
        index = np.repeat(np.arange(len(origin), dtype=np.int64), repeats[origin])
        log.info("weighted %s: %d -> %d training pairs", times, len(origin), len(index))
        return index

    def check_aligned(self, name: str, lines: int, **streams: Sized) -> None:
        """Every stream read from `<name>.<suffix>` (suffix=lines) has `lines` lines, or a
        one-line error names the file."""
        for suffix, stream in streams.items():
            n = len(stream)
            if n != lines:
                raise DataError(
                    f"{self.root}/{name}.{suffix} has {n} lines for {lines} pairs; run "
                    f"`make data PAIR={self.root.name}` again"
                )

    def check_synthetic(
        self, name: str, src_lang: str, tgt_lang: str, side: str = "source"
    ) -> None:
        """The synthetic part `synthetic/<name>`, written by `seq2seq backtranslate`, is
        finished (its `.json` is written last), has both sides, and its synthetic side is the
        direction's `side`: the source (data.synthetic, back-translation) or the target
        (data.forward, forward translation)."""
        folder = self.root / "synthetic"
        how = folder / f"{name}.json"
        if not how.is_file():
            made = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
            raise DataError(
                f"data.synthetic names {name!r}, but {how} is missing "
                f"(finished parts: {', '.join(made) or 'none'}); make it with "
                f"{self.synthetic_command(name)}"
            )
        for lang in (src_lang, tgt_lang):
            path = folder / f"{name}.{lang}"
            if not path.is_file():
                raise DataError(f"{path}: missing; the part {name} has no {lang} side")
        made_side = json.loads(how.read_text(encoding="utf-8")).get("to")
        if side == "source" and made_side not in (None, src_lang):
            raise DataError(
                f"{folder}/{name}: its {made_side} side is synthetic and may only be read as "
                f"a source, not as {src_lang}->{tgt_lang}'s target; leave the part out of "
                f"data.synthetic for that direction (data.forward reads a part whose "
                f"synthetic side is the target)"
            )
        if side == "target" and made_side != tgt_lang:
            raise DataError(
                f"{folder}/{name}: data.forward reads a part whose synthetic side is the "
                f"target ({tgt_lang}), but this one's is {made_side}; name it in "
                f"data.synthetic instead"
            )

    def synthetic_command(self, name: str) -> str:
        """What writes the synthetic part `name`, for messages that ask to make it (again):
        the make command for the names `make backtranslate` gives
        (indic_common/synthetic.py)."""
        made = parse_part_name(name)
        # data/<xx>-en, or a pair's folder of data/multi (make makes the three together).
        pair = "multi" if self.root.parent.name == "multi" else self.root.name
        if made and self.root.name in PAIRS:
            return f"`make backtranslate PAIR={pair}{made.make_variables()}`"
        return f"`seq2seq backtranslate --output {self.root / 'synthetic' / name} ...`"

    def test_sets(self) -> list[str]:
        """Names of the test sets, e.g. ["test-post2012", "test-vg"]."""
        return [f"test-{name}" for name in self.meta["tests"]]
