"""Attention heat-maps: valid files of a size that grows with the sentence, written atomically,
with Indic labels drawn in their own fonts (no boxes) and shaped (conjuncts joined, vowel signs
in place). The shaping tests go red if matplotlib stops laying text out with libraqm."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from matplotlib.textpath import TextToPath
from PIL import Image

from indic_common.errors import ConfigError, DataError
from seq2seq.evaluate.plots import LATIN, SCRIPTS, font_families, label_script, plot_attention

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Real sentences cut into plausible SentencePiece pieces, with an English side.
SENTENCES = {
    "hi": (
        "▁परन्तु ▁अनेक ▁विद्वान ों ▁तथा ▁शोध कर्ता ओं ▁के ▁अनुसार ▁क्षत्रिय".split(),
        "▁but ▁according ▁to ▁many ▁scholars ▁and ▁researchers , ▁Kshatriya s".split(),
    ),
    "ta": (
        "▁அறிஞர் கள் ▁தமிழ் ▁இலக்கண த்தை ▁ஸ்ரீ ▁கொண்டு".split(),
        "▁scholars ▁with ▁Sri ▁Tamil ▁grammar".split(),
    ),
    "bn": (
        "▁বাংলা ▁ভাষা র ▁ক্ষেত্রে ▁কোনো ▁শ্রী ▁রবীন্দ্র নাথ ।".split(),
        "▁in ▁the ▁case ▁of ▁the ▁Bengali ▁language , ▁no".split(),
    ),
}

# script: (conjunct, its two consonants, a vowel sign drawn before its consonant, that consonant)
SHAPING = {
    "Devanagari": ("क्ष", "क", "ष", "कि", "क"),
    "Tamil": ("ஸ்ரீ", "ஸ", "ர", "கொ", "க"),
    "Bengali": ("ক্ষ", "ক", "ষ", "কো", "ক"),
}


def _attention(n_tgt: int, n_src: int, seed: int = 0) -> np.ndarray:
    """A near-diagonal (T, S) attention matrix whose rows sum to 1."""
    weights = np.random.default_rng(seed).random((n_tgt, n_src)) ** 6 + np.eye(n_tgt, n_src)
    return weights / weights.sum(axis=1, keepdims=True)


def _plot_without_tofu(*args, **kwargs) -> Path:
    """plot_attention, failing if matplotlib reports a glyph missing from every font."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = plot_attention(*args, **kwargs)
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert not missing, missing
    return path


