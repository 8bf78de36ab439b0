"""The one scoring path: translate a test set, score it with sacrebleu, write the hypotheses
next to the scores. `seq2seq evaluate`, `report` and `study` all go through
`translate_and_score`; `score_hypotheses` scores any subset of its output (study's buckets).

For every test set `<name>`, the output folder gets `<name>.hyp` (one translation a line) and
`<name>.json` (scores with their sacrebleu signatures, decode settings, timing).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from indic_common.atomic import write_text
from indic_common.textfile import read_lines
from seq2seq.data.prepared import PreparedPair
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.metrics import (
    Interval,
    Score,
    bleu_interval,
    check_streams,
    corpus_scores,
    length_ratio,
    paired_delta,
    per_document_bleu,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scores:
    """Corpus scores of hypotheses against one or more reference streams."""

    bleu: Score
    chrf: Score  # chrF++ (character n-grams and word 2-grams)
    bleu_lowercase: Score
    length_ratio: float  # hypothesis words over first-reference words
    empty: int  # empty hypotheses (a decoding bug if not 0)
    bleu_ci: Interval  # BLEU with its 95% bootstrap interval over sentences


@dataclass(frozen=True)
class TestScore:
    """One test set translated and scored."""

    name: str
    hyps: list[str]
    scores: Scores
    references: list[str]  # the reference files (or names)
    seconds: float  # decoding time
    hypotheses_file: Path | None
    documents: dict[str, dict] | None = None  # per-document BLEU, where documents are known

    def describe(self) -> str:
        """A few lines for people: scores, signatures, where the hypotheses are, warnings."""
        s = self.scores
        lines = [
            f"{self.name}: BLEU {s.bleu.score:.2f}  chrF++ {s.chrf.score:.2f}  (lower-cased BLEU "
            f"{s.bleu_lowercase.score:.2f}; {len(self.references)} reference(s), "
            f"{len(self.hyps)} sentences; hyp/ref length {s.length_ratio}; "
            f"BLEU 95% interval [{s.bleu_ci.low:.2f}, {s.bleu_ci.high:.2f}])",
            *(f"  {score.name} signature: {score.signature}" for score in (s.bleu, s.chrf)),
            f"  hypotheses: {self.hypotheses_file}",
        ]
        if s.empty:
            lines.append(f"  warning: {s.empty} empty translations")
        return "\n".join(lines)

    def summary(self) -> dict:
        """The JSON-ready facts of this result, without the hypotheses."""
        s = self.scores
        return {
            "test_set": self.name,
            "sentences": len(self.hyps),
            "references": self.references,
            "BLEU": s.bleu.score,
            "BLEU_ci": [s.bleu_ci.low, s.bleu_ci.high],
            "chrF++": s.chrf.score,
            "BLEU_lc": s.bleu_lowercase.score,
            "length_ratio": s.length_ratio,
            "empty": s.empty,
            "seconds": round(self.seconds, 2),
            "signatures": {
                "BLEU": s.bleu.signature,
                "chrF++": s.chrf.signature,
                "BLEU_lc": s.bleu_lowercase.signature,
            },
            "hypotheses_file": str(self.hypotheses_file) if self.hypotheses_file else None,
            "documents": self.documents,
        }


def score_hypotheses(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> Scores:
    """BLEU, chrF++, lower-cased BLEU, length ratio and empty lines of `hyps`."""
    bleu, chrf = corpus_scores(hyps, refs)
    return Scores(
        bleu,
        chrf,
        corpus_scores(hyps, refs, lowercase=True)[0],
        length_ratio(hyps, refs[0]),
        sum(not h.strip() for h in hyps),
        bleu_interval(hyps, refs),
    )


def translate_and_score(
    translator: Translator,
    src: list[str],
    refs: list[list[str]],
    name: str,
    out_dir: Path | None,
    ref_names: Sequence[str] | None = None,
    docs: Sequence[str] | None = None,
    domains: Sequence[str] | None = None,
) -> TestScore:
    """Translate `src` with the translator's settings and score it against every reference;
    with `out_dir`, write `<name>.hyp` and `<name>.json` there. `docs` (the document of each
    line) adds per-document BLEU where a set has a few documents, not one per line; `domains`
    gives each line's domain tag (a model trained with them)."""
    ref_names = list(ref_names or [f"{name} reference {k}" for k in range(len(refs))])
    check_streams(src, refs, ref_names)
    start = time.monotonic()
    hyps = [t.best for t in translator.translate_batch(src, domains=domains)]
    seconds = time.monotonic() - start
    hyp_file = out_dir / f"{name}.hyp" if out_dir is not None else None
    by_doc = None
    if docs is not None and len(set(docs)) <= max(1, len(docs) // 5):
        by_doc = per_document_bleu(hyps, refs, docs)
    scores = score_hypotheses(hyps, refs)
    result = TestScore(name, hyps, scores, ref_names, seconds, hyp_file, by_doc)
    if result.scores.empty:
        log.warning("%s: %d empty translations", name, result.scores.empty)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text(out_dir / f"{name}.hyp", "".join(h + "\n" for h in hyps))
        report = {
            "model": str(translator.bundle.path),
            "direction": translator.direction,
            "decode": asdict(translator.decode),
            "detail": {"BLEU": result.scores.bleu.detail, "chrF++": result.scores.chrf.detail},
            **result.summary(),
        }
        write_text(
            out_dir / f"{name}.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        )
    return result


def prepared_set(
    prepared: PreparedPair, name: str, src_lang: str, tgt_lang: str
) -> tuple[list[str], list[list[str]], list[str]]:
    """Source lines, reference streams and reference file names of a prepared dev/test set."""
    refs = prepared.references(name, tgt_lang)
    ref_names = [
        f"{prepared.root / name}.{tgt_lang}" + (f".{k}" if k else "") for k in range(len(refs))
    ]
    return prepared.read(name, src_lang), refs, ref_names


def set_domains(prepared: PreparedPair, name: str, translator: Translator) -> list[str] | None:
    """Each line's domain for a model with domain tags (the prepared `<name>.domain`)."""
    return prepared.domains(name) if translator.domains else None


def evaluate_every_direction(
    translator: Translator,
    data_root: Path,
    split: str,
    out_dir: Path | None,
    directions: list[str] | None = None,
) -> list[TestScore]:
    """Every direction of a multilingual model (into English and into Indic languages alike;
    or those of `directions`), each written to `out_dir/<direction>/` and named e.g.
    en-hi/test-post2012."""
    results = []
    for direction in directions or translator.directions:
        one = translator.for_direction(*direction.split("-"))
        sub = out_dir / direction if out_dir is not None else None
        for r in evaluate_split(one, data_root, split, sub):
            results.append(replace(r, name=f"{direction}/{r.name}"))
    return results


def evaluate_split(
    translator: Translator, data_root: Path, split: str, out_dir: Path | None
) -> list[TestScore]:
    """Score prepared test sets: `test` means every one, else a name such as test-post2012.
    A multilingual translator without a fixed source scores every direction into its target
    (the set names then start with the direction, e.g. bn-en/test-post2012)."""
    if translator.src_lang is None:
        into = [f"{src}-{translator.tgt_lang}" for src in translator.sources]
        return evaluate_every_direction(translator, data_root, split, out_dir, into)
    cfg = translator.bundle.cfg.data
    prepared = PreparedPair(data_root / cfg.folder(translator.direction))
    src_lang, tgt_lang = translator.src_lang, translator.tgt_lang
    names = prepared.test_sets() if split == "test" else [split]
    results = []
    for name in names:
        src, refs, ref_names = prepared_set(prepared, name, src_lang, tgt_lang)
        log.info("evaluating %s: %d sentences, %d references", name, len(src), len(refs))
        docs = prepared.documents(name)
        domains = set_domains(prepared, name, translator)
        results.append(
            translate_and_score(translator, src, refs, name, out_dir, ref_names, docs, domains)
        )
    return results


def evaluate_files(
    translator: Translator, src_path: Path, ref_paths: list[Path], out_dir: Path | None
) -> TestScore:
    """Score a source file against one or more reference files."""
    src = read_lines(src_path)
    refs = [read_lines(p) for p in ref_paths]
    return translate_and_score(
        translator, src, refs, src_path.stem, out_dir, [str(p) for p in ref_paths]
    )


def compare_files(
    base_path: Path, new_path: Path, ref_paths: list[Path], docs_path: Path | None = None
) -> dict:
    """Compare two hypothesis files of one test set: each one's BLEU with its interval, its
    chrF++ and hyp/ref length, the paired bootstrap intervals of the BLEU and chrF++
    differences (new - base), and per-document BLEU."""
    base, new = read_lines(base_path), read_lines(new_path)
    refs = [read_lines(p) for p in ref_paths]
    check_streams(base, [new, *refs], [str(new_path), *map(str, ref_paths)])
    docs = read_lines(docs_path) if docs_path else None
    if docs is not None:
        check_streams(base, [docs], [str(docs_path)])

    def system(path: Path, hyps: list[str]) -> dict:
        chrf = next(s.score for s in corpus_scores(hyps, refs) if s.name == "chrF++")
        return {
            "file": str(path),
            **_interval(bleu_interval(hyps, refs)),
            "chrF++": chrf,
            "length_ratio": length_ratio(hyps, refs[0]),
        }

    delta = paired_delta(base, new, refs, "BLEU")
    delta_chrf = paired_delta(base, new, refs, "chrF++")
    out: dict = {
        "base": system(base_path, base),
        "new": system(new_path, new),
        "delta": {**_interval(delta), "counts": delta.excludes_zero},
        "delta_chrf": {**_interval(delta_chrf, "chrF++"), "counts": delta_chrf.excludes_zero},
        "references": [str(p) for p in ref_paths],
    }
    if docs is not None:
        base_docs, new_docs = (
            per_document_bleu(base, refs, docs),
            per_document_bleu(new, refs, docs),
        )
        out["documents"] = {
            doc: {"sentences": row["sentences"], "base": row["BLEU"], "new": new_docs[doc]["BLEU"]}
            for doc, row in base_docs.items()
        }
    return out


def _interval(i: Interval, metric: str = "BLEU") -> dict:
    return {metric: i.score, "low": i.low, "high": i.high}


def format_comparison(r: dict) -> str:
    """compare_files' result as a few lines for people."""
    lines = [
        f"{key}: BLEU {r[key]['BLEU']:.2f} [{r[key]['low']:.2f}, {r[key]['high']:.2f}]  "
        f"chrF++ {r[key]['chrF++']:.2f}  hyp/ref {r[key]['length_ratio']:.3f}  {r[key]['file']}"
        for key in ("base", "new")
    ]
    for key, metric in (("delta", "BLEU"), ("delta_chrf", "chrF++")):
        d = r[key]
        verdict = (
            "the interval excludes 0" if d["counts"] else "the interval includes 0: no gain shown"
        )
        lines.append(
            f"new - base: {d[metric]:+.2f} {metric}, 95% paired bootstrap "
            f"[{d['low']:+.2f}, {d['high']:+.2f}]; {verdict}"
        )
    for doc, row in (r.get("documents") or {}).items():
        lines.append(
            f"  document {doc} ({row['sentences']} sentences): "
            f"{row['base']:.2f} -> {row['new']:.2f}"
        )
    return "\n".join(lines)
