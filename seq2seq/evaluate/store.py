"""The model store: trained models kept in the repository as compact bundles, so that they
outlive the machine that trained them.

    pretrained/
      LICENSE          the weights' terms (not the code's licence)
      <name>/          one entry, e.g. hi-en: a bundle with fp16 weights (bundle.py)
        model.safetensors  config.json  src.spm.model  tgt.spm.model  metadata.json
        README.md      the model card, rendered from metadata.json (`render_card`)
        scores.json    dev and test scores (`scores_of`), from metadata.json too

`store_model` makes an entry from a trained bundle. The compact copy must decode the dev set
within MAX_DELTA BLEU and chrF++ of its fp32 original (the share of identical outputs is
recorded); its scores on every dev set of its prepared folder (the one it was selected on
first) and on the test sets, with bootstrap intervals, twenty dev samples with their
references, and its outputs for three fixed sentences go into its metadata (`store`), and the
card and scores.json are rendered from that metadata, so the three cannot disagree. An entry
is replaced only by a model that beats it on dev beyond noise (paired bootstrap on the
metric the model was selected on). Decoding loads the fp16 weights into the fp32 model.

A multilingual model is stored for one of its directions (`direction`): the entry's config
translates that direction alone, the target's tag still read before each source, and its card
names the directions it was trained on; the same model may be stored for several directions.

Test sets are scored once: `store_model(..., tests=False)` keeps a model chosen on dev
without looking at a test set, and `score_entry(entry, "test")` scores the entry that dev
chose, at the close of the work (it refuses an entry whose tests are scored);
`score_entry(entry, "dev")` adds dev sets prepared after the entry was written.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, replace
from datetime import date
from pathlib import Path

from indic_common.atomic import atomic_dir, remove_stale, write_text
from indic_common.errors import BundleError, DataError
from indic_common.languages import language
from seq2seq.data.prepared import PreparedPair
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.metrics import paired_delta
from seq2seq.evaluate.scoring import TestScore, evaluate_split
from seq2seq.model.bundle import (
    MODELS,
    STORE,
    Bundle,
    holds_vocabularies,
    load_bundle,
    read_metadata,
    save_bundle,
    training_info,
)
from seq2seq.model.ensemble import join_bundles

log = logging.getLogger(__name__)

ENTRY_LIMIT_MB = 24.0  # one entry, every member of an ensemble included
STORE_LIMIT_MB = 120.0  # all of pretrained/
MAX_DELTA = 0.2  # |BLEU| and |chrF++| change a compact copy may make on dev
LABELS = {"float16": "fp16", "int8": "int8"}  # a compact copy's name in the record and card
SAMPLES = 20  # dev lines shown with their references on the card, each read by eye


def size_mb(folder: Path) -> float:
    """The size of a folder's files, in MB (10^6 bytes)."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def store_model(
    model: Path,
    name: str,
    store: Path = STORE,
    data_root: Path | None = None,
    commands: list[str] | None = None,
    cpu: str | None = None,
    notes: str = "",
    weights: str = "float16",
    ensemble: Sequence[Path] = (),
    tests: bool = True,
    direction: str | None = None,
) -> Path:
    """Put the bundle `model` into `store/<name>/` as a compact copy (`weights`: float16, or
    int8 with per-row scales) with its card.

    `ensemble`: more bundles decoded with it as one model; each is stored compact under
    `members/` and named in the entry's `ensemble_members`, and the entry's size limit covers
    them all. `commands`: the commands that made `model`, in order (base run, continuation,
    fine-tuning). `cpu`: where it trained, when its metadata does not say. `notes`: what it
    gets wrong, read by eye. `tests`: score the test sets now (else `score_entry` does it
    once, later). `direction`: the one a multilingual model is stored for. Raises
    BundleError when the copy moves dev scores by more than MAX_DELTA, when it does not beat
    the entry it would replace, or when it breaks a size limit.
    """
    if weights not in ("float16", "int8"):
        raise BundleError(f"weights {weights!r}: the store keeps float16 or int8")
    first = narrowed(load_bundle(model), direction)
    others = [narrowed(load_bundle(m), direction) for m in ensemble]
    for b in (first, *others):
        if not b.cfg.decode.exact:
            raise BundleError(
                f"{b.path}: its config records decoding speed-ups (seq2seq speedup); store "
                "the model it was made from: an entry is scored with exact search"
            )
    original = join_bundles(first, others) if others else first
    root = data_root or Path(original.cfg.data.root)
    # a compact copy keeps the training facts; save_bundle writes the rest from its config
    info = {k: v for k, v in training_info(first.metadata).items() if k != "store"}
    places = [f"members/{n}-{b.path.name}" for n, b in enumerate(others, 1)]
    if places:
        info["ensemble_members"] = places
    store.mkdir(parents=True, exist_ok=True)
    remove_stale(store)
    with atomic_dir(store / name) as tmp:
        save_bundle(
            tmp, first.model, first.cfg, first.src_vocab, first.tgt_vocab, info, weights=weights
        )
        members = _store_members(tmp, zip(places, others), weights)
        compact = load_bundle(tmp)
        if members:
            compact = join_bundles(compact, [load_bundle(tmp / m["path"]) for m in members])
        record = _measure(original, compact, root, weights, tests)
        record["members"] = members
        _check_replacement(store / name, record, root, compact)
        meta = first.metadata
        record |= {
            "name": name,
            "stored": date.today().isoformat(),
            "source": {"path": str(model), "sha256": meta["sha256"]["model.safetensors"]},
            "model": asdict(first.cfg.model),
            "stages": _stages(commands or [], meta, cpu),
            "init_from": first.cfg.train.init_from,
            "training_data": _training_data(root, first),
            "notes": notes,
        }
        metadata = json.loads((tmp / "metadata.json").read_text(encoding="utf-8"))
        metadata["store"] = record
        write_record(tmp, metadata)
        _check_sizes(tmp, store, name)
    log.info("stored %s as %s (%.1f MB)", model, store / name, size_mb(store / name))
    return store / name