def _png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG, after checking that it is one and is not blank."""
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert np.asarray(image.convert("L")).std() > 10  # cells and labels, not one colour
        return image.size


@pytest.mark.parametrize(
    ("piece", "script"),
    [
        ("▁क्षत्रिय", "Devanagari"),
        ("ों", "Devanagari"),
        ("▁கொண்டு", "Tamil"),
        ("▁ক্ষেত্রে", "Bengali"),
        ("।", "Devanagari"),
        ("▁the", "Latin"),
        ("▁", "Latin"),
        ("<unk>", "Latin"),
        ("▁iPhoneকে", "Bengali"),
    ],
)
def test_label_script(piece, script):
    assert label_script(piece).name == script


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda s: s.name)
def test_each_script_is_drawn_with_one_of_its_fonts(script):
    sample = SHAPING[script.name][0]
    assert font_families(sample)[0] in script.families, (
        f"no {script.name} font installed: pip install {script.install}"
    )
    assert font_families("▁the")[0] in LATIN.families


@pytest.mark.parametrize("lang", sorted(SENTENCES))
@pytest.mark.parametrize("direction", ["to_en", "from_en"])
def test_writes_a_png_per_language(tmp_path, lang, direction):
    indic, english = SENTENCES[lang]
    src, tgt = (indic, english) if direction == "to_en" else (english, indic)
    path = tmp_path / f"{lang}-{direction}.png"
    assert (
        _plot_without_tofu(
            _attention(len(tgt), len(src)), src, tgt, path, title=" ".join(indic).replace("▁", " ")
        )
        == path
    )
    width, height = _png_size(path)
    assert 150 < width < 3000 and 150 < height < 3000


def test_long_sentences_get_a_bigger_picture(tmp_path):
    indic, english = SENTENCES["hi"]
    small = plot_attention(_attention(6, 6), indic[:6], english[:6], tmp_path / "small.png")
    src, tgt = (indic * 6)[:60], (english * 6)[:60]
    large = plot_attention(_attention(60, 60), src, tgt, tmp_path / "large.png")
    (w_small, h_small), (w_large, h_large) = _png_size(small), _png_size(large)
    assert w_large > 4 * w_small and h_large > 4 * h_small  # cells keep their size
    assert w_large < 5000 and h_large < 5000


@pytest.mark.parametrize(
    ("suffix", "magic"), [(".svg", b"<?xml"), (".pdf", b"%PDF-"), (".PNG", PNG_MAGIC)]
)
def test_format_follows_the_suffix(tmp_path, suffix, magic):
    indic, english = SENTENCES["bn"]
    path = _plot_without_tofu(
        _attention(len(english), len(indic)), indic, english, tmp_path / f"map{suffix}"
    )
    assert path.read_bytes().startswith(magic)


def test_rejects_unknown_suffix_shape_mismatch_and_empty(tmp_path):
    with pytest.raises(ConfigError, match="map.jpg"):
        plot_attention(_attention(2, 3), list("abc"), list("xy"), tmp_path / "map.jpg")
    with pytest.raises(ValueError, match="2 target x 3 source"):
        plot_attention(_attention(3, 2), list("abc"), list("xy"), tmp_path / "map.png")
    with pytest.raises(DataError):
        plot_attention(np.zeros((0, 3)), list("abc"), [], tmp_path / "map.png")
    assert list(tmp_path.iterdir()) == []


def test_write_is_atomic(tmp_path, monkeypatch):
    indic, english = SENTENCES["ta"]
    weights = _attention(len(english), len(indic))
    path = plot_attention(weights, indic, english, tmp_path / "map.png")
    plot_attention(weights, indic, english, path)  # replaces the file
    before = path.read_bytes()

    def fail(self, fname, **kwargs):
        fname.write(b"half a picture")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", fail)
    with pytest.raises(OSError, match="disk full"):
        plot_attention(weights, indic, english, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["map.png"]  # no temporary file left


def test_logs_and_never_prints(tmp_path, capsys, caplog):
    indic, english = SENTENCES["hi"]
    with caplog.at_level(logging.INFO, logger="seq2seq.evaluate.plots"):
        plot_attention(_attention(len(english), len(indic)), indic, english, tmp_path / "m.png")
    assert capsys.readouterr() == ("", "")
    assert "m.png" in caplog.text


def test_dollar_signs_are_text_not_mathtext(tmp_path):
    path = _plot_without_tofu(_attention(1, 2), ["▁$5", "$"], ["▁$x^2$"], tmp_path / "m.png")
    _png_size(path)


@pytest.mark.parametrize("script", sorted(SHAPING))
def test_conjunct_is_drawn_as_one_glyph_cluster(script):
    """Shaped, क्ष is one ligature, narrower than क and ष side by side; unshaped, the virama is a
    zero-width mark and the two consonants stand apart (ratio about 1)."""
    conjunct, first, second, _, _ = SHAPING[script]
    prop = FontProperties(family=font_families(conjunct), size=20)
    renderer = RendererAgg(200, 100, 100)  # the PNG backend, measuring as it draws

    def width(text: str) -> float:
        return renderer.get_text_width_height_descent(text, prop, ismath=False)[0]

    assert width(conjunct) < 0.9 * (width(first) + width(second))


@pytest.mark.parametrize("script", sorted(SHAPING))
def test_vowel_sign_is_drawn_before_its_consonant(script):
    """कि, கொ, কো are stored consonant first, but shaped their first glyph is the vowel sign."""
    _, _, _, syllable, consonant = SHAPING[script]
    font = get_font(findfont(FontProperties(family=font_families(syllable)[0])))
    text_to_path = TextToPath()

    def glyphs(text: str) -> list[str]:
        glyph_info, _, _ = text_to_path.get_glyphs_with_font(font, text)
        return [glyph for glyph, x, y, size in sorted(glyph_info, key=lambda g: g[1])]

    shaped = glyphs(syllable)
    assert len(shaped) >= 2
    assert shaped[0] != glyphs(consonant)[0]
    assert glyphs(consonant)[0] in shaped
