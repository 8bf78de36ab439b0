"""train(cfg) -> bundle folder. The one place a Trainer and its callbacks are built."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint, Timer
from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

from indic_common.atomic import write_text
from indic_common.errors import ConfigError
from indic_common.machine import cpu_name
from seq2seq.config import (
    ExperimentConfig,
    TrainConfig,
    run_name,
)
from seq2seq.data.batches import TranslationData, first_batches
from seq2seq.model.bundle import load_bundle, read_metadata, save_bundle
from seq2seq.model.network import Seq2Seq, build_model
from seq2seq.train.averaging import average_checkpoints, model_weights
from seq2seq.train.precision import bf16_unsupported, probe_precision
from seq2seq.train.runs import check_run_dir, checkpoint_name
from seq2seq.train.task import TranslationTask

log = logging.getLogger(__name__)
_PROBE_BATCHES = 6  # train.precision auto: one warm-up and five timed steps per precision


def weights_digest(model: torch.nn.Module) -> str:
    """A short hash of every parameter's bytes: equal digests, equal weights."""
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


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
        filename=checkpoint_name(metric),
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
    first batches (precision.py). Several processes do not probe: each could choose
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
    ckpt_path = check_run_dir(run_dir, cfg, resume, overwrite, digest)
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
        model.load_state_dict(model_weights(state["state_dict"]))
        dev_score = float(checkpoint.best_model_score)
        best_step = int(state["global_step"])
        dev = dict(state.get("dev_scores") or {})  # {}: saved before dev scores were kept
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