def narrowed(bundle: Bundle, direction: str | None) -> Bundle:
    """`bundle` translating `direction` alone: a multilingual model's config narrowed to that
    direction (its sources still read after the target's tag), the directions it was trained
    on kept in its metadata (`trained_directions`). A bilingual bundle comes back as it is."""
    data = bundle.cfg.data
    if direction is None and len(data.directions) > 1:
        raise BundleError(
            f"{bundle.path}: a multilingual model ({', '.join(data.directions)}); an entry "
            "keeps one direction: name it (--direction bn-en)"
        )
    if direction is None or (direction == data.direction and not data.pairs):
        return bundle  # bilingual, or already one direction
    if direction not in data.directions:
        raise BundleError(
            f"{bundle.path} does not translate {direction}; its directions: "
            f"{', '.join(data.directions)}"
        )
    src, tgt = direction.split("-")
    cfg = replace(bundle.cfg, data=replace(data, src_lang=src, tgt_lang=tgt, pairs=[direction]))
    trained = bundle.metadata.get("trained_directions", data.directions)
    metadata = bundle.metadata | {"trained_directions": trained}
    return replace(bundle, cfg=cfg, metadata=metadata, derived={})


def _store_members(entry: Path, others: Iterable[tuple[str, Bundle]], weights: str) -> list[dict]:
    """Each further member of an ensemble, stored compact at its place under `entry`, as the
    card names it: where it is, where it came from, its budget."""
    members = []
    for path, bundle in others:
        # its training facts, and the record of the entry it came from (a stored member)
        info = training_info(bundle.metadata)
        info.pop("ensemble_members", None)
        # the entry's own tokenizers serve a member of the same vocabularies: kept once
        same = holds_vocabularies(entry, bundle.src_vocab, bundle.tgt_vocab)
        shared = "../.." if same else None
        m = bundle.model
        save_bundle(
            entry / path, m, bundle.cfg, bundle.src_vocab, bundle.tgt_vocab, info, weights, shared
        )
        meta = bundle.metadata
        members.append(
            {
                "path": path,
                "source": str(bundle.path),
                "sha256": meta["sha256"]["model.safetensors"],
                "weights": meta.get("weights", "float32"),
                "updates": meta.get("training_steps"),
                "minutes": round(meta.get("train_seconds", 0) / 60, 1),
                "cpu": meta.get("cpu") or meta.get("store", {}).get("stages", [{}])[-1].get("cpu"),
            }
        )
    return members


