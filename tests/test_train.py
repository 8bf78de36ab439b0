"""Training: the loss goes down, a resumed run reproduces an uninterrupted one, DDP on two CPU
processes ends with identical weights, and bad setups fail with one line."""

from __future__ import annotations

import csv
import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from conftest import requires_bf16, tiny_config

from indic_common.errors import ConfigError, DataError
from seq2seq.data.prepared import PreparedPair
from seq2seq.model.bundle import read_metadata
from seq2seq.train.trainer import train


def _losses(run_dir: Path) -> dict[int, float]:
    """train/loss per step from the CSV log of a run (all versions, later ones win)."""
    out = {}
    for path in sorted(run_dir.glob("logs/version_*/metrics.csv")):
        with path.open() as f:
            for row in csv.DictReader(f):
                if row.get("train/loss"):
                    out[int(row["step"])] = float(row["train/loss"])
    return out


def test_loss_goes_down(tiny_bundle: Path) -> None:
    losses = _losses(tiny_bundle.parent.parent / "runs" / "hi-en")
    steps = sorted(losses)
    first = sum(losses[s] for s in steps[:3]) / 3
    last = sum(losses[s] for s in steps[-3:]) / 3
    # A batch's loss depends on its length bucket as much as on the step: 10% down from the
    # steps 9-29 average (itself ~half the initial ln(vocab)) to steps 79-99 is training.
    assert len(steps) >= 8 and last < 0.9 * first, losses


def _resume_config(data_root: Path, work: Path, max_steps: int):
    return tiny_config(
        data_root,
        work,
        train={"max_steps": max_steps, "val_every_steps": 8, "log_every_steps": 1},
        data={"dev_max_sents": 8},
    )


def _last_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    return state["state_dict"]


def test_resume_reproduces_uninterrupted_run(data_root: Path, tmp_path: Path) -> None:
    train(_resume_config(data_root, tmp_path / "a", 16))
    first = read_metadata(train(_resume_config(data_root, tmp_path / "b", 8)))
    with pytest.raises(ConfigError, match="--resume"):
        train(_resume_config(data_root, tmp_path / "b", 16))
    # The bundle's training time counts both runs (up to the checkpoint resumed from): the
    # checkpoint's timer is set to 1,000 s, which the resumed run adds its own time to.
    assert first["train_seconds"] == pytest.approx(first["train_seconds_this_run"], abs=5.0)
    last = tmp_path / "b" / "runs" / "hi-en" / "checkpoints" / "last.ckpt"
    state = torch.load(last, weights_only=False)
    state["callbacks"]["Timer"]["time_elapsed"]["train"] = 1000.0
    torch.save(state, last)
    resumed = read_metadata(train(_resume_config(data_root, tmp_path / "b", 16), resume=True))
    assert 1000.0 <= resumed["train_seconds"] <= 1000.5 + resumed["train_seconds_this_run"]
    a = _losses(tmp_path / "a" / "runs" / "hi-en")
    b = _losses(tmp_path / "b" / "runs" / "hi-en")
    assert sorted(a) == sorted(b) and len(a) >= 15
    assert [a[s] for s in sorted(a)] == [b[s] for s in sorted(b)]
    wa, wb = (
        _last_weights(tmp_path / "a" / "runs" / "hi-en"),
        _last_weights(tmp_path / "b" / "runs" / "hi-en"),
    )
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_resume_refuses_other_model_settings(data_root: Path, tmp_path: Path) -> None:
    train(_resume_config(data_root, tmp_path, 4))
    other = tiny_config(
        data_root,
        tmp_path,
        train={"max_steps": 8},
        model={"emb_dim": 32, "hidden_dim": 32, "attn_dim": 32},
    )
    with pytest.raises(ConfigError, match="other data or model settings"):
        train(other, resume=True)


