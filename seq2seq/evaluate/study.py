"""The attention study (Bahdanau, Cho & Bengio 2015, Figure 2): quality by source length.

    seq2seq study --model attention=models/hi-en --model none=models/hi-en-noattn \\
        --split test-post2012 -o results/hi-en/study

Every model translates the same test sentences (with its own decode settings); the sentences
are bucketed by source length in words and each bucket is scored with sacrebleu against all
references. Writes `length.json` (per bucket: sentences, BLEU, chrF++ per model), `length.png`
(both metrics by bucket, one line per model) and attention heat-maps of a few test sentences
from the first model that has attention.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from matplotlib.figure import Figure

from indic_common.atomic import open_atomic, write_text
from indic_common.errors import ConfigError
from seq2seq.data.prepared import PreparedPair
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.plots import plot_attention
from seq2seq.evaluate.scoring import (
    prepared_set,
    score_hypotheses,
    set_domains,
    translate_and_score,
)

log = logging.getLogger(__name__)

EDGES = (1, 6, 11, 16, 21, 26, 31, 41)  # bucket starts, in source words; the last is open


@dataclass(frozen=True)
class Bucket:
    """Source lengths first..last words (last None: and longer) and the sentences in it."""

    first: int
    last: int | None
    rows: tuple[int, ...]

    @property
    def label(self) -> str:
        return f"{self.first}+" if self.last is None else f"{self.first}-{self.last}"


def buckets(sources: Sequence[str], edges: Sequence[int] = EDGES) -> list[Bucket]:
    """Group sentence indices by source length in words; empty buckets are left out."""
    out = []
    for k, first in enumerate(edges):
        last = edges[k + 1] - 1 if k + 1 < len(edges) else None
        rows = tuple(
            i
            for i, s in enumerate(sources)
            if first <= len(s.split()) and (last is None or len(s.split()) <= last)
        )
        if rows:
            out.append(Bucket(first, last, rows))
    return out


def plot_by_length(table: dict, path: Path) -> Path:
    """Two panels (BLEU, chrF++) of score by source-length bucket, one line per model."""
    labels = [b["words"] for b in table["buckets"]]
    fig = Figure(figsize=(10, 4), dpi=120)
    for col, metric in enumerate(("BLEU", "chrF++")):
        ax = fig.add_subplot(1, 2, col + 1)
        for name in table["models"]:
            ax.plot(
                range(len(labels)),
                [b[name][metric] for b in table["buckets"]],
                marker="o",
                label=name,
            )
        ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel("source length (words)")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    counts = ", ".join(f"{b['words']}: {b['sentences']}" for b in table["buckets"])
    fig.suptitle(
        f"{table['direction']} {table['split']}, sentences per bucket: {counts}", fontsize=9
    )
    fig.tight_layout()
    with open_atomic(path, binary=True) as f:
        fig.savefig(f, format="png")
    return path


def run_study(
    models: dict[str, Path],
    split: str,
    data_root: Path,
    out_dir: Path,
    examples: int = 3,
    decode_overrides: dict | None = None,
) -> dict:
    """Score every model by source-length bucket on one test set; plot it and some attention."""
    if not models:
        raise ConfigError("study: give at least one --model NAME=FOLDER")
    translators = {
        name: Translator.load(path, **(decode_overrides or {})) for name, path in models.items()
    }
    first = next(iter(translators.values())).bundle.cfg.data
    for name, t in translators.items():
        if t.bundle.cfg.data.direction != first.direction:
            raise ConfigError(
                f"study: --model {name} translates {t.bundle.cfg.data.direction}, "
                f"not {first.direction}; compare models of one direction"
            )
    prepared = PreparedPair(data_root / first.pair)
    src, refs, ref_names = prepared_set(prepared, split, first.src_lang, first.tgt_lang)
    scored = {}
    for name, t in translators.items():
        log.info("study: translating %s with %s", split, name)
        domains = set_domains(prepared, split, t)
        scored[name] = translate_and_score(
            t, src, refs, split, out_dir / name, ref_names, domains=domains
        )
    table: dict = {
        "direction": first.direction,
        "split": split,
        "references": len(refs),
        "models": {name: str(path) for name, path in models.items()},
        "buckets": [],
    }
    for bucket in buckets(src):
        row: dict = {"words": bucket.label, "sentences": len(bucket.rows)}
        for name, result in scored.items():
            scores = score_hypotheses(
                [result.hyps[i] for i in bucket.rows], [[r[i] for i in bucket.rows] for r in refs]
            )
            row[name] = {"BLEU": scores.bleu.score, "chrF++": scores.chrf.score}
        table["buckets"].append(row)
    table["overall"] = {
        name: {"BLEU": r.scores.bleu.score, "chrF++": r.scores.chrf.score}
        for name, r in scored.items()
    }
    any_scores = next(iter(scored.values())).scores
    table["signatures"] = {"BLEU": any_scores.bleu.signature, "chrF++": any_scores.chrf.signature}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text(out_dir / "length.json", json.dumps(table, indent=2, ensure_ascii=False) + "\n")
    plot_by_length(table, out_dir / "length.png")
    attentive = [t for t in translators.values() if t.bundle.model.has_attention]
    if attentive and examples > 0:
        picked = [i for i, s in enumerate(src) if 8 <= len(s.split()) <= 16][:examples]
        for k, i in enumerate(picked, start=1):
            a = attentive[0].align(src[i])
            plot_attention(
                a.weights, a.src_pieces, a.tgt_pieces, out_dir / f"attention-{k}.png", title=src[i]
            )
    return table


def format_table(table: dict) -> str:
    """The study's table as text: BLEU and chrF++ per bucket and model, then overall."""
    names = list(table["models"])
    lines = ["words   sents  " + "  ".join(f"{n + ' BLEU/chrF++':>24}" for n in names)]
    for row in [*table["buckets"], {"words": "all", "sentences": "", **table["overall"]}]:
        cells = "  ".join(f"{row[n]['BLEU']:>12.2f} {row[n]['chrF++']:>11.2f}" for n in names)
        lines.append(f"{row['words']:<7} {row['sentences']!s:>5}  {cells}")
    return "\n".join(lines)