def _stages(commands: list[str], meta: dict, cpu: str | None) -> list[dict]:
    """The commands that made the model; the last carries the bundle's own budget (updates,
    minutes and the CPU they were spent on)."""
    stages: list[dict] = [{"command": command} for command in commands]
    if stages:
        stages[-1] |= {
            "updates": meta.get("training_steps"),
            "minutes": round(meta.get("train_seconds", 0) / 60, 1),
            "cpu": meta.get("cpu") or cpu or "an unrecorded CPU",
        }
    return stages


def _summary(result: TestScore) -> dict:
    """The card's figures of a scored set: TestScore.summary's, with the reference count."""
    full = result.summary()
    kept = {k: full[k] for k in ("BLEU", "BLEU_ci", "chrF++", "length_ratio", "sentences")}
    return kept | {"references": len(full["references"])}


def _dev(bundle: Bundle, root: Path) -> TestScore:
    """The bundle's dev set (data.dev_set) decoded with its own settings."""
    translator = Translator(bundle, bundle.cfg.decode)
    (result,) = evaluate_split(translator, root, bundle.cfg.data.dev_set, None)
    return result


def _other_devs(translator: Translator, root: Path, first: str) -> dict:
    """The scores of every dev set of the prepared folder but `first` (the selection dev)."""
    cfg = translator.bundle.cfg.data
    names = PreparedPair(root / cfg.folder(cfg.direction)).dev_sets()
    return {
        r.name: _summary(r)
        for name in names
        if name != first
        for r in evaluate_split(translator, root, name, None)
    }


def _tests(translator: Translator, root: Path) -> dict:
    return {r.name: _summary(r) for r in evaluate_split(translator, root, "test", None)}


def _measure(
    original: Bundle, compact: Bundle, root: Path, weights: str, tests: bool = True
) -> dict:
    """The compact copy against its original on dev; then its scores on every dev set (and
    the test sets when `tests`), samples and the outputs of the fixed sentences, all decoded
    by the compact copy."""
    label = LABELS[weights]
    dev32, dev16 = _dev(original, root), _dev(compact, root)
    s32, s16 = _summary(dev32), _summary(dev16)
    delta = {m: round(s16[m] - s32[m], 2) for m in ("BLEU", "chrF++")}
    if any(abs(d) > MAX_DELTA for d in delta.values()):
        raise BundleError(
            f"{original.path}: its {label} copy moves the dev scores by {delta}, more than "
            f"{MAX_DELTA}; it is not stored"
        )
    identical = sum(a == b for a, b in zip(dev32.hyps, dev16.hyps)) / len(dev16.hyps)
    translator = Translator(compact, compact.cfg.decode)
    cfg = compact.cfg.data
    folder = root / cfg.folder(cfg.direction)
    src = (folder / f"{dev16.name}.{cfg.src_lang}").read_text(encoding="utf-8").splitlines()
    refs = Path(dev16.references[0]).read_text(encoding="utf-8").splitlines()
    fixed = list(language(cfg.src_lang).samples)
    return {
        "direction": cfg.direction,
        "compact": {
            "weights": weights,
            "dev_set": dev16.name,
            "fp32": {m: s32[m] for m in ("BLEU", "chrF++")},
            label: {m: s16[m] for m in ("BLEU", "chrF++")},
            "delta": delta,
            "identical_outputs": round(identical, 4),
        },
        "decode": {
            k: getattr(compact.cfg.decode, k)
            for k in ("beam_size", "min_len_ratio", "no_repeat_ngram", "length_penalty")
        },
        "dev": {dev16.name: s16} | _other_devs(translator, root, dev16.name),
        "tests": _tests(translator, root) if tests else {},
        "dev_hypotheses": dev16.hyps,
        "samples": [
            {"source": s, "reference": r, "output": h}
            for s, r, h in list(zip(src, refs, dev16.hyps))[:SAMPLES]
        ],
        "fixed": [{"source": s, "output": t} for s, t in zip(fixed, translator.translate(fixed))],
    }


