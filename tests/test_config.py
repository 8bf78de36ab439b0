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