def test_ddp_two_cpu_processes_identical_weights(data_root: Path, tmp_path: Path) -> None:
    cfg = tiny_config(
        data_root,
        tmp_path,
        train={"max_steps": 6, "val_every_steps": 3, "devices": 2, "strategy": "ddp", "threads": 1},
        data={"dev_max_sents": 8},
    )
    path = tmp_path / "ddp.yaml"
    raw = dataclasses.asdict(cfg)
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    seq2seq = Path(sys.executable).parent / "seq2seq"
    result = subprocess.run(
        [str(seq2seq), "-v", "train", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    digests = dict(re.findall(r"rank (\d) weights digest (\w+)", result.stderr))
    assert set(digests) == {"0", "1"}, result.stderr[-3000:]
    assert digests["0"] == digests["1"]
    # Output is not a terminal: plain progress lines, no carriage-return progress bar.
    assert "\r" not in result.stdout + result.stderr
    assert re.search(r"step 1/6 .* target tokens/s", result.stderr), result.stderr[-3000:]
    assert re.search(r"step \d+  val/loss [\d.]+  val/bleu", result.stderr)
    assert (tmp_path / "models" / "hi-en" / "model.safetensors").is_file()


def test_missing_data_folder(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no prepared data .* `make data PAIR=hi-en`"):
        train(tiny_config(tmp_path / "nothing", tmp_path))


def test_upsample_repeats_one_corpus(data_root: Path) -> None:
    prepared = PreparedPair(data_root / "hi-en")
    src, tgt = prepared.read("train", "hi"), prepared.read("train", "en")
    origin = prepared.read("train", "origin")
    index = prepared.train_index({"post2012": 3})
    up_src, up_tgt = [src[i] for i in index], [tgt[i] for i in index]
    post = [(s, t) for s, t, o in zip(src, tgt, origin) if o.startswith("post2012/")]
    assert len(up_src) == len(up_tgt) == len(src) + 2 * len(post) > len(src)
    assert sum((s, t) in set(post) for s, t in zip(up_src, up_tgt)) >= 3 * len(post)
    # One split of a corpus, and the exact name before the corpus's.
    dev = origin.count("post2012/devtest")
    assert len(prepared.train_index({"post2012/devtest": 2})) == len(src) + dev
    assert len(prepared.train_index({"post2012": 3, "post2012/devtest": 1})) == len(src) + 2 * (
        len(post) - dev
    )
    with pytest.raises(DataError, match="data.upsample names wikipedia, not among"):
        prepared.train_index({"wikipedia": 2})


def test_run_recorded_by_an_earlier_version(data_root: Path, tmp_path: Path) -> None:
    import json

    from seq2seq.train.runs import check_run_dir

    cfg = tiny_config(data_root, tmp_path)
    run_dir = tmp_path / "runs" / "hi-en"
    (run_dir / "checkpoints").mkdir(parents=True)
    last = run_dir / "checkpoints" / "last.ckpt"
    last.write_bytes(b"x")
    record = json.loads(json.dumps(dataclasses.asdict(cfg)))
    del record["decode"]["no_repeat_ngram"]  # a field it did not know yet: still the same run
    (run_dir / "run.json").write_text(json.dumps(record), encoding="utf-8")
    assert check_run_dir(run_dir, cfg, resume=True, overwrite=False) == last
    record["model"]["gone_option"] = 1  # a field this version no longer has: a one-line stop
    (run_dir / "run.json").write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(ConfigError, match="cannot read the run's record .* --overwrite") as e:
        check_run_dir(run_dir, cfg, resume=True, overwrite=False)
    assert "\n" not in str(e.value)


def test_dev_set_that_selects_checkpoints(data_root: Path, tmp_path: Path) -> None:
    from seq2seq.data.batches import TranslationData

    cfg = tiny_config(data_root, tmp_path, data={"dev_set": "dev-post2012"})
    data = TranslationData(cfg.data, seed=1)
    data.setup()
    wiki = PreparedPair(data_root / "hi-en")
    assert len(data.dev_refs) == 4
    assert data.dev_refs[0] == wiki.read("dev-post2012", "en")[: cfg.data.dev_max_sents]
    bad = tiny_config(data_root, tmp_path, data={"dev_set": "dev-wikipedia"})
    with pytest.raises(DataError, match="no held-out set 'dev-wikipedia' .*dev-post2012"):
        TranslationData(bad.data, seed=1).setup()


def test_train_parts_keep_only_the_named_parts(data_root: Path) -> None:
    prepared = PreparedPair(data_root / "hi-en")
    origin = prepared.read("train", "origin")
    kept = prepared.train_index({"post2012/devtest": 2}, keep=["post2012"])
    assert len(kept) == sum(o.startswith("post2012/") for o in origin) + origin.count(
        "post2012/devtest"
    )
    with pytest.raises(DataError, match="data.train_parts names wiki, not among"):
        prepared.train_index({}, keep=["wiki"])


def test_fine_tuning_starts_from_the_bundle(tiny_bundle: Path, data_root: Path, tmp_path: Path):
    from seq2seq.model.bundle import load_bundle

    before = load_bundle(tiny_bundle).model.state_dict()
    cfg = tiny_config(
        data_root,
        tmp_path,
        train={"init_from": str(tiny_bundle), "lr": 1e-9, "max_steps": 2, "val_every_steps": 2},
        data={"train_parts": ["post2012"]},
    )
    after = load_bundle(train(cfg)).model.state_dict()
    for name, tensor in before.items():  # a learning rate of 1e-9: the start is the bundle
        torch.testing.assert_close(after[name], tensor, atol=1e-6, rtol=0)
    other = tiny_config(
        data_root, tmp_path / "b", model={"hidden_dim": 32}, train={"init_from": str(tiny_bundle)}
    )
    with pytest.raises(ConfigError, match="init_from .* model settings or vocabularies differ"):
        train(other)


def test_domain_tags_from_data_to_translation(data_root: Path, tmp_path: Path) -> None:
    """data.domain_tags: every source starts with its line's domain tag; the bundle lists the
    domains and defaults to the dev set's; the translator checks the domain it is given."""
    from seq2seq.data.batches import TranslationData
    from seq2seq.decode.translate import Translator

    prepared = PreparedPair(data_root / "hi-en")
    domains = prepared.domains("train")
    origin = prepared.read("train", "origin")
    assert {d for d, o in zip(domains, origin) if o.startswith("vg/")} == {"captions"}
    assert {d for d, o in zip(domains, origin) if o == "post2012/devtest"} == {"wikipedia"}
    assert set(prepared.domains("test-post2012")) == {"wikipedia"}
    assert prepared.meta["domains"] == sorted(set(domains))

    cfg = tiny_config(
        data_root,
        tmp_path,
        data={"domain_tags": True, "dev_set": "dev-post2012", "dev_max_sents": 8},
        train={"max_steps": 4, "val_every_steps": 4},
    )
    data = TranslationData(cfg.data, seed=1)
    data.setup()
    tag = data.src_vocab.piece_id("<dom:wikipedia>")
    assert tag is not None and all(ids[0] == tag for ids in data.dev_src_ids)
    firsts = {int(data.train_corpus[i][0][0]) for i in range(len(data.train_corpus))}
    assert firsts == {data.src_vocab.piece_id(f"<dom:{d}>") for d in set(domains)}

    bundle = train(cfg)
    tr = Translator.load(bundle)
    assert tr.domains == sorted(set(domains)) and tr.domain == "wikipedia"
    assert tr.align("मुझे चाय पसंद है ।").src_pieces[0] == "<dom:wikipedia>"
    captions = Translator.load(bundle, domain="captions")
    assert captions.align("मुझे चाय पसंद है ।").src_pieces[0] == "<dom:captions>"
    assert len(tr.translate_batch(["एक", "दो"], domains=["captions", "wikipedia"])) == 2
    with pytest.raises(ConfigError, match="unknown domain 'legal'; this model knows .*wikipedia"):
        Translator.load(bundle, domain="legal")

    # Fine-tuned on Wikipedia pairs alone, it still knows the domains it started with.
    tuned = tiny_config(
        data_root,
        tmp_path / "tuned",
        data={
            "domain_tags": True,
            "dev_set": "dev-post2012",
            "dev_max_sents": 8,
            "train_parts": ["post2012/devtest"],
        },
        train={"max_steps": 2, "val_every_steps": 2, "init_from": str(bundle)},
    )
    assert Translator.load(train(tuned), domain="captions").domains == sorted(set(domains))


def test_domain_tags_need_data_prepared_with_them(data_root: Path, tmp_path: Path) -> None:
    import shutil

    from seq2seq.data.batches import TranslationData

    old = tmp_path / "data" / "hi-en"
    shutil.copytree(data_root / "hi-en", old)
    (old / "train.domain").unlink()
    cfg = tiny_config(tmp_path / "data", tmp_path, data={"domain_tags": True})
    with pytest.raises(DataError, match="train.domain missing: .* `make data PAIR=hi-en` again"):
        TranslationData(cfg.data, seed=1).setup()


def test_checkpoint_averaging(
    data_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """average_checkpoints is the element-wise mean; train.average_best scores the average of
    the kept checkpoints on dev and records the choice in the bundle."""
    import json

    from seq2seq.train.averaging import average_checkpoints

    for n, value in enumerate((1.0, 2.0, 6.0)):
        torch.save({"state_dict": {"model.w": torch.full((2,), value)}}, tmp_path / f"{n}.ckpt")
    mean = average_checkpoints([tmp_path / f"{n}.ckpt" for n in range(3)])
    assert torch.equal(mean["model.w"], torch.full((2,), 3.0))

    cfg = tiny_config(
        data_root,
        tmp_path,
        data={"dev_max_sents": 8},
        train={"max_steps": 12, "val_every_steps": 4, "keep_best": 2, "average_best": True},
    )
    bundle = train(cfg)
    meta = json.loads((bundle / "metadata.json").read_text())
    averaged = meta["averaged"]
    assert len(averaged["checkpoints"]) == 2
    if averaged["kept"]:
        assert meta["dev_bleu"] == averaged["dev_bleu_average"] > averaged["dev_bleu_best_single"]
    else:
        assert averaged["dev_bleu_average"] <= meta["dev_bleu"]

    # After the fact: `seq2seq average` writes a bundle of the run's kept checkpoints' mean.
    from safetensors.torch import load_file

    from seq2seq.cli.main import main
    from seq2seq.model.bundle import load_bundle

    ckpts = sorted((tmp_path / "runs" / "hi-en" / "checkpoints").glob("step*.ckpt"))
    assert main(["average", "--model", str(bundle), "-o", str(tmp_path / "avg")]) == 0
    expected = average_checkpoints(ckpts)
    weights = load_file(tmp_path / "avg" / "model.safetensors")
    for name, value in weights.items():
        torch.testing.assert_close(value, expected[f"model.{name}"])
    avg = load_bundle(tmp_path / "avg")
    assert sorted(avg.metadata["averaged"]["checkpoints"]) == [p.name for p in ckpts]
    assert "dev_bleu" not in avg.metadata
    for ckpt in ckpts[1:]:
        ckpt.unlink()
    assert main(["average", "--model", str(bundle), "-o", str(tmp_path / "avg2")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("seq2seq average: error: ") and "1 kept checkpoint(s)" in err
    assert "\n" not in err and not (tmp_path / "avg2").exists()


def test_subword_sampling_is_new_each_epoch_and_seeded(data_root: Path, tmp_path: Path) -> None:
    from types import SimpleNamespace

    from seq2seq.data.batches import TranslationData

    cfg = tiny_config(data_root, tmp_path, data={"sample_alpha": 0.3})
    data = TranslationData(cfg.data, seed=1)
    data.setup()

    def pieces(epoch: int) -> list[tuple]:
        data.trainer = SimpleNamespace(current_epoch=epoch, global_rank=0, world_size=1)
        data.train_dataloader()
        corpus = data.train_corpus
        return [tuple(corpus[i][0]) + tuple(corpus[i][1]) for i in range(len(corpus))]

    first, again, second = pieces(0), pieces(0), pieces(1)
    assert first == again  # the same epoch: the same segmentation (a resumed run)
    assert sum(a != b for a, b in zip(first, second)) > len(first) // 4
    with pytest.raises(ConfigError, match="data.sample_alpha must be 0 .off. to 1"):
        tiny_config(data_root, tmp_path, data={"sample_alpha": 2.0})


def test_resume_refuses_data_prepared_again(data_root: Path, tmp_path: Path) -> None:
    """A checkpoint holds piece ids: resuming on data whose tokenizers changed would train
    (or ship) a model that reads the wrong pieces, so it is refused with one line."""
    from seq2seq.train.runs import check_run_dir

    cfg = tiny_config(data_root, tmp_path)
    run_dir = tmp_path / "runs" / "hi-en"
    assert check_run_dir(run_dir, cfg, resume=True, overwrite=False, vocab_digest="a") is None
    (run_dir / "checkpoints").mkdir(parents=True)
    last = run_dir / "checkpoints" / "last.ckpt"
    last.write_bytes(b"x")
    assert check_run_dir(run_dir, cfg, resume=True, overwrite=False, vocab_digest="a") == last
    with pytest.raises(ConfigError, match="other tokenizers than .*--overwrite") as e:
        check_run_dir(run_dir, cfg, resume=True, overwrite=False, vocab_digest="b")
    assert "\n" not in str(e.value)
    assert check_run_dir(run_dir, cfg, resume=True, overwrite=True, vocab_digest="b") is None


@requires_bf16
def test_precision_auto_times_both_and_leaves_the_run_unchanged(
    data_root: Path, tmp_path: Path
) -> None:
    """train.precision auto (the default) times fp32 and bf16-mixed steps, records both speeds
    and the choice, and the run is the one the chosen precision gives without the probe."""
    import json

    from safetensors.torch import load_file

    from seq2seq.config import TrainConfig
    from seq2seq.train.precision import CANDIDATES

    assert TrainConfig().precision == "auto"
    steps = {"max_steps": 6, "val_every_steps": 6}
    bundle = train(tiny_config(data_root, tmp_path / "a", train={**steps, "precision": "auto"}))
    chosen = json.loads((bundle / "metadata.json").read_text())["precision"]
    assert chosen["chosen"] in CANDIDATES and chosen["probe_seconds"] >= 0
    assert set(chosen["probe_tokens_per_s"]) == set(CANDIDATES)
    assert all(v > 0 for v in chosen["probe_tokens_per_s"].values())
    fixed = {**steps, "precision": chosen["chosen"]}
    again = train(tiny_config(data_root, tmp_path / "b", train=fixed))
    a, b = load_file(bundle / "model.safetensors"), load_file(again / "model.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_linear_schedule_warms_up_then_falls_to_min_lr_at_max_steps() -> None:
    from seq2seq.config import TrainConfig
    from seq2seq.train.task import TranslationTask

    cfg = TrainConfig(scheduler="linear", lr=0.002, min_lr=0.0002, warmup_steps=2, max_steps=12)
    task = TranslationTask(torch.nn.Linear(2, 2), cfg, None, None, [])  # type: ignore[arg-type]
    setup = task.configure_optimizers()
    optimizer, scheduler = setup["optimizer"], setup["lr_scheduler"]["scheduler"]
    lrs = []
    for _ in range(14):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[:3] == pytest.approx([0.001, 0.002, 0.002])  # warm-up, then the peak
    assert all(a > b for a, b in zip(lrs[2:12], lrs[3:13]))  # straight down ...
    assert lrs[12] == lrs[13] == pytest.approx(0.0002)  # ... to min_lr at max_steps
    assert lrs[7] == pytest.approx(0.0002 + 0.0018 * 0.5)  # halfway: half the way down
    with pytest.raises(ConfigError, match="train.warmup_steps .* must be below max_steps"):
        TrainConfig(scheduler="linear", warmup_steps=12, max_steps=12)


def test_checkpoints_selected_on_dev_chrf(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """train.select_metric chrf: the kept checkpoint is the one of the best dev chrF++ in the
    log, and the bundle records that score, the dev BLEU of those weights (kept in the
    checkpoint: dev is not decoded again) and the choice."""
    import json

    import pytorch_lightning as pl

    validations = []
    validate = pl.Trainer.validate
    monkeypatch.setattr(
        pl.Trainer, "validate", lambda *a, **k: validations.append(1) or validate(*a, **k)
    )
    cfg = tiny_config(
        data_root,
        tmp_path,
        data={"dev_max_sents": 8},
        train={"max_steps": 12, "val_every_steps": 4, "select_metric": "chrf", "keep_best": 2},
    )
    bundle = train(cfg)
    meta = json.loads((bundle / "metadata.json").read_text())
    dev = {}  # step -> (chrF++, BLEU) of each validation (logged at the step before it)
    for path in (tmp_path / "runs" / "hi-en").glob("logs/version_*/metrics.csv"):
        with path.open() as f:
            for r in csv.DictReader(f):
                if r.get("val/chrf"):
                    dev[int(r["step"]) + 1] = (float(r["val/chrf"]), float(r["val/bleu"]))
    # The training's three validations only: scoring the selected weights is not logged.
    assert sorted(dev) == [4, 8, 12] and not validations
    assert meta["selected_on"] == "chrf"
    assert meta["dev_chrf"] == round(max(chrf for chrf, _ in dev.values()), 2)
    assert (meta["dev_chrf"], meta["dev_bleu"]) == tuple(
        round(x, 2) for x in dev[meta["best_step"]]
    )
    names = [p.name for p in (tmp_path / "runs" / "hi-en" / "checkpoints").glob("step*.ckpt")]
    assert len(names) == 2 and all("-chrf" in n for n in names)
    # `seq2seq average` finds a chrF-selected run's checkpoints too.
    from seq2seq.cli.main import main
    from seq2seq.model.bundle import load_bundle

    assert main(["average", "--model", str(bundle), "-o", str(tmp_path / "avg")]) == 0
    averaged = load_bundle(tmp_path / "avg").metadata["averaged"]
    assert sorted(averaged["checkpoints"]) == sorted(names)
    with pytest.raises(ConfigError, match="select_metric"):
        train(tiny_config(data_root, tmp_path / "b", train={"select_metric": "ter"}))