def _check_replacement(entry: Path, record: dict, root: Path, compact: Bundle) -> None:
    """A stored entry is replaced only by a model that beats it on dev beyond noise."""
    if not (entry / "metadata.json").is_file():
        return
    old = read_metadata(entry).get("store", {})
    dev_name = record["compact"]["dev_set"]
    if dev_name not in old.get("dev", {}) or "dev_hypotheses" not in old:
        raise BundleError(
            f"{entry}: stored without its {dev_name} hypotheses; compare the two by hand "
            "(`seq2seq compare`) and remove the entry if the new model wins"
        )
    metric = "chrF++" if compact.cfg.train.select_metric == "chrf" else "BLEU"
    cfg = compact.cfg.data
    folder = root / cfg.folder(cfg.direction)
    refs = [
        p.read_text(encoding="utf-8").splitlines()
        for p in sorted(folder.glob(f"{dev_name}.{cfg.tgt_lang}*"))
        if p.suffix not in (".doc", ".domain")
    ]
    gain = paired_delta(old["dev_hypotheses"], record["dev_hypotheses"], refs, metric)
    record["replaced"] = {"metric": metric, "delta": gain.score, "ci": [gain.low, gain.high]}
    if gain.low <= 0:
        raise BundleError(
            f"{entry}: the new model does not beat the stored one on {dev_name} beyond noise "
            f"({metric} {gain.score:+.2f} [{gain.low:+.2f}, {gain.high:+.2f}]); the entry stays"
        )


def score_entry(entry: Path, what: str, data_root: Path | None = None) -> dict:
    """Score a stored entry with its own decoding settings, into its metadata, card and
    scores.json: `dev`, every dev set of its prepared folder besides the one it was chosen on
    (whose scores and hypotheses stay); `test`, its test sets, once (an entry whose tests are
    scored is refused).
    Returns the new scores."""
    if what not in ("dev", "test"):
        raise BundleError(f"score {what!r}: an entry's dev or test sets")
    metadata = read_metadata(entry)
    record = metadata.get("store")
    if record is None:
        raise BundleError(f"{entry}: not a stored entry (no store record in metadata.json)")
    if what == "test" and record["tests"]:
        raise BundleError(
            f"{entry}: its test sets were scored ({', '.join(record['tests'])}); a test set "
            "is scored once, for the model dev chose"
        )
    translator = Translator.load(entry)
    root = data_root or Path(translator.bundle.cfg.data.root)
    if what == "test":
        record["tests"] = found = _tests(translator, root)
    else:
        first = record["compact"]["dev_set"]
        found = {first: record["dev"][first]} | _other_devs(translator, root, first)
        record["dev"] = found
    write_record(entry, metadata)
    return found


def _training_data(root: Path, bundle: Bundle) -> dict:
    """The corpora the model trained on and their licences, as data_prep recorded them."""
    # a multilingual model's: every direction's corpora (multi/meta.json)
    meta = root / bundle.cfg.data.pair / "meta.json"
    corpora = (
        json.loads(meta.read_text(encoding="utf-8")).get("corpora") if meta.is_file() else None
    )
    if not corpora:
        raise DataError(
            f"{meta}: no corpora recorded; prepare the data again (`make data PAIR=...`), "
            "which records each training corpus and its licence for the card"
        )
    return {
        "corpora": corpora,
        "synthetic": dict(bundle.cfg.data.synthetic),
        "forward": dict(bundle.cfg.data.forward),
        "upsample": dict(bundle.cfg.data.upsample),
    }


