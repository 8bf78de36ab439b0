"""train(cfg) -> bundle folder. The one place a Trainer and its callbacks are built."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, Timer
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from indic_common.atomic import remove_stale, write_text
from indic_common.errors import BundleError, ConfigError
from indic_common.machine import cpu_name
from seq2seq.bundle import load_bundle, read_metadata, save_bundle, training_info
from seq2seq.config import (
    DecodeConfig,
    ExperimentConfig,
    TrainConfig,
    config_from_dict,
    config_to_json,
    run_name,
)
from seq2seq.data import TranslationData, first_batches
from seq2seq.model import Seq2Seq, build_model
from seq2seq.precision import bf16_unsupported, probe_precision
from seq2seq.task import TranslationTask

log = logging.getLogger(__name__)
_PROBE_BATCHES = 6  # train.precision auto: one warm-up and five timed steps per precision


def weights_digest(model: torch.nn.Module) -> str:
    """A short hash of every parameter's bytes: equal digests, equal weights."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


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


def _check_run_dir(
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


def _init_from_bundle(
    model: Seq2Seq, path: Path, cfg: ExperimentConfig, data: TranslationData
) -> None:
    """Start from a trained bundle's weights; its model and vocabularies must be this run's."""
    bundle = load_bundle(path)
    same_vocab = (bundle.src_vocab.model_proto, bundle.tgt_vocab.model_proto) == (
        data.src_vocab.model_proto,
        data.tgt_vocab.model_proto,
    )
    if bundle.cfg.model != cfg.model or not same_vocab:
        raise ConfigError(
            f"train.init_from {path}: its model settings or vocabularies differ from this "
            f"run's ({'model' if bundle.cfg.model != cfg.model else 'vocabulary'}); fine-tune "
            "a bundle trained on the same prepared data with the same model section"
        )
    model.load_state_dict(bundle.model.state_dict())
    log.info("initialised from %s (trained %s steps)", path, bundle.metadata.get("training_steps"))


def _known_domains(trained: list[str], init_from: str | None) -> list[str]:
    """The domains a bundle's tags were trained on: a fine-tuned model still knows those of
    the bundle it started from (their tags keep the embeddings learnt there)."""
    base = read_metadata(Path(init_from)).get("domains", []) if init_from else []
    return sorted({*trained, *base})


class PlainProgress(pl.Callback):
    """One plain log line every `seconds` and after each validation, instead of a progress
    bar: for logs and CI, where a bar writes a carriage-return update every step."""

    def __init__(self, seconds: float = 30.0) -> None:
        self.seconds = seconds
        self._start = time.monotonic()
        self._last = float("-inf")  # the first step gets a line
        self._tokens = 0

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.monotonic()
        self._last = float("-inf")

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: object,
        batch: object,
        batch_idx: int,
    ) -> None:
        self._tokens += getattr(batch, "num_tokens", 0)
        now = time.monotonic()
        if now - self._last < self.seconds:
            return
        loss = trainer.callback_metrics.get("train/loss")
        log.info(
            "step %d/%d  epoch %d  train/loss %s  %.0f target tokens/s  %.0f s elapsed",
            trainer.global_step,
            trainer.max_steps,
            trainer.current_epoch,
            f"{float(loss):.3f}" if loss is not None else "-",
            self._tokens / max(now - max(self._last, self._start), 1e-6),
            now - self._start,
        )
        self._last, self._tokens = now, 0

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        m = trainer.callback_metrics
        # Training's validations only, not the scoring of chosen weights after it.
        if trainer.sanity_checking or trainer.state.fn != "fit" or "val/bleu" not in m:
            return
        log.info(
            "step %d  val/loss %.3f  val/bleu %.2f  val/chrf %.2f  %.0f s elapsed",
            trainer.global_step,
            float(m.get("val/loss", float("nan"))),
            float(m["val/bleu"]),
            float(m.get("val/chrf", float("nan"))),
            time.monotonic() - self._start,
        )


def _checkpoint_name(metric: str) -> str:
    """Lightning's file name template for a kept best checkpoint: `step1500-chrf16.98`."""
    return f"step{{step}}-{metric}{{val/{metric}:.2f}}"


