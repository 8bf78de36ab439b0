"""A results page for one trained model: scores on every test set, decoding variants, samples.

    seq2seq report --model models/hi-en -o results/hi-en.md

Scores every prepared test set of the model's pair with the bundle's decode settings (sacrebleu
BLEU and chrF++ against all references, lower-cased BLEU beside them), then the first test set
(Post et al. 2012 where the pair has it) under a few decoding variants, so that the effect of
beam search, the length penalty and n-gram blocking shows. Ends with seeded random sample
translations next to their source and first reference. The page is Markdown; the numbers also
go to a JSON file beside it.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from indic_common.atomic import write_text
from seq2seq.data.prepared import PreparedPair
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.scoring import TestScore, evaluate_split

log = logging.getLogger(__name__)

# (label, decode overrides) tried on the main test set, on top of the bundle's settings.
VARIANTS: tuple[tuple[str, dict], ...] = (
    ("greedy", {"beam_size": 1, "no_repeat_ngram": 0, "min_len_ratio": 0.0}),
    (
        "beam 5, no length penalty",
        {"beam_size": 5, "length_penalty": 0.0, "no_repeat_ngram": 0, "min_len_ratio": 0.0},
    ),
    (
        "beam 5, length penalty 1.0",
        {"beam_size": 5, "length_penalty": 1.0, "no_repeat_ngram": 0, "min_len_ratio": 0.0},
    ),
    (
        "beam 5, length penalty 1.0, no repeated 3-grams",
        {"beam_size": 5, "length_penalty": 1.0, "no_repeat_ngram": 3, "min_len_ratio": 0.0},
    ),
    (
        "beam 5, length penalty 1.0, no repeated 3-grams, min length 0.6 × source",
        {"beam_size": 5, "length_penalty": 1.0, "no_repeat_ngram": 3, "min_len_ratio": 0.6},
    ),
)


def _row(result: TestScore) -> dict:
    return {**result.summary(), "references": len(result.references), "hyps": result.hyps}


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or "*(empty)*"


def write_report(
    model: Path,
    out: Path,
    data_root: Path = Path("data"),
    samples: int = 20,
    variants: bool = True,
    seed: int = 1,
    device: str = "cpu",
    decode_overrides: dict | None = None,
    domain: str | None = None,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    ensemble: Sequence[Path] = (),
) -> dict:
    """Evaluate `model` on its pair's test sets; write `out` (Markdown) and `out`.json.
    `decode_overrides` (e.g. {"min_len_ratio": 0.6}) change the bundle's decode settings;
    `src_lang`/`tgt_lang` pick a direction of a multilingual model (default: its first);
    `ensemble` names more bundles decoded with `model` as one."""
    translator = Translator.load(
        model, device, domain, src_lang, tgt_lang, ensemble, **(decode_overrides or {})
    )
    bundle, d = translator.bundle, translator.bundle.cfg.data
    if translator.src_lang is None:  # one page per direction
        translator = translator.for_direction(translator.sources[0], translator.tgt_lang)
    direction = translator.direction
    prepared = PreparedPair(data_root / d.folder(direction))
    hyp_dir = out.with_suffix("")  # results/hi-en/ beside results/hi-en.md
    results: dict = {
        "model": str(model),
        "direction": direction,
        "parameters": bundle.model.num_parameters(),
        "training": {k: v for k, v in bundle.metadata.items() if k != "sha256"},
        "decode": asdict(translator.decode),
        "tests": {t.name: _row(t) for t in evaluate_split(translator, data_root, "test", hyp_dir)},
        "variants": {},
    }
    main = next(iter(results["tests"]))
    if variants:  # decoding is chosen on dev, never on a test set
        results["variants_on"] = d.dev_set
        for label, overrides in VARIANTS:
            log.info("report: %s with %s", d.dev_set, label)
            variant = translator.with_decode(**overrides)
            out_dir = hyp_dir / "variants" / _slug(label)
            [row] = evaluate_split(variant, data_root, d.dev_set, out_dir)
            results["variants"][label] = _row(row)
    page = _markdown(results, prepared, main, samples, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text(out, page)
    write_text(
        out.with_suffix(".json"),
        json.dumps(_without_hyps(results), indent=2, ensure_ascii=False) + "\n",
    )
    return results


def _without_hyps(results: dict) -> dict:
    """The results with the hypotheses left out (they are on the page, as samples)."""

    def strip(group: dict) -> dict:
        return {name: {k: v for k, v in row.items() if k != "hyps"} for name, row in group.items()}

    return {**results, "tests": strip(results["tests"]), "variants": strip(results["variants"])}


def _training_time(info: dict) -> str:
    """Minutes of training, all runs together, and the last run's where it was resumed."""
    last = info.get("train_seconds_this_run", 0) / 60
    if "train_seconds" not in info:  # bundles saved before training time was recorded
        return f"{last:.0f} minutes (last run)"
    total = info["train_seconds"] / 60
    return f"{total:.0f} minutes" + (f" ({last:.0f} in the last run)" if total - last >= 1 else "")