def _check_sizes(entry: Path, store: Path, name: str) -> None:
    size = size_mb(entry)
    if size > ENTRY_LIMIT_MB:
        raise BundleError(f"{name}: {size:.1f} MB, over the {ENTRY_LIMIT_MB:.0f} MB of an entry")
    # the other entries: not the one replaced, nor `entry` itself (written beside them)
    others = sum(
        size_mb(p)
        for p in store.iterdir()
        if p.is_dir() and p.name != name and p.resolve() != entry.resolve()
    )
    if others + size > STORE_LIMIT_MB:
        raise BundleError(
            f"{store}: {others + size:.1f} MB with {name}, over its {STORE_LIMIT_MB:.0f} MB"
        )


def scores_of(metadata: dict) -> dict:
    """scores.json: the direction and its dev and test scores (BLEU with its interval,
    chrF++, hyp/ref length)."""
    record = metadata["store"]

    def keep(s: dict) -> dict:
        return {k: s[k] for k in ("BLEU", "BLEU_ci", "chrF++", "length_ratio")}

    return {
        "direction": record["direction"],
        "dev": {name: keep(s) for name, s in record["dev"].items()},
        "tests": {name: keep(s) for name, s in record["tests"].items()},
    }


def write_record(entry: Path, metadata: dict) -> None:
    """An entry's metadata.json, and the README.md and scores.json rendered from it."""
    write_text(entry / "metadata.json", json.dumps(metadata, indent=2, ensure_ascii=False) + "\n")
    write_text(entry / "README.md", render_card(metadata))
    write_text(entry / "scores.json", json.dumps(scores_of(metadata), indent=2) + "\n")


def _licence_terms(corpora: dict) -> str:
    """What the training corpora's licences imply for users of the weights."""
    licences = [c["licence"] for c in corpora.values()]
    terms = []
    if any("NC" in x or "non-commercial" in x.lower() for x in licences):
        terms.append(
            "some corpora allow non-commercial use only, so use these weights for research "
            "and other non-commercial purposes"
        )
    if any("SA" in x for x in licences):
        terms.append("some are share-alike: share what you derive from them under like terms")
    if any(x.lower().startswith("none") for x in licences):
        terms.append("one states no licence: ask its authors before any other use")
    return "; ".join(terms) or "every corpus allows reuse with attribution"


def _architecture(m: dict) -> str:
    attention = "Bahdanau attention" if m["attention"] != "none" else "no attention"
    return (
        f"{m['enc_layers']}-layer bidirectional LSTM encoder of {m['hidden_dim']} per "
        f"direction, {m['dec_layers']}-layer LSTM decoder of {m['hidden_dim']}, {attention}, "
        f"embeddings of {m['emb_dim']}, dropout {m['dropout']}"
        + (", output layer tied to the target embeddings" if m.get("tie_output") else "")
    )


