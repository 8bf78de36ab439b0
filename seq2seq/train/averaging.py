"""Checkpoint averaging: the mean of a run's kept best checkpoints, as weights or as a bundle
(`seq2seq average`). No Lightning here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from indic_common.errors import BundleError
from seq2seq.config import run_name
from seq2seq.model.bundle import load_bundle, save_bundle, training_info
from seq2seq.train.runs import kept_checkpoints


def average_checkpoints(paths: Sequence[Path | str]) -> dict[str, torch.Tensor]:
    """The element-wise mean of the checkpoints' weights (model.* entries, fp32)."""
    total: dict[str, torch.Tensor] = {}
    for path in paths:
        state = torch.load(path, map_location="cpu", weights_only=True)["state_dict"]
        for name, value in state.items():
            total[name] = total.get(name, 0) + value.float()
    return {name: value / len(paths) for name, value in total.items()}


def model_weights(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
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
        bundle.model.load_state_dict(model_weights(state))
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