def _selected(info: dict) -> str:
    """The best dev score that selected the bundle: "best dev BLEU 4.59" or "best dev chrF++
    17.2 (BLEU 0.8)"."""
    if info.get("selected_on") == "chrf":
        return f"best dev chrF++ {info.get('dev_chrf', '?')} (BLEU {info.get('dev_bleu', '?')})"
    return f"best dev BLEU {info.get('dev_bleu', '?')}"


def _markdown(r: dict, prepared: PreparedPair, main: str, samples: int, seed: int) -> str:
    d, info = r["decode"], r["training"]
    src_lang, tgt_lang = r["direction"].split("-")
    lines = [
        f"# {src_lang} → {tgt_lang}: `{r['model']}`",
        "",
        *(
            [
                f"- an ensemble of {', '.join('`' + m['model'] + '`' for m in info['ensemble'])} "
                "(the first's training below)"
            ]
            if "ensemble" in info
            else []
        ),
        f"- parameters: {r['parameters']:,}",
        f"- training: {info.get('training_steps', '?')} steps, {_selected(info)} at step "
        f"{info.get('best_step', '?')}, "
        f"{_training_time(info)}, "
        f"{info.get('train_pairs', '?')} training pairs",
        f"- decoding: beam {d['beam_size']}, length penalty {d['length_penalty']}, "
        f"max length {d['max_len_ratio']} × source + {d['max_len_offset']}, "
        f"no repeated {d['no_repeat_ngram']}-grams, min length {d['min_len_ratio']} × source",
        "",
        "## Test sets",
        "",
        "| test set | sentences | references | BLEU | BLEU 95% interval | chrF++ "
        "| BLEU lower-cased | hyp/ref words | empty |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, t in r["tests"].items():
        low, high = t["BLEU_ci"]
        lines.append(
            f"| {name} | {t['sentences']} | {t['references']} | {t['BLEU']:.2f} | "
            f"[{low:.2f}, {high:.2f}] | {t['chrF++']:.2f} | {t['BLEU_lc']:.2f} | "
            f"{t['length_ratio']} | {t['empty']} |"
        )
    sig = next(iter(r["tests"].values()))["signatures"]
    lines += ["", "Signatures: " + "; ".join(f"`{v}`" for v in sig.values()), ""]
    docs = r["tests"][main].get("documents")
    if docs:
        lines += [f"## {main} by document", "", "| document | sentences | BLEU |", "|---|---|---|"]
        lines += [
            f"| {doc} | {row['sentences']} | {row['BLEU']:.2f} |" for doc, row in docs.items()
        ]
        lines.append("")
    if r["variants"]:
        lines += [
            f"## Decoding variants on {r['variants_on']} (dev: where decoding is chosen)",
            "",
            "| decoding | BLEU | chrF++ | BLEU lower-cased | hyp/ref words | seconds |",
            "|---|---|---|---|---|---|",
        ]
        for label, v in r["variants"].items():
            lines.append(
                f"| {label} | {v['BLEU']:.2f} | {v['chrF++']:.2f} | "
                f"{v['BLEU_lc']:.2f} | {v['length_ratio']} | {v['seconds']} |"
            )
        lines.append("")
    if samples:
        src = prepared.read(main, src_lang)
        ref = prepared.references(main, tgt_lang)[0]
        hyps = r["tests"][main]["hyps"]
        rows = sorted(random.Random(seed).sample(range(len(src)), min(samples, len(src))))
        lines += [
            f"## {len(rows)} sample translations from {main} (seeded random choice)",
            "",
            "| line | source | reference | ours |",
            "|---|---|---|---|",
        ]
        for i in rows:
            lines.append(f"| {i + 1} | {_cell(src[i])} | {_cell(ref[i])} | {_cell(hyps[i])} |")
        lines.append("")
    return "\n".join(lines)