def render_card(metadata: dict) -> str:
    """The model card (after Mitchell et al. 2019) of a stored entry, from its metadata."""
    r = metadata["store"]
    src, tgt = language(metadata["src_lang"]).name, language(metadata["tgt_lang"]).name
    c, d = r["compact"], r["decode"]
    lines = [
        f"# {r['name']}: {src} → {tgt}",
        "",
        f"A model of indic-seq2seq kept in the repository: `seq2seq translate --model "
        f'{r["name"]} "…"` uses it with no training. Intended use: translating sentences of '
        f"encyclopaedic prose (Wikipedia) and short image captions from {src} into {tgt}, "
        "offline, as a baseline to build on. Not for decisions about people, nor for text "
        "where a wrong translation can harm: read the scores and the errors below first.",
        "",
        "## Model",
        "",
        f"- {_architecture(r['model'])}; {metadata['parameters']:,} parameters.",
        _vocabularies(metadata, r["name"]),
        f"- Stored with {c['weights']} weights (stored {r['stored']}), loaded into fp32 for "
        "decoding.",
        f"- Decoding: beam {d['beam_size']}, length penalty {d['length_penalty']}, length "
        f"floor {d['min_len_ratio']} × the source, no repeated {d['no_repeat_ngram']}-grams.",
        "",
        "## How it was made",
        "",
    ]
    for i, stage in enumerate(r["stages"]):
        kind = "base run" if i == 0 else "then"
        budget = (
            f": {stage['updates']:,} updates, {stage['minutes']} minutes on {stage['cpu']}"
            if stage.get("updates")
            else ""
        )
        lines.append(f"- {kind}: `{stage['command']}`{budget}")
    if r.get("init_from"):
        lines.append(f"- Its last stage started from `{r['init_from']}`.")
    for m in r.get("members", []):
        kept = "as stored there" if m["weights"] != "float32" else "fp32"
        lines.append(
            f"- Decoded together with `{m['path']}` (an ensemble: the mean of the members' "
            f"distributions at each step): from `{m['source']}` ({kept}), {m['updates']:,} "
            f"updates, {m['minutes']} minutes on {m['cpu']}; its own stages in "
            f"`{m['path']}/metadata.json`."
        )
    lines += [
        f"- Precision {metadata.get('precision', {}).get('chosen', '?')}; "
        f"{metadata.get('train_pairs', 0):,} training pairs; best dev score at update "
        f"{metadata.get('best_step', '?'):,}"
        + (" (the mean of the best checkpoints was kept)" if _averaged(metadata) else "")
        + ".",
        "- Continuing it is a warm restart: the weights only, without the optimizer's or the "
        "schedule's state.",
        "",
        "## Training data",
        "",
        "| corpus | what | licence | parts |",
        "|---|---|---|---|",
    ]
    corpora = r["training_data"]["corpora"]
    for name, corpus in corpora.items():
        parts = ", ".join(corpus["parts"])
        lines.append(f"| {name} | {corpus['description']} | {corpus['licence']} | {parts} |")
    for part, weight in r["training_data"]["synthetic"].items():
        lines.append(f"| synthetic {part} (×{weight}) | back-translated | as its source | |")
    for part, weight in r["training_data"].get("forward", {}).items():
        what = "real sources, a model's translations as targets"
        lines.append(f"| forward {part} (×{weight}) | {what} | as its source | |")
    lines += [
        "",
        f"What that means for users: {_licence_terms(corpora)}. The weights are not under the "
        "code's licence: see `pretrained/LICENSE`.",
        "",
        "## Scores",
        "",
        "sacrebleu 2.6.0 (BLEU `tok:13a`, chrF++ `nc:6 nw:2`), decoded as above; BLEU with "
        "its 95% bootstrap interval over sentences.",
        "",
        "| set | sentences | references | BLEU [95%] | chrF++ | hyp/ref length |",
        "|---|---|---|---|---|---|",
    ]
    for kind, table in (("dev", r["dev"]), ("test", r["tests"])):
        for name, s in table.items():
            low, high = s["BLEU_ci"]
            lines.append(
                f"| {name} ({kind}) | {s['sentences']} | {s['references']} | "
                f"{s['BLEU']:.2f} [{low:.2f}, {high:.2f}] | {s['chrF++']:.2f} | "
                f"{s['length_ratio']} |"
            )
    if not r["tests"]:
        lines += [
            "",
            "Its test sets are not scored yet: dev chose this model, and a test set is scored "
            f"once, at the close of that work (`seq2seq store --score test --name {r['name']}`).",
        ]
    label = LABELS[c["weights"]]
    original = "original" if r.get("members") else "fp32 original"
    lines += [
        "",
        f"The {label} copy against its {original} on {c['dev_set']}: BLEU "
        f"{c['fp32']['BLEU']:.2f} → {c[label]['BLEU']:.2f} ({c['delta']['BLEU']:+.2f}), "
        f"chrF++ {c['fp32']['chrF++']:.2f} → {c[label]['chrF++']:.2f} "
        f"({c['delta']['chrF++']:+.2f}); {c['identical_outputs']:.1%} of the outputs are "
        "identical.",
    ]
    if "replaced" in r:
        rep = r["replaced"]
        lines += [
            "",
            f"It replaced the entry before it: dev {rep['metric']} {rep['delta']:+.2f} "
            f"[{rep['ci'][0]:+.2f}, {rep['ci'][1]:+.2f}] (paired bootstrap).",
        ]
    lines += ["", f"## Samples (the first lines of {c['dev_set']})", ""]
    for s in r["samples"]:
        lines += [
            f"- {s['source']}",
            f"  - output: {s['output']}",
            f"  - reference: {s['reference']}",
        ]
    lines += ["", "## Three fixed sentences (the store's tests expect these outputs)", ""]
    lines += [f"- {s['source']} → {s['output']}" for s in r["fixed"]]
    lines += ["", "## What it gets wrong", "", r["notes"] or "Not yet read by eye.", ""]
    return "\n".join(lines)


