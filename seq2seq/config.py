"""Experiment configuration: YAML -> frozen, typed dataclasses. The only module that reads YAML.

cfg = load_config(Path("configs/hi-en.yaml"), ["train.max_steps=50"])
Seq2Seq(cfg.model, src_vocab, tgt_vocab); TranslationTask(model, cfg.train, cfg.decode)
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dacite
import yaml

from indic_common.errors import ConfigError


@dataclass(frozen=True)
class DataConfig:
    """Where the prepared data is and how it is batched."""

    src_lang: str = "hi"
    tgt_lang: str = "en"
    root: str = "data"  # prepared pairs live in <root>/<pair>/
    batch_tokens: int = 2000  # per batch: sentences x their longest source or target
    max_len: int = 100  # longer training pairs (in pieces) are skipped
    dev_max_sents: int = 1000  # dev BLEU on at most this many sentences (the first ones)
    num_workers: int = 0
    # Repeat the training pairs of these parts (corpus/split as in train.origin, e.g.
    # post2012/dev: 3, or a whole corpus, post2012: 3) to weigh a small in-domain corpus
    # against a large out-of-domain one.
    upsample: dict[str, int] = field(default_factory=dict)

    @property
    def pair(self) -> str:
        """The prepared-data folder name: the Indic language, then "en"."""
        indic = self.tgt_lang if self.src_lang == "en" else self.src_lang
        return f"{indic}-en"

    @property
    def direction(self) -> str:
        """What the model translates, e.g. "hi-en" or "en-hi"."""
        return f"{self.src_lang}-{self.tgt_lang}"


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and options of the encoder-decoder."""

    emb_dim: int = 256
    hidden_dim: int = 256  # per direction in the encoder; the decoder's size
    enc_layers: int = 1
    dec_layers: int = 1
    attention: Literal["none", "bahdanau"] = "bahdanau"
    attn_dim: int = 256
    dropout: float = 0.2
    tie_output: bool = False  # target embedding shares weights with the softmax layer
    share_embeddings: bool = False  # source and target embeddings shared (joint vocabulary)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation, schedule, checkpoints and hardware."""

    seed: int = 1
    max_steps: int = 20000
    max_epochs: int = 1000
    max_time_minutes: float | None = None  # stop training after this wall-clock time
    lr: float = 0.001
    scheduler: Literal["plateau", "inverse_sqrt", "constant"] = "plateau"
    warmup_steps: int = 1000  # inverse_sqrt only
    plateau_factor: float = 0.5
    plateau_patience: int = 2  # validations without dev BLEU gain before the LR drops
    min_lr: float = 1.0e-5
    clip_norm: float = 1.0
    label_smoothing: float = 0.1
    val_every_steps: int = 500
    early_stopping_patience: int = 8  # validations without dev BLEU gain before stopping
    keep_best: int = 3
    accelerator: str = "cpu"  # cpu | gpu | auto
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"  # auto | ddp | ddp_spawn ...
    precision: str = "32-true"  # or bf16-mixed
    threads: int | None = None  # torch intra-op threads on CPU (None: torch's default)
    log_every_steps: int = 50
    run_dir: str = "runs"  # checkpoints and logs: <run_dir>/<direction>/
    output_dir: str = "models"  # the bundle: <output_dir>/<direction>/


@dataclass(frozen=True)
class DecodeConfig:
    """Search settings used for dev BLEU, evaluation and translation."""

    beam_size: int = 5
    length_penalty: float = 1.0  # GNMT alpha; 0 turns it off
    max_len_ratio: float = 1.5  # output at most ratio * source length + offset pieces
    max_len_offset: int = 10
    min_len_ratio: float = 0.0  # no EOS before ratio * source length pieces; 0: off
    no_repeat_ngram: int = 0  # ban repeating any n-gram of this many pieces; 0: off
    batch_size: int = 64  # sentences per decoding batch
    nbest: int = 1


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: data, model, training and decoding."""

    name: str = ""  # run and bundle folder name (runs/<name>, models/<name>); default: direction
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)


def run_name(cfg: ExperimentConfig) -> str:
    """The experiment's folder name: `name` if set, else the direction (e.g. hi-en)."""
    return cfg.name or cfg.data.direction