def kept_checkpoints(folder: Path, metric: str) -> list[Path]:
    """The kept best checkpoints in `folder` of a run selected by `metric`, by step: the files
    named by `_checkpoint_name` (`last.ckpt` is not one of them)."""
    pattern = re.sub(r"\{[^}]*\}", "*", _checkpoint_name(metric)) + ".ckpt"
    return sorted(folder.glob(pattern), key=lambda p: int(re.match(r"step(\d+)", p.name)[1]))


def build_trainer(
    cfg: ExperimentConfig,
    run_dir: Path,
    extra_callbacks: Sequence[pl.Callback] = (),
    progress_bar: bool = True,
) -> tuple[pl.Trainer, ModelCheckpoint]:
    """The Trainer with checkpoints, early stopping and CSV + TensorBoard logs."""
    t = cfg.train
    metric = t.select_metric
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        monitor=f"val/{metric}",
        mode="max",
        save_top_k=t.keep_best,
        save_last=True,
        filename=_checkpoint_name(metric),
        auto_insert_metric_name=False,
    )
    callbacks = [
        checkpoint,
        EarlyStopping(
            monitor=f"val/{metric}",
            mode="max",
            patience=t.early_stopping_patience,
            check_finite=False,
        ),
        LearningRateMonitor(logging_interval="step"),
        # Stops training at train.max_time_minutes (if set) and counts the training time of
        # every run together (its state is kept in the checkpoints)
        Timer(duration={"minutes": t.max_time_minutes} if t.max_time_minutes else None),
        *([] if progress_bar else [PlainProgress()]),
        *extra_callbacks,
    ]
    trainer = pl.Trainer(
        accelerator=t.accelerator,
        devices=t.devices,
        num_nodes=t.num_nodes,
        strategy=t.strategy,
        precision=t.precision,
        max_steps=t.max_steps,
        max_epochs=t.max_epochs,
        val_check_interval=t.val_every_steps,
        check_val_every_n_epoch=None,
        gradient_clip_val=t.clip_norm,
        num_sanity_val_steps=0,
        log_every_n_steps=t.log_every_steps,
        use_distributed_sampler=False,
        reload_dataloaders_every_n_epochs=1 if cfg.data.sample_alpha else 0,
        callbacks=callbacks,
        default_root_dir=run_dir,
        logger=[CSVLogger(run_dir, name="logs"), TensorBoardLogger(run_dir, name="tensorboard")],
        enable_model_summary=False,
        enable_progress_bar=progress_bar,
    )
    return trainer, checkpoint


def _choose_precision(cfg: ExperimentConfig, data: TranslationData) -> dict:
    """`train.precision`, or with `auto` the faster of fp32 and bf16-mixed, timed on this run's
    first batches (seq2seq/precision.py). Several processes do not probe: each could choose
    differently, so they train in fp32."""
    t = cfg.train
    if t.precision != "auto":
        return {"chosen": t.precision}
    if t.devices not in (1, "1") or t.num_nodes != 1:
        log.info("precision auto: fp32 (no probe with several processes)")
        return {"chosen": "32-true", "probe": "skipped: several processes"}
    assert data.train_corpus is not None
    batches = first_batches(data.train_corpus, cfg.data.batch_tokens, t.seed, _PROBE_BATCHES)
    return probe_precision(
        cfg.model,
        len(data.src_vocab),
        len(data.tgt_vocab),
        batches,
        _device(t),
        fused=t.recurrence == "fused",
    ).record()


def _device(t: TrainConfig) -> torch.device:
    """The device one training process runs on."""
    gpu = t.accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available()
    return torch.device("cuda" if gpu else "cpu")


def _check_precision(t: TrainConfig) -> None:
    """A precision named explicitly must run here: bf16-mixed on a CPU (or GPU) without bf16
    fails now, with the option named, not in the first step after the data has loaded."""
    if t.precision.startswith("bf16"):
        reason = bf16_unsupported(_device(t))
        if reason:
            raise ConfigError(
                f"train.precision={t.precision}: {reason}; use train.precision=auto (fp32 "
                "where bf16 cannot run) or 32-true"
            )