def _vocabularies(metadata: dict, name: str) -> str:
    """The card's line on the entry's tokenizers, and for a multilingual model what else it
    was trained to translate."""
    sizes = f"{metadata['src_vocab_size']:,} and {metadata['tgt_vocab_size']:,} pieces"
    trained = metadata.get("trained_directions", [])
    if len(trained) > 1:
        tag = f"<2{metadata['tgt_lang']}>"
        return (
            f"- One multilingual model trained on {len(trained)} directions together "
            f"({', '.join(d.replace('-', '→') for d in trained)}), stored for "
            f"{metadata['direction'].replace('-', '→')}: each source is read after `{tag}`. "
            f"Its joint SentencePiece vocabularies of {sizes} are pinned in the entry "
            "(`src.spm.model`, `tgt.spm.model`)."
        )
    return (
        f"- SentencePiece vocabularies of {sizes}, pinned in the entry (`src.spm.model`, "
        f"`tgt.spm.model`): `python -m data_prep {metadata['pair']} --tokenizer-from "
        f"pretrained/{name}` prepares data with them, to continue the model "
        "(`train.init_from`) or ensemble it with a new run."
    )


def _averaged(metadata: dict) -> bool:
    return bool(metadata.get("averaged", {}).get("kept"))


def list_models(places: tuple[Path, ...] = (MODELS, STORE)) -> list[dict]:
    """Every bundle in `places` (models trained here, then the store): name, directions,
    place, size, headline dev score, and whether an earlier place shadows it."""
    found: list[dict] = []
    seen: set[str] = set()
    for place in places:
        if not place.is_dir():
            continue
        folders = (
            p for p in place.iterdir() if not p.name.startswith(".")
        )  # not one being written
        for folder in sorted(p for p in folders if (p / "metadata.json").is_file()):
            try:
                meta = read_metadata(folder)
            except BundleError as e:
                found.append({"name": folder.name, "place": str(folder), "error": str(e)})
                continue
            found.append(
                {
                    "name": folder.name,
                    "directions": meta.get("directions") or [meta.get("direction")],
                    "place": str(folder),
                    "size_mb": round(size_mb(folder), 1),
                    "headline": _headline(meta),
                    "shadowed": folder.name in seen,
                }
            )
            seen.add(folder.name)
    return found


def _headline(meta: dict) -> str:
    record = meta.get("store", {})
    for name, s in (*record.get("tests", {}).items(), *record.get("dev", {}).items()):
        if name.endswith("post2012"):
            return f"{name} BLEU {s['BLEU']:.2f}, chrF++ {s['chrF++']:.2f}"
    if "dev_chrf" in meta and meta.get("selected_on") == "chrf":
        return f"dev chrF++ {meta['dev_chrf']:.2f}"
    return f"dev BLEU {meta['dev_bleu']:.2f}" if "dev_bleu" in meta else "no score"
