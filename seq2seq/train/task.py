"""TranslationTask: the LightningModule around Seq2Seq.

Loss, logging, dev BLEU, optimiser; no layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import pytorch_lightning as pl
import torch
from torch import Tensor

from seq2seq.config import DecodeConfig, TrainConfig
from seq2seq.data.batches import Batch
from seq2seq.decode.search import greedy_search, strip_ids
from seq2seq.evaluate.metrics import corpus_bleu, corpus_chrf
from seq2seq.model.network import Seq2Seq
from seq2seq.train.loss import batch_loss


class TranslationTask(pl.LightningModule):
    """Teacher-forced training; greedy dev BLEU and chrF++ (the same `greedy_search` users get)."""

    def __init__(
        self,
        model: Seq2Seq,
        train_cfg: TrainConfig,
        decode_cfg: DecodeConfig,
        detokenize: Callable[[list[int]], str],
        dev_refs: Sequence[Sequence[str]],
    ) -> None:
        super().__init__()
        self.model, self.train_cfg, self.decode_cfg = model, train_cfg, decode_cfg
        model.fused_recurrence = train_cfg.recurrence == "fused"
        self.detokenize, self.dev_refs = detokenize, dev_refs
        self._dev_hyps: dict[int, str] = {}
        self.dev_scores: dict[str, float] = {}  # of the last validation: val/bleu, val/chrf
        self.batches_in_epoch = 0
        self._rng_to_restore: Tensor | None = None

    def _loss(self, batch: Batch) -> Tensor:
        return batch_loss(self.model, batch, self.train_cfg.label_smoothing)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        loss = self._loss(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=batch.num_seqs)
        self.log(
            "train/tokens", float(batch.num_tokens), reduce_fx="sum", batch_size=batch.num_seqs
        )
        return loss

    def on_train_epoch_end(self) -> None:
        self.batches_in_epoch = 0

    def on_train_batch_end(self, outputs: object, batch: Batch, batch_idx: int) -> None:
        self.batches_in_epoch = batch_idx + 1

    def on_train_batch_start(self, batch: Batch, batch_idx: int) -> None:
        # Resume: the same dropout masks as the uninterrupted run. Restored here, after the
        # data loader's iterator has drawn its own seed from the global generator.
        if self._rng_to_restore is not None:
            torch.set_rng_state(self._rng_to_restore)
            self._rng_to_restore = None

    def validation_step(self, batch: tuple[list[int], Batch], batch_idx: int) -> None:
        indices, pairs = batch
        loss = self._loss(pairs)
        self.log("val/loss", loss, prog_bar=True, batch_size=pairs.num_seqs)
        result = greedy_search(self.model, pairs.src_ids, pairs.src_lens, self.decode_cfg)
        for i, ids in zip(indices, result.ids[:, 0].tolist()):
            self._dev_hyps[i] = self.detokenize(strip_ids(ids))

    def on_validation_epoch_end(self) -> None:
        if not self._dev_hyps:
            return
        order = sorted(self._dev_hyps)
        hyps = [self._dev_hyps[i] for i in order]
        refs = [[stream[i] for i in order] for stream in self.dev_refs]
        self._dev_hyps = {}
        # Every rank decodes the whole dev set, so the score needs no gathering.
        self.dev_scores = {"val/bleu": corpus_bleu(hyps, refs), "val/chrf": corpus_chrf(hyps, refs)}
        self.log("val/bleu", self.dev_scores["val/bleu"], prog_bar=True, sync_dist=False)
        self.log("val/chrf", self.dev_scores["val/chrf"], sync_dist=False)

    def configure_optimizers(self) -> dict:
        c = self.train_cfg
        optimizer = torch.optim.Adam(self.model.parameters(), lr=c.lr)
        if c.scheduler == "plateau":
            scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer,
                mode="max",
                factor=c.plateau_factor,
                patience=c.plateau_patience,
                min_lr=c.min_lr,
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {
                    "scheduler": scheduler,
                    "monitor": f"val/{c.select_metric}",
                    "interval": "step",
                    "frequency": c.val_every_steps,
                    "strict": False,
                },
            }
        if c.scheduler == "linear":
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer,
                partial(linear_factor, c.warmup_steps, c.max_steps, c.min_lr / c.lr),
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
            }
        if c.scheduler == "inverse_sqrt":
            warmup = max(1, c.warmup_steps)
            # Vaswani et al. (2017) eq. (3), scaled to peak at lr after `warmup` steps.
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda step: min((step + 1) / warmup, math.sqrt(warmup / (step + 1)))
            )
            return {
                "optimizer": optimizer,
                "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
            }
        return {"optimizer": optimizer}

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["batches_in_epoch"] = (self.current_epoch, self.batches_in_epoch)
        checkpoint["torch_rng_state"] = torch.get_rng_state()
        # the scores of the validation that made the checkpoint: the bundle of a run selected
        # on chrF++ takes its dev BLEU from here, without decoding dev once more
        checkpoint["dev_scores"] = self.dev_scores

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self._rng_to_restore = checkpoint.get("torch_rng_state")
        datamodule = getattr(self.trainer, "datamodule", None) if self._trainer else None
        if datamodule is not None:
            epoch, done = checkpoint.get("batches_in_epoch", (0, 0))
            datamodule.resume = (epoch, done)


def linear_factor(warmup: int, total: int, floor: float, step: int) -> float:
    """The LR multiplier of the linear schedule at `step` (0-based): up from 1/warmup to 1 over
    `warmup` steps, then down in a straight line to `floor` (min_lr / lr) at step `total`."""
    if step < warmup:
        return (step + 1) / warmup
    left = max(0.0, 1.0 - (step - warmup) / max(1, total - warmup))
    return floor + (1.0 - floor) * left
