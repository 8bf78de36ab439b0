"""`seq2seq speedup`: choose a model's decoding speed-ups on dev, and record them in its bundle.

Four searches of the selection dev set, with the model's own decode settings: exact (fp32, the
whole vocabulary), with the vocabulary shortlist (decode/shortlist.py, built here from the
prepared training pairs), in int8 (model/int8.py), and with both. Each is compared with exact
search by paired bootstrap (BLEU into English, chrF++ into the Indic languages); the fastest
whose difference is within `max_delta` (0.3 points) is switched on in the bundle's config
(`decode.shortlist`, `decode.precision`), with the shortlist beside it (shortlist.safetensors)
and the comparison in its metadata (`speedup`). The choice is the model's, made once, and holds
on every CPU: outputs never depend on the machine's instruction sets.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import torch

from indic_common.atomic import atomic_dir
from indic_common.errors import DataError
from indic_common.machine import cpu_name
from seq2seq.config import EXACT_SEARCH, config_to_json
from seq2seq.data.prepared import PreparedPair
from seq2seq.decode.shortlist import FILE, FREQUENT, PER_PIECE, Shortlist, build
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.metrics import paired_delta
from seq2seq.evaluate.scoring import prepared_set, set_domains, translate_and_score
from seq2seq.model.bundle import Bundle, file_sha256

MAX_DELTA = 0.3
VARIANTS = {
    "exact": {},
    "shortlist": {"shortlist": True},
    "int8": {"precision": "int8"},
    "shortlist+int8": {"shortlist": True, "precision": "int8"},
}


def build_shortlist(bundle: Bundle, prepared: PreparedPair, per_piece: int, frequent: int):
    """The shortlist of the bundle's training pairs (the prepared folder's train files, read
    with the bundle's own tokenizers)."""
    cfg = bundle.cfg.data
    files = [prepared.path("train", lang) for lang in (cfg.src_lang, cfg.tgt_lang)]
    for file in files:
        if not file.is_file():
            raise DataError(
                f"{file}: missing; the shortlist is built from the model's training pairs: "
                f"give the prepared data root it was trained on with --data-root"
            )
    src, tgt = (f.read_text(encoding="utf-8").splitlines() for f in files)
    if len(src) != len(tgt):
        raise DataError(f"{files[1]}: {len(tgt)} lines, but {files[0]} has {len(src)}")
    pairs = zip(map(bundle.src_vocab.encode, src), map(bundle.tgt_vocab.encode, tgt))
    sizes = len(bundle.src_vocab), len(bundle.tgt_vocab)
    return build(pairs, *sizes, per_piece=per_piece, frequent=frequent), len(src)


def speedup(
    model: str | Path,
    data_root: Path | None = None,
    out: Path | None = None,
    max_delta: float = MAX_DELTA,
    command: str = "",
    per_piece: int = PER_PIECE,
    frequent: int = FREQUENT,
) -> dict:
    """Compare the four searches on dev, choose, and write the bundle (in place, or to `out`
    as a copy); returns the record kept in its metadata."""
    exact = Translator.load(model, **EXACT_SEARCH)
    bundle = exact.bundle
    cfg = bundle.cfg.data
    root = Path(data_root) if data_root is not None else Path(cfg.root)
    prepared = PreparedPair(root / cfg.folder(cfg.direction))
    shortlist, train_pairs = build_shortlist(bundle, prepared, per_piece, frequent)
    bundle.derived["shortlist"] = shortlist
    dev = cfg.dev_set
    src, refs, ref_names = prepared_set(prepared, dev, cfg.src_lang, cfg.tgt_lang)
    domains = set_domains(prepared, dev, exact)
    # Into English BLEU (four references on the Post et al. dev sets); into the Indic
    # languages chrF++, by which they are judged (one reference: BLEU stays near 0).
    metric = "BLEU" if cfg.tgt_lang == "en" else "chrF++"
    rows, hyps = [], {}
    for name, settings in VARIANTS.items():
        translator = exact.with_decode(**settings)
        translator.translate(src[: translator.decode.batch_size])  # warm-up: copies, caches
        result = translate_and_score(translator, src, refs, dev, None, ref_names, None, domains)
        hyps[name] = result.hyps
        delta = paired_delta(hyps["exact"], result.hyps, refs, metric)
        same = sum(a == b for a, b in zip(hyps["exact"], result.hyps)) / len(src)
        rows.append(
            {
                "variant": name,
                "BLEU": result.scores.bleu.score,
                "chrF++": result.scores.chrf.score,
                "delta": [delta.score, delta.low, delta.high],
                "identical_outputs": round(same, 4),
                "sentences_per_s": round(len(src) / result.seconds, 1),
            }
        )
    eligible = [r for r in rows if abs(r["delta"][0]) <= max_delta]
    chosen = max(eligible, key=lambda r: r["sentences_per_s"])
    record = {
        "dev_set": dev,
        "sentences": len(src),
        "metric": metric,
        "max_delta": max_delta,
        "beam_size": exact.decode.beam_size,
        "shortlist": {"per_piece": per_piece, "frequent": frequent, "train_pairs": train_pairs},
        "variants": rows,
        "chosen": chosen["variant"],
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "date": date.today().isoformat(),
        "command": command,
    }
    _write(bundle, shortlist, VARIANTS[chosen["variant"]], record, out or bundle.path)
    return record


def _write(bundle: Bundle, shortlist: Shortlist, chosen: dict, record: dict, target: Path) -> None:
    """The bundle folder with the shortlist, the chosen settings and the record, written
    whole (a folder of its own, or in place of the old one)."""
    decode = replace(bundle.cfg.decode, **(EXACT_SEARCH | chosen))
    cfg = replace(bundle.cfg, decode=decode)
    with atomic_dir(target) as tmp:
        shutil.copytree(bundle.path, tmp, dirs_exist_ok=True)
        shortlist.save(tmp / FILE)
        (tmp / "config.json").write_text(config_to_json(cfg) + "\n", encoding="utf-8")
        metadata = json.loads((tmp / "metadata.json").read_text(encoding="utf-8"))
        metadata["sha256"] |= {name: file_sha256(tmp / name) for name in ("config.json", FILE)}
        metadata["speedup"] = record
        (tmp / "metadata.json").write_text(
            json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )


def format_record(record: dict) -> str:
    """The comparison as a few lines for people."""
    m = record["metric"]
    lines = [
        f"{record['dev_set']} ({record['sentences']} sentences, beam {record['beam_size']}, "
        f"{record['cpu']}, {record['threads']} threads): {m} against exact search, 95% paired "
        f"bootstrap; switched on within ±{record['max_delta']}"
    ]
    for r in record["variants"]:
        d = r["delta"]
        lines.append(
            f"  {r['variant']:15s} BLEU {r['BLEU']:6.2f}  chrF++ {r['chrF++']:6.2f}  "
            f"Δ{m} {d[0]:+.2f} [{d[1]:+.2f}, {d[2]:+.2f}]  identical {r['identical_outputs']:.1%}"
            f"  {r['sentences_per_s']:8.1f} sentences/s"
        )
    lines.append(f"chosen: {record['chosen']}")
    return "\n".join(lines)