def _set_dotted(raw: dict, key: str, value: Any, origin: str) -> None:
    parts = key.split(".")
    if len(parts) < 2 or not all(parts):
        raise ConfigError(f"override {origin!r}: write SECTION.KEY=VALUE, e.g. train.max_steps=50")
    node = raw
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {origin!r}: {part} is not a section")
    node[parts[-1]] = value


def config_from_dict(raw: dict, origin: str) -> ExperimentConfig:
    """Build a config from plain data; unknown keys and wrong types raise ConfigError."""
    try:
        cfg = dacite.from_dict(
            ExperimentConfig, raw, config=dacite.Config(strict=True, cast=[tuple])
        )
    except dacite.DaciteError as e:
        raise ConfigError(f"{origin}: {e}") from None
    _check(cfg, origin)
    return cfg


def _check(cfg: ExperimentConfig, origin: str) -> None:
    langs = ("en", "hi", "ta", "bn")
    d = cfg.data
    if (
        d.src_lang not in langs
        or d.tgt_lang not in langs
        or "en" not in (d.src_lang, d.tgt_lang)
        or d.src_lang == d.tgt_lang
    ):
        raise ConfigError(
            f"{origin}: data.src_lang/tgt_lang must be en and one of hi, ta, bn "
            f"(got {d.src_lang!r} -> {d.tgt_lang!r})"
        )
    positive = {
        "data.batch_tokens": d.batch_tokens,
        "data.max_len": d.max_len,
        "model.emb_dim": cfg.model.emb_dim,
        "model.hidden_dim": cfg.model.hidden_dim,
        "model.enc_layers": cfg.model.enc_layers,
        "model.dec_layers": cfg.model.dec_layers,
        "train.max_steps": cfg.train.max_steps,
        "train.lr": cfg.train.lr,
        "train.val_every_steps": cfg.train.val_every_steps,
        "decode.beam_size": cfg.decode.beam_size,
        "decode.batch_size": cfg.decode.batch_size,
        "decode.nbest": cfg.decode.nbest,
    }
    for key, value in positive.items():
        if value <= 0:
            raise ConfigError(f"{origin}: {key} must be positive (got {value})")
    for corpus, times in d.upsample.items():
        if times < 1:
            raise ConfigError(
                f"{origin}: data.upsample.{corpus} must be a whole number of "
                f"repeats, 1 or more (got {times})"
            )
    if not 0.0 <= cfg.model.dropout < 1.0:
        raise ConfigError(f"{origin}: model.dropout must be in [0, 1) (got {cfg.model.dropout})")
    if (
        cfg.decode.no_repeat_ngram < 0
        or not 0.0 <= cfg.decode.min_len_ratio < cfg.decode.max_len_ratio
    ):
        raise ConfigError(
            f"{origin}: decode.no_repeat_ngram must be 0 or more and "
            "decode.min_len_ratio between 0 and decode.max_len_ratio"
        )
    if cfg.decode.nbest > cfg.decode.beam_size:
        raise ConfigError(
            f"{origin}: decode.nbest ({cfg.decode.nbest}) cannot exceed "
            f"decode.beam_size ({cfg.decode.beam_size})"
        )


def load_config(path: Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read a YAML config and apply `SECTION.KEY=VALUE` overrides."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (see configs/ for the shipped ones)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected sections data/model/train/decode at the top level")
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(
                f"override {item!r}: write SECTION.KEY=VALUE, e.g. train.max_steps=50"
            )
        _set_dotted(raw, key.strip(), yaml.safe_load(value), item)
    return config_from_dict(
        raw, str(path) + (f" (with overrides {' '.join(overrides)})" if overrides else "")
    )


def config_to_json(cfg: ExperimentConfig) -> str:
    """The resolved config as JSON, for the model bundle."""
    return json.dumps(dataclasses.asdict(cfg), indent=2)
