"""Experiment configuration: YAML -> frozen, typed dataclasses. The only module that reads YAML.

    cfg = load_config(Path("configs/hi-en.yaml"), ["train.max_steps=50", "name=hi-en-short"])
    build_model(cfg.model, src_vocab, tgt_vocab); TranslationTask(model, cfg.train, cfg.decode)

A config file may name a base (`base: _recipe.yaml`, or a list of them, relative to the file):
the bases are read first, then the file's own keys replace theirs, key by key inside each
section (`decode.beam_size` replaces only that key; a dict-valued key such as
`data.upsample` is replaced whole). Bases may have bases; a cycle is an error. Nothing below
this module sees inheritance: the merged dict is what the dataclasses are built from.

Every value is checked when its dataclass is built (`__post_init__`), however it is built:
from YAML, from a bundle's config.json, or with `dataclasses.replace`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import dacite
import yaml

from indic_common.errors import ConfigError
from indic_common.languages import CODES as LANGS


def pair_of(direction: str) -> str:
    """The prepared pair of a direction: en-hi and hi-en are both hi-en."""
    src, _, tgt = direction.partition("-")
    return f"{tgt if src == 'en' else src}-en"


class _Checked:
    """Checks shared by the sections: every float finite, named numbers positive."""

    SECTION = ""
    POSITIVE: tuple[str, ...] = ()

    def _fail(self, key: str, message: str) -> None:
        raise ConfigError(f"{self.SECTION}.{key} {message}", key=key)

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                self._fail(f.name, f"must be a finite number (got {value})")
        for key in self.POSITIVE:
            if getattr(self, key) <= 0:
                self._fail(key, f"must be positive (got {getattr(self, key)})")
        self.check()

    def check(self) -> None:
        """Checks of one section beyond finiteness and positivity."""


@dataclass(frozen=True)
class DataConfig(_Checked):
    """Where the prepared data is and how it is batched."""

    SECTION = "data"
    POSITIVE = ("batch_tokens", "max_len", "dev_max_sents")

    src_lang: str = "hi"
    tgt_lang: str = "en"
    root: str = "data"  # prepared pairs live in <root>/<pair>/
    batch_tokens: int = 2000  # per batch: sentences x their longest source or target
    max_len: int = 100  # longer training pairs (in pieces) are skipped
    # The prepared dev set whose BLEU selects checkpoints, stops training and drives the
    # learning rate: "dev" (every dev part together) or one part, e.g. "dev-post2012".
    dev_set: str = "dev"
    dev_max_sents: int = 1000  # dev BLEU on at most this many sentences (the first ones)
    num_workers: int = 0
    # Repeat the training pairs of these parts (corpus/split as in train.origin, e.g.
    # post2012/dev: 3, or a whole corpus, post2012: 3) to weigh a small in-domain corpus
    # against a large out-of-domain one.
    upsample: dict[str, int] = field(default_factory=dict)
    # Train on these parts only (same names as upsample); empty: every part. In-domain
    # fine-tuning keeps the Wikipedia parts.
    train_parts: list[str] = field(default_factory=list)
    # Put the tag of each line's domain (<dom:wikipedia>, <dom:captions>, ...; the prepared
    # <set>.domain files) before its source, so one model serves several domains.
    domain_tags: bool = False
    # Subword regularisation (Kudo 2018): each epoch the training pairs are segmented anew by
    # sampling from SentencePiece's unigram lattice with this smoothing (0.1-0.5); 0: off.
    sample_alpha: float = 0.0
    # Synthetic parts of the prepared folder (`seq2seq backtranslate` writes
    # <root>/<pair>/synthetic/<name>.<lang>) and the repeats of each, e.g. {bt-greedy: 1}.
    # Their lines are of domain `backtranslation`: with domain_tags, tagged back-translation.
    synthetic: dict[str, int] = field(default_factory=dict)
    # Forward-translated parts: a model's translations of real sources (`seq2seq backtranslate
    # --input <root>/<pair>/train.hi --to en`), the synthetic side the target: self-training,
    # or sequence-level knowledge distillation from an ensemble (Kim & Rush 2016). Their
    # sources are real text and are read untagged. E.g. {kd-beam: 1}.
    forward: dict[str, int] = field(default_factory=dict)
    # A multilingual model: its directions, e.g. [hi-en, bn-en, ta-en], trained together on
    # <root>/multi/ (python -m data_prep multi) with the target language's tag (<2en>, <2hi>
    # ...) before each source; src_lang/tgt_lang name the default direction. Empty: one.
    pairs: list[str] = field(default_factory=list)
    # Temperature sampling across the directions (Arivazhagan et al. 2019): each epoch draws
    # direction i in proportion to n_i ** (1/T): 1 keeps the data's proportions, larger
    # values lift the small directions towards uniform. No line is dropped: the largest
    # direction is read once per epoch and the others repeated.
    temperature: float = 5.0

    def check(self) -> None:
        for direction in [f"{self.src_lang}-{self.tgt_lang}", *self.pairs]:
            src, _, tgt = direction.partition("-")
            if src not in LANGS or tgt not in LANGS or "en" not in (src, tgt) or src == tgt:
                self._fail(
                    "pairs" if direction in self.pairs else "src_lang/tgt_lang",
                    f"must be en and one of hi, ta, bn (got {src!r} -> {tgt!r})",
                )
        if self.pairs and self.direction not in self.pairs:
            self._fail(
                "src_lang/tgt_lang",
                f"the default direction {self.direction} must be one of pairs "
                f"({', '.join(self.pairs)})",
            )
        if self.temperature < 1.0:
            self._fail("temperature", f"must be 1 or more (got {self.temperature})")
        if not 0.0 <= self.sample_alpha <= 1.0:
            self._fail("sample_alpha", f"must be 0 (off) to 1 (got {self.sample_alpha})")
        tables = (("upsample", self.upsample), ("synthetic", self.synthetic))
        for key, table in (*tables, ("forward", self.forward)):
            for corpus, times in table.items():
                if times < 1:
                    self._fail(f"{key}.{corpus}", f"must be 1 or more repeats (got {times})")

    @property
    def pair(self) -> str:
        """The prepared-data folder name: the Indic language, then "en"; `multi` for a
        multilingual model."""
        return "multi" if self.pairs else pair_of(self.direction)

    @property
    def directions(self) -> list[str]:
        """Every direction the model translates, the default first."""
        return [self.direction, *(d for d in self.pairs if d != self.direction)]

    @property
    def targets(self) -> list[str]:
        """The languages the model translates into, sorted."""
        return sorted({d.split("-")[1] for d in self.directions})

    def folder(self, direction: str | None = None) -> str:
        """The prepared folder of one direction under `root`: hi-en, or multi/hi-en."""
        pair = pair_of(direction or self.direction)
        return f"multi/{pair}" if self.pairs else pair

    @property
    def direction(self) -> str:
        """What the model translates, e.g. "hi-en" or "en-hi"."""
        return f"{self.src_lang}-{self.tgt_lang}"


@dataclass(frozen=True)
class ModelConfig(_Checked):
    """Sizes and options of the encoder-decoder."""

    SECTION = "model"
    POSITIVE = ("emb_dim", "hidden_dim", "enc_layers", "dec_layers", "attn_dim")

    emb_dim: int = 256
    hidden_dim: int = 256  # per direction in the encoder; the decoder's size
    enc_layers: int = 1
    dec_layers: int = 1
    attention: Literal["none", "bahdanau"] = "bahdanau"
    attn_dim: int = 256
    dropout: float = 0.2
    # Source word dropout (Gal & Ghahramani 2016; Sennrich & Zhang 2019): in training, each
    # source piece's embedding is zeroed with this probability, the whole vector at once.
    word_dropout: float = 0.0
    tie_output: bool = False  # target embedding shares weights with the softmax layer
    share_embeddings: bool = False  # source and target embeddings shared (joint vocabulary)

    def check(self) -> None:
        for key in ("dropout", "word_dropout"):
            if not 0.0 <= getattr(self, key) < 1.0:
                self._fail(key, f"must be in [0, 1) (got {getattr(self, key)})")


@dataclass(frozen=True)
class TrainConfig(_Checked):
    """Optimisation, schedule, checkpoints and hardware."""

    SECTION = "train"
    POSITIVE = ("max_steps", "max_epochs", "lr", "val_every_steps", "log_every_steps")

    seed: int = 1
    max_steps: int = 20000
    max_epochs: int = 1000
    max_time_minutes: float | None = None  # stop training after this wall-clock time
    lr: float = 0.001
    # plateau: halve the LR when dev BLEU stalls; inverse_sqrt: warm up, then lr * sqrt(warmup
    # / step); linear: warm up, then down in a straight line to min_lr at max_steps (a budget
    # of updates spent to its end); constant.
    scheduler: Literal["plateau", "inverse_sqrt", "linear", "constant"] = "plateau"
    warmup_steps: int = 1000  # inverse_sqrt and linear (0: none)
    plateau_factor: float = 0.5
    plateau_patience: int = 2  # validations without dev BLEU gain before the LR drops
    min_lr: float = 1.0e-5
    clip_norm: float = 1.0
    label_smoothing: float = 0.1
    val_every_steps: int = 500
    early_stopping_patience: int = 8  # validations without dev BLEU gain before stopping
    # The greedy dev score that selects checkpoints, stops training and drives the plateau LR
    # (the text above says BLEU for short): bleu, or chrf (chrF++), for directions whose dev
    # BLEU is too low to tell checkpoints apart (into Indic languages: 0.2-0.9).
    select_metric: Literal["bleu", "chrf"] = "bleu"
    keep_best: int = 3
    # At the end, average the weights of the kept best checkpoints; the bundle takes the
    # average when its dev BLEU is higher than the best single checkpoint's.
    average_best: bool = False
    accelerator: str = "cpu"  # cpu | gpu | auto
    devices: int | str = 1
    num_nodes: int = 1
    strategy: str = "auto"  # auto | ddp | ddp_spawn ...
    # auto: time a few training steps in fp32 and in bf16-mixed on this machine and keep the
    # faster (seq2seq/train/precision.py); or name one: 32-true, bf16-mixed (Lightning's names).
    precision: str = "auto"
    threads: int | None = None  # torch intra-op threads on CPU (None: torch's default)
    # fused: the encoder's LSTM over the padded batch in torch's fused kernel, and the decoder's
    # teacher-forced recurrence as one autograd function with hand-written gradients
    # (seq2seq/model/recurrence.py); steps: packed sequences, and autograd over `Decoder.step` at
    # each position. The same numbers (to float rounding; under bf16-mixed both in bf16).
    recurrence: Literal["fused", "steps"] = "fused"
    log_every_steps: int = 50
    run_dir: str = "runs"  # checkpoints and logs: <run_dir>/<name>/
    output_dir: str = "models"  # the bundle: <output_dir>/<name>/
    # A bundle whose weights start the model (fine-tuning); it must have this run's model
    # settings and vocabularies. None: random initialisation.
    init_from: str | None = None

    def check(self) -> None:
        if self.max_time_minutes is not None and self.max_time_minutes <= 0:
            self._fail("max_time_minutes", f"must be positive (got {self.max_time_minutes})")
        if not 0.0 <= self.label_smoothing < 1.0:
            self._fail("label_smoothing", f"must be in [0, 1) (got {self.label_smoothing})")
        if self.warmup_steps < 0:
            self._fail("warmup_steps", f"must be 0 (none) or more (got {self.warmup_steps})")
        if self.scheduler == "linear" and self.warmup_steps >= self.max_steps:
            self._fail(
                "warmup_steps",
                f"({self.warmup_steps}) must be below max_steps ({self.max_steps}) for the "
                "linear schedule, which ends at max_steps",
            )


def _option(default: Any, help: str, flag: str | None = None, request: str | None = None) -> Any:
    """A decoding option, declared once: its default, its help text, its command-line flag and
    the field of an HTTP request that may set it (None: not settable there). The CLI's flags,
    the server's request model and its batching key are generated from these
    (`decode_options`)."""
    return field(default=default, metadata={"help": help, "flag": flag, "request": request})


@dataclass(frozen=True)
class DecodeOption:
    """One DecodeConfig field as the CLI and the server see it."""

    name: str  # the DecodeConfig field
    type: type
    help: str
    flag: str | None  # e.g. --beam
    request: str | None  # e.g. beam


PRECISIONS = ("fp32", "int8")  # decode.precision
# The decode settings of exact search, without the speed-ups a bundle may record (--exact).
EXACT_SEARCH = {"shortlist": False, "precision": "fp32"}


@dataclass(frozen=True)
class DecodeConfig(_Checked):
    """Search settings used for dev BLEU, evaluation and translation. A new option is one
    field here (with `_option` where a flag or a request may set it) plus its search code."""

    SECTION = "decode"
    POSITIVE = ("beam_size", "batch_size", "nbest", "max_len_ratio")

    beam_size: int = _option(5, "beam size (1: greedy)", "--beam", "beam")
    # GNMT alpha, Wu et al. (2016) eq. (14)
    length_penalty: float = _option(1.0, "GNMT length penalty weight (0: off)", "--length-penalty")
    max_len_ratio: float = _option(
        1.5, "at most this many pieces per source piece (plus max_len_offset)", "--max-len-ratio"
    )
    max_len_offset: int = 10
    min_len_ratio: float = _option(
        0.0, "no end before this many pieces per source piece (0: off)", "--min-len-ratio"
    )
    # A model that translates into several languages: a target language's own min_len_ratio,
    # e.g. {hi: 0.6, bn: 0.6, ta: 0.6} (the recipe's floor into Indic, none into English).
    # A min_len_ratio given explicitly (--min-len-ratio, Translator.load) applies to all.
    min_len_ratio_into: dict[str, float] = field(default_factory=dict)
    no_repeat_ngram: int = _option(
        0, "never repeat an n-gram of N pieces (0: off)", "--no-repeat-ngram"
    )
    batch_size: int = _option(64, "sentences per decoding batch", "--batch-size")
    nbest: int = _option(1, "hypotheses per text, at most the beam", "--nbest", "nbest")
    # The models were trained on sentences: a paragraph is translated sentence by sentence
    # (indic_common.sentences), its line breaks kept.
    split_sentences: bool = _option(
        True, "translate a text as one sequence, not sentence by sentence", "--no-split", "split"
    )
    # Draw each piece from the model's distribution instead of taking the best (beam 1 only;
    # back-translation, Edunov et al. 2018); seeded by the caller through torch's generator.
    sampling: bool = False
    # Speed-ups, each chosen per model by a dev comparison against exact fp32 search
    # (`seq2seq speedup`) and recorded in its bundle, never per CPU: `shortlist` scores only
    # the target pieces a batch's sources make likely (the bundle's shortlist.safetensors,
    # decode/shortlist.py); `precision: int8` runs the decoder's matrices in int8
    # (model/int8.py). `seq2seq translate --exact` turns both off.
    shortlist: bool = False
    precision: str = "fp32"

    @property
    def exact(self) -> bool:
        """Whether search is exact: no shortlist, fp32 (EXACT_SEARCH)."""
        return all(getattr(self, k) == v for k, v in EXACT_SEARCH.items())

    def check(self) -> None:
        if self.precision not in PRECISIONS:
            self._fail(
                "precision", f"must be one of {', '.join(PRECISIONS)} (got {self.precision!r})"
            )
        if self.length_penalty < 0:
            self._fail("length_penalty", f"must be 0 (off) or more (got {self.length_penalty})")
        for key in ("max_len_offset", "no_repeat_ngram"):
            if getattr(self, key) < 0:
                self._fail(key, f"must be 0 (off) or more (got {getattr(self, key)})")
        if not 0.0 <= self.min_len_ratio < self.max_len_ratio:
            self._fail(
                "min_len_ratio",
                f"must be 0 or more and below max_len_ratio {self.max_len_ratio} "
                f"(got {self.min_len_ratio})",
            )
        for lang, ratio in self.min_len_ratio_into.items():
            if lang not in LANGS or not 0.0 <= ratio < self.max_len_ratio:
                self._fail(
                    f"min_len_ratio_into.{lang}",
                    f"must be a language of {', '.join(LANGS)} with a ratio of 0 or more and "
                    f"below max_len_ratio {self.max_len_ratio} (got {lang}: {ratio})",
                )
        if self.nbest > self.beam_size:
            self._fail(
                "nbest",
                f"({self.nbest}) cannot exceed beam_size ({self.beam_size}); "
                "ask for a beam at least as large",
            )
        if self.sampling and self.beam_size != 1:
            self._fail("sampling", f"needs beam_size 1 (got {self.beam_size})")

    @property
    def greedy(self) -> bool:
        """Beam 1 and one hypothesis: greedy search."""
        return self.beam_size == 1 and self.nbest == 1

    def into(self, lang: str) -> DecodeConfig:
        """The settings for translating into `lang`: its own length floor if it has one."""
        ratio = self.min_len_ratio_into.get(lang, self.min_len_ratio)
        if ratio == self.min_len_ratio:
            return self
        return dataclasses.replace(self, min_len_ratio=ratio)


def decode_options() -> tuple[DecodeOption, ...]:
    """The DecodeConfig fields a command-line flag or a request may set, in field order."""
    hints = typing.get_type_hints(DecodeConfig)
    return tuple(
        DecodeOption(
            f.name, hints[f.name], f.metadata["help"], f.metadata["flag"], f.metadata["request"]
        )
        for f in dataclasses.fields(DecodeConfig)
        if "help" in f.metadata
    )


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: data, model, training and decoding."""

    name: str = ""  # run and bundle folder name (runs/<name>, models/<name>); default: direction
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)

    def __post_init__(self) -> None:
        targets = self.data.targets
        for lang in self.decode.min_len_ratio_into:
            if lang not in targets:
                raise ConfigError(
                    f"decode.min_len_ratio_into.{lang}: this model translates into "
                    f"{', '.join(targets)} only; drop {lang} or add a direction into it to "
                    "data.pairs",
                    key=f"min_len_ratio_into.{lang}",
                )