def average_checkpoints(paths: Sequence[Path | str]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the checkpoints' weights (model.* entries, fp32)."""
    total: dict[str, torch.Tensor] = {}
    for path in paths:
        state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
        for name, value in state.items():
            total[name] = total.get(name, 0) + value.float()
    return {name: value / len(paths) for name, value in total.items()}


def _model_weights(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The model's weights in a checkpoint's state dict: its `model.` entries, unprefixed."""
    return {k.removeprefix("model."): v for k, v in state_dict.items() if k.startswith("model.")}


def average_bundle(model_dir: Path, out: Path, run_dir: Path | None = None) -> list[str]:
    """Write to `out` the bundle `model_dir` with the mean weights of its run's kept best
    checkpoints (`<run_dir>/checkpoints/step*-<metric>*.ckpt`, the metric of
    train.select_metric); the names of those averaged.

    The averaged bundle has no dev BLEU of its own: score it with `seq2seq evaluate`.
    """
    bundle = load_bundle(model_dir)
    run_dir = run_dir or Path(bundle.cfg.train.run_dir) / run_name(bundle.cfg)
    folder = run_dir / "checkpoints"
    paths = kept_checkpoints(folder, bundle.cfg.train.select_metric)
    if len(paths) < 2:
        raise BundleError(
            f"{folder}: {len(paths)} kept checkpoint(s), averaging needs 2 or more; train "
            "with train.keep_best of 2 or more, or name the run with --run"
        )
    state = average_checkpoints(paths)
    try:
        bundle.model.load_state_dict(_model_weights(state))
    except RuntimeError:
        raise BundleError(
            f"{folder}: its checkpoints are not of the model in {model_dir}; name the run "
            "that trained it with --run"
        ) from None
    names = [p.name for p in paths]
    info = training_info(bundle.metadata)
    # the best single checkpoint's, not the average's
    for key in ("dev_bleu", "dev_chrf", "best_step"):
        info.pop(key, None)
    info["averaged"] = {"checkpoints": names, "run": str(run_dir), "from": str(model_dir)}
    save_bundle(out, bundle.model, bundle.cfg, bundle.src_vocab, bundle.tgt_vocab, info)
    return names


def _try_average(
    trainer: pl.Trainer,
    task: TranslationTask,
    data: TranslationData,
    paths: list[str],
    best: float,
) -> dict:
    """Score the average of `paths` on dev; keep it in `task` if it beats `best`.

    Both scores are of the metric that selects (train.select_metric).
    """
    metric = task.train_cfg.select_metric
    single = {k: v.clone() for k, v in task.state_dict().items()}
    task.load_state_dict(average_checkpoints(paths))
    score = float(trainer.validate(task, datamodule=data, verbose=False)[0][f"val/{metric}"])
    names = [Path(p).name for p in paths]
    log.info("average of %s: dev %s %.2f (best single %.2f)", names, metric, score, best)
    if score <= best:
        task.load_state_dict(single)
        return {"checkpoints": names, f"dev_{metric}_average": round(score, 2), "kept": False}
    return {
        "checkpoints": names,
        f"dev_{metric}_average": round(score, 2),
        f"dev_{metric}_best_single": round(best, 2),
        "kept": True,
    }


def train(
    cfg: ExperimentConfig,
    resume: bool = False,
    overwrite: bool = False,
    extra_callbacks: Sequence[pl.Callback] = (),
    progress_bar: bool = True,
) -> Path:
    """Train a model from prepared data and write its bundle to `<output_dir>/<name>/`.

    `extra_callbacks` join the toolkit's own (e.g. a throughput meter in benchmarks/). Without
    `progress_bar` (output to a log file), progress is logged as plain lines instead.
    """
    t = cfg.train
    _check_precision(t)
    if t.threads:
        torch.set_num_threads(t.threads)
    pl.seed_everything(t.seed, workers=True, verbose=False)
    run_dir = Path(t.run_dir) / run_name(cfg)
    data = TranslationData(cfg.data, t.seed)
    data.setup()
    digest = hashlib.sha256(data.src_vocab.model_proto + data.tgt_vocab.model_proto).hexdigest()
    ckpt_path = _check_run_dir(run_dir, cfg, resume, overwrite, digest)
    precision = _choose_precision(cfg, data)
    cfg = replace(cfg, train=replace(t, precision=precision["chosen"]))
    t = cfg.train
    model = build_model(cfg.model, len(data.src_vocab), len(data.tgt_vocab))
    if t.init_from and ckpt_path is None:
        _init_from_bundle(model, Path(t.init_from), cfg, data)
    task = TranslationTask(model, t, cfg.decode, data.tgt_vocab.decode, data.dev_refs)
    trainer, checkpoint = build_trainer(cfg, run_dir, extra_callbacks, progress_bar)
    log.info(
        "training %s: %d parameters, %d training pairs",
        ", ".join(cfg.data.directions),
        model.num_parameters(),
        len(data.train_corpus or ()),
    )
    start = time.monotonic()
    trainer.fit(task, datamodule=data, ckpt_path=str(ckpt_path) if ckpt_path else None)
    seconds = time.monotonic() - start
    timer = next(c for c in trainer.callbacks if isinstance(c, Timer))
    total_seconds = timer.time_elapsed("train")  # with the runs resumed from
    # The validations below score chosen weights (an average, the selected checkpoint's BLEU),
    # not a step of training: kept out of the logs that `seq2seq curves` reads.
    trainer.loggers = []
    log.info("rank %d weights digest %s", trainer.global_rank, weights_digest(model))
    metric = t.select_metric
    if checkpoint.best_model_path:
        state = torch.load(checkpoint.best_model_path, map_location="cpu", weights_only=True)
        model.load_state_dict(_model_weights(state["state_dict"]))
        dev_score = float(checkpoint.best_model_score)
        best_step = int(state["global_step"])
        dev = dict(state.get("dev_scores") or {})  # {} in checkpoints of before 2026-12-06
    else:  # stopped before the first validation
        dev = trainer.validate(task, datamodule=data, verbose=False)[0]
        dev_score = float(dev[f"val/{metric}"])
        best_step = trainer.global_step
    averaged = {}
    if t.average_best and len(checkpoint.best_k_models) > 1:
        averaged = _try_average(trainer, task, data, sorted(checkpoint.best_k_models), dev_score)
        if averaged["kept"]:
            dev_score, dev = averaged[f"dev_{metric}_average"], {}
    scores = {f"dev_{metric}": round(dev_score, 2)}
    if metric != "bleu":  # the bundle's dev BLEU too, which pages and the server show
        dev = dev or trainer.validate(task, datamodule=data, verbose=False)[0]
        scores = {"dev_bleu": round(float(dev["val/bleu"]), 2), **scores, "selected_on": metric}
    out = Path(t.output_dir) / run_name(cfg)
    if trainer.is_global_zero:
        info = {
            "training_steps": trainer.global_step,
            "best_step": best_step,
            "epochs": trainer.current_epoch,
            **scores,
            "train_seconds": round(total_seconds, 1),
            "train_seconds_this_run": round(seconds, 1),
            "train_pairs": len(data.train_corpus or ()),
            "cpu": cpu_name(),  # of this (last) run: a budget in minutes means this CPU's
            "precision": precision,
            **({"averaged": averaged} if averaged else {}),
        }
        if cfg.data.domain_tags:  # what `--domain` may name, and its default
            info |= {
                "domains": _known_domains(data.domains, t.init_from),
                "default_domain": data.dev_domain,
            }
        if data.unified_script:  # the translator writes these sources in the same script
            info["unified_script"] = data.unified_script
        save_bundle(out, model.cpu(), cfg, data.src_vocab, data.tgt_vocab, info)
        write_text(run_dir / "result.json", json.dumps(info, indent=2) + "\n")
        log.info("wrote %s (dev %s %.2f at step %d)", out, metric, dev_score, best_step)
    return out
