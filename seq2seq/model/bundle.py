"""The model bundle: one folder with everything translate, evaluate and plots need.

    models/hi-en/
      model.safetensors   weights (no pickle anywhere)
      config.json         the resolved experiment config
      src.spm.model       SentencePiece model of the source language
      tgt.spm.model       SentencePiece model of the target language
      metadata.json       format, direction, sizes, training steps, dev BLEU, file checksums
                          (and `tokenizers`: the folder, up from this one, that holds the two
                          .spm.model files instead: an ensemble entry's members share its own)
      shortlist.safetensors  (optional) the vocabulary shortlist, seq2seq speedup

Written to a temporary folder and renamed into place; loading checks every checksum, so a
truncated or edited file is reported instead of half-loaded. Weights are stored in fp32, or for
the model store in fp16, or in int8 with one scale per row of each matrix (vectors in fp16):
format version 2 names them in `weights`; version 1 bundles, always fp32, still load. They are
loaded into an fp32 model either way.

A model is found by path or by name (`find_bundle`): `--model hi-en` is a folder `hi-en` if
there is one, else `models/hi-en` (trained here), else `pretrained/hi-en` (the store kept in
the repository, seq2seq/evaluate/store.py).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, load_model, save_file, save_model

from indic_common.atomic import atomic_dir, remove_stale
from indic_common.errors import BundleError, ConfigError
from seq2seq.config import ExperimentConfig, config_from_dict, config_to_json
from seq2seq.model.network import Seq2Seq, build_model
from seq2seq.model.vocab import Vocab

log = logging.getLogger(__name__)

FORMAT = "indic-seq2seq-bundle"
VERSION = 2  # 2: `weights` names the stored dtype; 1: fp32, no `weights` key
READABLE = (1, 2)
WEIGHTS = {"float32": torch.float32, "float16": torch.float16, "int8": torch.int8}
SCALE = ".row_scale"  # int8 weights: the tensor of each matrix's per-row scales
# Where names are looked up, in order: models trained here, then the store in the repository.
MODELS = Path("models")
STORE = Path(__file__).resolve().parents[2] / "pretrained"
_TOKENIZERS = ("src.spm.model", "tgt.spm.model")
_FILES = ("model.safetensors", "config.json", *_TOKENIZERS)
# The metadata keys save_bundle writes itself; every other key came in its `info`.
_OWN_KEYS = (
    "format",
    "version",
    "weights",
    "direction",
    "directions",
    "pair",
    "src_lang",
    "tgt_lang",
    "src_vocab_size",
    "tgt_vocab_size",
    "parameters",
    "tokenizers",
    "sha256",
)


@dataclass
class Bundle:
    """A loaded bundle: the model in eval mode, its config, vocabularies and metadata."""

    model: Seq2Seq  # or, from ensemble.join_bundles, an Ensemble of several
    cfg: ExperimentConfig
    src_vocab: Vocab
    tgt_vocab: Vocab
    metadata: dict
    path: Path
    # What decoding derives from the model once (its int8 copy, its shortlist), by name.
    derived: dict = field(default_factory=dict, repr=False, compare=False)


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_bundle(
    path: Path,
    model: Seq2Seq,
    cfg: ExperimentConfig,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    info: dict,
    weights: str = "float32",
    tokenizers: str | None = None,
) -> Path:
    """Write a bundle folder atomically; `info` adds training facts (steps, dev BLEU, ...).
    `weights`: how they are stored: float32, float16 (half the size) or int8 (a quarter, with
    per-row scales), the last two for the model store. `tokenizers`: a folder up from `path`
    (`../..`) that already holds these vocabularies' two files: they are not written again,
    only checksummed (the store's ensemble members)."""
    protos = dict(zip(_TOKENIZERS, (src_vocab.model_proto, tgt_vocab.model_proto)))
    if tokenizers is not None:
        shared = _tokenizer_folder(path, {"tokenizers": tokenizers})
        if not holds_vocabularies(shared, src_vocab, tgt_vocab):
            raise BundleError(
                f"{shared}: its .spm.model files missing, or not this model's vocabulary"
            )
    remove_stale(path.parent)
    with atomic_dir(path) as tmp:
        if weights == "int8":
            save_file(quantize_int8(model), str(tmp / "model.safetensors"))
        else:
            stored = model if weights == "float32" else copy.deepcopy(model).to(WEIGHTS[weights])
            save_model(stored, str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(config_to_json(cfg) + "\n", encoding="utf-8")
        if tokenizers is None:
            for name, proto in protos.items():
                (tmp / name).write_bytes(proto)
        sums = {n: file_sha256(tmp / n) for n in _FILES if n not in protos}
        sums |= {n: hashlib.sha256(proto).hexdigest() for n, proto in protos.items()}
        metadata = {
            "format": FORMAT,
            "version": VERSION,
            "weights": weights,
            "direction": cfg.data.direction,
            "directions": cfg.data.directions,
            "pair": cfg.data.pair,
            "src_lang": cfg.data.src_lang,
            "tgt_lang": cfg.data.tgt_lang,
            "src_vocab_size": len(src_vocab),
            "tgt_vocab_size": len(tgt_vocab),
            "parameters": model.num_parameters(),
            **info,
            **({"tokenizers": tokenizers} if tokenizers is not None else {}),
            "sha256": {name: sums[name] for name in _FILES},
        }
        (tmp / "metadata.json").write_text(
            json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return path


def holds_vocabularies(folder: Path, src_vocab: Vocab, tgt_vocab: Vocab) -> bool:
    """Whether `folder` has these two vocabularies' files, byte for byte (a bundle's
    tokenizers, which another bundle of the same vocabularies may share)."""
    protos = dict(zip(_TOKENIZERS, (src_vocab.model_proto, tgt_vocab.model_proto)))
    return all((folder / n).is_file() and (folder / n).read_bytes() == p for n, p in protos.items())


def _tokenizer_folder(path: Path, metadata: dict) -> Path:
    """Where a bundle's two .spm.model files are: its own folder, or the one up from it that
    its metadata names (`tokenizers`, e.g. `../..`: a stored ensemble's member)."""
    up = metadata.get("tokenizers")
    if up is None:
        return path
    if not isinstance(up, str) or set(Path(up).parts) != {".."}:
        raise BundleError(
            f"{path / 'metadata.json'}: tokenizers {up!r} is not a folder up from the bundle "
            "(such as ../..); copy the bundle again"
        )
    return Path(os.path.normpath(path / up))  # lexically: `path` may not exist yet


def quantize_int8(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights for an int8 bundle: each matrix (embeddings, LSTM gates, the output
    layer) as int8 with one fp32 scale per row (the row's largest magnitude over 127, rows along
    dim 0), each vector in fp16. A tensor shared under two names (a tied output layer) once."""
    out: dict[str, torch.Tensor] = {}
    seen: set[int] = set()
    for name, tensor in model.state_dict().items():
        if tensor.data_ptr() in seen:
            continue
        seen.add(tensor.data_ptr())
        t = tensor.detach().float().cpu()
        if t.ndim < 2:
            out[name] = t.to(torch.float16).contiguous()
            continue
        rows = t.reshape(t.shape[0], -1)
        scale = rows.abs().amax(dim=1).clamp(min=1e-12) / 127
        q = torch.round(rows / scale[:, None]).clamp(-127, 127).to(torch.int8)
        out[name] = q.reshape(t.shape).contiguous()
        out[name + SCALE] = scale.contiguous()
    return out


def _load_int8(model: torch.nn.Module, file: Path) -> None:
    """Load an int8 bundle's weights into the fp32 `model`: each matrix times its row scales.
    A name left out must share its tensor with one that is there (a tied output layer)."""
    tensors = load_file(str(file))
    state = {}
    for name, t in tensors.items():
        if name.endswith(SCALE):
            continue
        if t.dtype == torch.int8:
            scale = tensors[name + SCALE]
            t = (t.reshape(t.shape[0], -1).float() * scale[:, None]).reshape(t.shape)
        state[name] = t.float()
    missing, unexpected = model.load_state_dict(state, strict=False)
    own = model.state_dict()
    present = {own[n].data_ptr() for n in state if n in own}
    untied = [n for n in missing if own[n].data_ptr() not in present]
    if unexpected or untied:
        raise RuntimeError(f"weights not of this model: {', '.join((unexpected + untied)[:3])}")


def training_info(metadata: dict) -> dict:
    """The training facts of a bundle's metadata (steps, dev BLEU, ...): the `info` that
    save_bundle was given, without the keys it writes itself."""
    return {k: v for k, v in metadata.items() if k not in _OWN_KEYS}


def read_metadata(path: Path) -> dict:
    """Check that `path` is a bundle folder of ours and return its metadata."""
    meta_path = path / "metadata.json"
    if not path.is_dir():
        raise BundleError(
            f"{path}: no such model folder, nor {MODELS / path.name} or "
            f"{_shown(STORE / path.name)}; train one with `make train`, or list the models "
            "there are with `seq2seq models`"
        )
    if not meta_path.is_file():
        raise BundleError(
            f"{path}: not a model bundle (metadata.json missing); pass a folder "
            "written by `seq2seq train`"
        )
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleError(
            f"{meta_path}: not valid JSON; the bundle is damaged, train or copy it again"
        ) from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise BundleError(
            f"{path}: not an {FORMAT} folder (metadata.json format is "
            f"{metadata.get('format') if isinstance(metadata, dict) else None!r})"
        )
    if metadata.get("version") not in READABLE or metadata.get("weights", "float32") not in WEIGHTS:
        raise BundleError(
            f"{path}: bundle version {metadata.get('version')} with "
            f"{metadata.get('weights', 'float32')} weights is not supported (this toolkit "
            f"reads versions {', '.join(map(str, READABLE))}, weights {', '.join(WEIGHTS)}); "
            "update indic-seq2seq"
        )
    return metadata


def _shown(path: Path) -> Path:
    """`path` relative to the working folder where it lies below it (shorter messages)."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def find_bundle(model: str | Path) -> Path:
    """The folder of a model given by path or by name: the path when it is a folder, else
    models/<name>, else pretrained/<name> (the store); logs which it took. A name found
    nowhere is returned as given, for read_metadata's error."""
    path = Path(model)
    if path.is_dir():
        return path
    for place in (MODELS / path.name, STORE / path.name):
        if len(path.parts) == 1 and (place / "metadata.json").is_file():
            log.info("model %s: %s", model, _shown(place))
            return place
    return path


def load_bundle(path: Path, device: str | torch.device = "cpu") -> Bundle:
    """Load a bundle (a folder, or a name `find_bundle` resolves); a missing, truncated or
    edited file raises BundleError."""
    path = find_bundle(path)
    metadata = read_metadata(path)
    # The required files, and any other the bundle lists (a shortlist, seq2seq speedup).
    shared = _tokenizer_folder(path, metadata)
    for name in dict.fromkeys([*_FILES, *metadata.get("sha256", {})]):
        file = (shared if name in _TOKENIZERS else path) / name
        if not file.is_file():
            raise BundleError(f"{file}: missing from the bundle; train or copy it again")
        if file_sha256(file) != metadata["sha256"].get(name):
            raise BundleError(
                f"{file}: checksum does not match metadata.json (truncated or "
                "modified); train or copy the bundle again"
            )
    try:
        cfg = config_from_dict(
            json.loads((path / "config.json").read_text(encoding="utf-8")),
            str(path / "config.json"),
        )
    except ConfigError as e:
        raise BundleError(str(e)) from None
    src_vocab = Vocab.from_file(shared / "src.spm.model")
    tgt_vocab = Vocab.from_file(shared / "tgt.spm.model")
    model = build_model(cfg.model, len(src_vocab), len(tgt_vocab))
    try:  # fp16 weights are cast into the fp32 model's parameters, int8 ones scaled
        if metadata.get("weights") == "int8":
            _load_int8(model, path / "model.safetensors")
        else:
            load_model(model, str(path / "model.safetensors"), device=str(device))
    except (SafetensorError, RuntimeError, KeyError) as e:
        raise BundleError(
            f"{path / 'model.safetensors'}: cannot load weights: {str(e).splitlines()[0]}"
        ) from None
    model.to(device).eval()
    return Bundle(model, cfg, src_vocab, tgt_vocab, metadata, path)