SECTIONS = ("data", "model", "train", "decode")


def run_name(cfg: ExperimentConfig) -> str:
    """The experiment's folder name: `name` if set, else the direction (e.g. hi-en)."""
    return cfg.name or cfg.data.direction


def config_from_dict(raw: dict, origin: str) -> ExperimentConfig:
    """Build a config from plain data; unknown keys, wrong types and bad values raise
    ConfigError naming `origin` and the key."""
    try:
        return dacite.from_dict(
            ExperimentConfig, raw, config=dacite.Config(strict=True, cast=[tuple])
        )
    except dacite.DaciteError as e:
        raise ConfigError(f"{origin}: {e}") from None
    except ConfigError as e:
        raise ConfigError(f"{origin}: {e}", key=e.key) from None


def _read_yaml(path: Path) -> dict:
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found (see configs/ for the shipped ones)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected base/name/data/model/train/decode at the top level")
    for section in SECTIONS:
        if not isinstance(raw.get(section, {}), dict):
            raise ConfigError(f"{path}: {section} must be a section of KEY: VALUE lines")
    return raw


def _merge(base: dict, child: dict) -> dict:
    """The child's keys over the base's: sections key by key, everything else whole."""
    out = {key: dict(value) if key in SECTIONS else value for key, value in base.items()}
    for key, value in child.items():
        if key in SECTIONS and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def resolve(path: Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read a config file and its bases into one plain dict (the `base` key removed)."""
    real = path.resolve()
    if real in _chain:
        cycle = " -> ".join(str(p) for p in (*_chain, real))
        raise ConfigError(f"{path}: its bases form a cycle ({cycle}); remove one base key")
    raw = _read_yaml(path)
    bases = raw.pop("base", [])
    bases = [bases] if isinstance(bases, str) else bases
    if not isinstance(bases, list) or not all(isinstance(b, str) for b in bases):
        raise ConfigError(f"{path}: base must be a file name or a list of file names")
    merged: dict = {}
    for base in bases:
        merged = _merge(merged, resolve(path.parent / base, (*_chain, real)))
    return _merge(merged, raw)


def _parse_value(text: str) -> Any:
    value = yaml.safe_load(text)
    if isinstance(value, str):  # YAML 1.1 reads 1e-3 and nan as strings
        try:
            return float(value)
        except ValueError:
            return value
    return value


def apply_overrides(raw: dict, overrides: Sequence[str]) -> dict:
    """Apply `KEY=VALUE` (top level, e.g. name=x) and `SECTION.KEY=VALUE` overrides."""
    for item in overrides:
        key, sep, value = (part.strip() for part in item.partition("="))
        section, _, name = key.rpartition(".")
        if not sep or not name or "." in section or key == "base":
            raise ConfigError(
                f"override {item!r}: write KEY=VALUE or SECTION.KEY=VALUE, "
                "e.g. name=hi-en-long or train.max_steps=50"
            )
        if section and section not in SECTIONS:
            raise ConfigError(
                f"override {item!r}: {section} is not a section ({', '.join(SECTIONS)})"
            )
        if not section and name in SECTIONS:
            raise ConfigError(f"override {item!r}: {name} is a section; write {name}.KEY=VALUE")
        change = {section: {name: _parse_value(value)}} if section else {name: _parse_value(value)}
        raw = _merge(raw, change)
    return raw


def load_config(path: Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read a YAML config with its bases and apply overrides (see `apply_overrides`)."""
    raw = apply_overrides(resolve(path), overrides)
    with_overrides = f" (with overrides {' '.join(overrides)})" if overrides else ""
    return config_from_dict(raw, f"{path}{with_overrides}")


def config_to_json(cfg: ExperimentConfig) -> str:
    """The resolved config as JSON, for the run folder and the model bundle."""
    return json.dumps(dataclasses.asdict(cfg), indent=2)


def config_to_yaml(cfg: ExperimentConfig) -> str:
    """The resolved config as YAML, every key written out (`seq2seq config`)."""
    return yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False, allow_unicode=True)
