"""Configs: every shipped YAML loads; unknown keys, wrong types and bad values name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from indic_common.errors import ConfigError
from seq2seq.config import load_config, run_name

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


@pytest.mark.parametrize("path", sorted(CONFIG_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_config_loads(path: Path) -> None:
    cfg = load_config(path)
    assert run_name(cfg) in (path.stem, cfg.data.direction)


def test_six_directions_with_and_without_attention() -> None:
    for direction in ("hi-en", "en-hi", "ta-en", "en-ta", "bn-en", "en-bn"):
        assert load_config(CONFIG_DIR / f"{direction}.yaml").model.attention == "bahdanau"
        assert load_config(CONFIG_DIR / f"{direction}-noattn.yaml").model.attention == "none"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "text, expected",
    [
        ("model:\n  hiden_dim: 64\n", "hiden_dim"),
        ("trainer:\n  max_steps: 5\n", "trainer"),
        ("model:\n  hidden_dim: lots\n", "model.hidden_dim"),
        ("model:\n  attention: luong-ish\n", "model.attention"),
        ("decode:\n  beam_size: 0\n", "decode.beam_size must be positive"),
        ("data:\n  src_lang: hi\n  tgt_lang: ta\n", "data.src_lang/tgt_lang"),
        ("model: [1, 2\n", "not valid YAML"),
    ],
)
def test_bad_config_names_file_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(path) in str(e.value) and expected in str(e.value)
    assert "\n" not in str(e.value)


def test_overrides(tmp_path: Path) -> None:
    cfg = load_config(
        _write(tmp_path, "train:\n  max_steps: 5\n"),
        ["train.max_steps=7", "model.attention=none", "data.src_lang=en", "data.tgt_lang=ta"],
    )
    assert (cfg.train.max_steps, cfg.model.attention, cfg.data.pair, cfg.data.direction) == (
        7,
        "none",
        "ta-en",
        "en-ta",
    )


@pytest.mark.parametrize("override", ["train.max_steps", "max_steps=3", "train.nope=1"])
def test_bad_override(tmp_path: Path, override: str) -> None:
    with pytest.raises(ConfigError, match="override|nope"):
        load_config(_write(tmp_path, ""), [override])


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")


DIRECTIONS = ("hi-en", "en-hi", "ta-en", "en-ta", "bn-en", "en-bn")


def test_direction_configs_are_short_and_the_recipe_lives_once() -> None:
    for path in CONFIG_DIR.glob("[!_]*.yaml"):  # every config but the recipe
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 12, path.name
    for key in ("no_repeat_ngram", "min_len_ratio", "tie_output", "threads"):
        holders = sorted(p.name for p in CONFIG_DIR.glob("*.yaml") if key in p.read_text("utf-8"))
        # The length floor is chosen on each direction's dev: none into English but for
        # ta->en, 0.6 into Indic but 1.0 into Tamil; the six-direction model names both, per
        # target language; bn-en-bt-floor0 its own, chosen on dev as well.
        floors = [
            "_into_indic.yaml",
            "_recipe.yaml",
            "bn-en-bt-floor0.yaml",
            "en-ta.yaml",
            "multi-both.yaml",
            "ta-en.yaml",
        ]
        expected = floors if key == "min_len_ratio" else None
        assert holders == (expected or ["_recipe.yaml"]), (key, holders)


def test_a_base_change_reaches_every_child(tmp_path: Path) -> None:
    import shutil

    configs = Path(shutil.copytree(CONFIG_DIR, tmp_path / "configs"))
    recipe = configs / "_recipe.yaml"
    recipe.write_text(
        recipe.read_text("utf-8").replace("no_repeat_ngram: 3", "no_repeat_ngram: 4")
        + "  length_penalty: 0.7\n",
        encoding="utf-8",
    )
    for path in sorted(configs.glob("*.yaml")):
        cfg = load_config(path)
        assert (cfg.decode.no_repeat_ngram, cfg.decode.length_penalty) == (4, 0.7), path.name


def test_children_override_only_what_they_name() -> None:
    base, child = (
        load_config(CONFIG_DIR / "hi-en.yaml"),
        load_config(CONFIG_DIR / "hi-en-noup.yaml"),
    )
    assert child.data.upsample == {} and base.data.upsample  # a dict value is replaced whole
    assert child.train.max_time_minutes is None and child.train.max_steps == 3501
    assert (child.model, child.decode, child.train.lr) == (base.model, base.decode, base.train.lr)
    floors = {"hi-en": 0.0, "bn-en": 0.0, "ta-en": 0.6, "en-hi": 0.6, "en-bn": 0.6, "en-ta": 1.0}
    for direction in DIRECTIONS:
        cfg = load_config(CONFIG_DIR / f"{direction}.yaml")
        assert (cfg.data.direction, cfg.model.dropout, cfg.decode.min_len_ratio) == (
            direction,
            0.3,
            floors[direction],
        )


def test_base_cycle_and_bad_base(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("base: b.yaml\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="cycle"):
        load_config(tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("base: missing.yaml\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="missing.yaml: config file not found"):
        load_config(tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("base: [1, 2]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="base must be a file name"):
        load_config(tmp_path / "d.yaml")


def test_top_level_override_and_section_override_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "train:\n  max_steps: 5\n")
    assert load_config(path, ["name=foo"]).name == "foo"
    with pytest.raises(ConfigError, match="train is a section"):
        load_config(path, ["train=1"])
    with pytest.raises(ConfigError, match="trainer is not a section"):
        load_config(path, ["trainer.max_steps=1"])


@pytest.mark.parametrize(
    "text, overrides, expected",
    [
        ("model:\n  dropout: .nan\n", [], "model.dropout must be a finite number (got nan)"),
        ("", ["train.lr=nan"], "train.lr must be a finite number (got nan)"),
        ("", ["decode.length_penalty=inf"], "decode.length_penalty must be a finite number"),
        ("", ["train.max_time_minutes=-1"], "train.max_time_minutes must be positive"),
        ("", ["decode.nbest=7"], "decode.nbest (7) cannot exceed beam_size (5)"),
        (
            "data:\n  src_lang: en\n  tgt_lang: hi\n",
            ["decode.min_len_ratio_into={ta: 0.6}"],
            "decode.min_len_ratio_into.ta: this model translates into hi only",
        ),
    ],
)
def test_non_finite_and_bad_values(tmp_path: Path, text, overrides, expected) -> None:
    with pytest.raises(ConfigError) as e:
        load_config(_write(tmp_path, text), overrides)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_no_construction_path_skips_the_checks() -> None:
    import dataclasses

    from seq2seq.config import DecodeConfig

    with pytest.raises(ConfigError, match="decode.length_penalty must be a finite number"):
        dataclasses.replace(DecodeConfig(), length_penalty=float("nan"))
    with pytest.raises(ConfigError, match="decode.beam_size must be positive"):
        DecodeConfig(beam_size=0)
