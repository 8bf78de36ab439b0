"""Run folders (`runs/<name>/`): what identifies a run, whether training starts fresh or resumes
from its last checkpoint, and the names of its kept best checkpoints. No Lightning here."""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import replace
from pathlib import Path

from indic_common.atomic import remove_stale, write_text
from indic_common.errors import ConfigError
from seq2seq.config import (
    DecodeConfig,
    ExperimentConfig,
    TrainConfig,
    config_from_dict,
    config_to_json,
)

log = logging.getLogger(__name__)


def _run_identity(cfg: ExperimentConfig) -> str:
    """What a checkpoint depends on: data and model. Training and decoding settings may change
    between a run and its resumption (e.g. a larger max_steps to train longer)."""
    return config_to_json(replace(cfg, train=TrainConfig(), decode=DecodeConfig()))


def _same_run(saved: Path, cfg: ExperimentConfig) -> bool:
    """True when the run recorded in `saved` (run.json) has cfg's data and model settings.

    Read back through the dataclasses, so a run recorded before a new field was added (with
    its default) still matches; a record this version cannot read raises ConfigError.
    """
    try:
        old = config_from_dict(json.loads(saved.read_text(encoding="utf-8")), str(saved))
    except (json.JSONDecodeError, UnicodeDecodeError, ConfigError) as e:
        raise ConfigError(
            f"{saved}: this version cannot read the run's record ({str(e).splitlines()[0]}); "
            "pass --overwrite to start the run again"
        ) from None
    return (old.data, old.model) == (cfg.data, cfg.model)


def check_run_dir(
    run_dir: Path,
    cfg: ExperimentConfig,
    resume: bool,
    overwrite: bool,
    vocab_digest: str | None = None,
) -> Path | None:
    """Decide where training starts: a fresh run, or the last checkpoint of this config's run.
    `vocab_digest` (of the data's tokenizers) must be the run's: checkpoints hold piece ids,
    and data prepared again may number the pieces differently."""
    last = run_dir / "checkpoints" / "last.ckpt"
    saved = run_dir / "run.json"
    vocab_file = run_dir / "vocab.sha256"
    if resume and last.is_file() and not overwrite and vocab_digest is not None:
        if not vocab_file.is_file():
            log.warning("%s: no tokenizer record (an older run); cannot check its data", run_dir)
        elif vocab_file.read_text(encoding="utf-8").strip() != vocab_digest:
            raise ConfigError(
                f"{run_dir} was trained with other tokenizers than {cfg.data.root}/"
                f"{cfg.data.pair} holds now (the data was prepared again): its checkpoints would "
                "read the wrong pieces; pass --overwrite to train again on the new data"
            )
    if overwrite:
        shutil.rmtree(run_dir, ignore_errors=True)
    elif last.is_file() and not resume:
        raise ConfigError(
            f"{run_dir} already holds checkpoints; pass --resume to continue that "
            "run or --overwrite to start again"
        )
    elif last.is_file() and saved.is_file() and not _same_run(saved, cfg):
        raise ConfigError(
            f"{run_dir} holds a run with other data or model settings ({saved}); "
            "pass --overwrite to start again, or set train.run_dir elsewhere"
        )
    run_dir.mkdir(parents=True, exist_ok=True)
    remove_stale(run_dir.parent)
    write_text(saved, _run_identity(cfg))
    if vocab_digest is not None:
        write_text(vocab_file, vocab_digest + "\n")
    write_text(run_dir / "config.json", config_to_json(cfg) + "\n")
    if resume and last.is_file():
        log.info("resuming from %s", last)
        return last
    return None


def checkpoint_name(metric: str) -> str:
    """Lightning's file name template for a kept best checkpoint: `step1500-chrf16.98`."""
    return f"step{{step}}-{metric}{{val/{metric}:.2f}}"


def kept_checkpoints(folder: Path, metric: str) -> list[Path]:
    """The kept best checkpoints in `folder` of a run selected by `metric`, by step: the files
    named by `checkpoint_name` (`last.ckpt` is not one of them)."""
    pattern = re.sub(r"\{[^}]*\}", "*", checkpoint_name(metric)) + ".ckpt"
    return sorted(folder.glob(pattern), key=lambda p: int(re.match(r"step(\d+)", p.name)[1]))
