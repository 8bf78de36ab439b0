"""Attention heat-maps labelled with SentencePiece pieces in Devanagari, Bengali, Tamil and Latin.

Shaping. Indic labels are only readable when shaped: a conjunct such as क्ष, ஸ்ரீ or ক্ষ is one
glyph, and a vowel sign such as the i of कि or the two halves of கொ and কো is drawn before the
consonant it follows in memory. matplotlib >= 3.11 lays every text out with libraqm (HarfBuzz and
FriBiDi, built into its wheels), in Agg (PNG), SVG (text as paths) and PDF alike, so plain
matplotlib does it, with no extra library. Older matplotlib draws one glyph per code point, with
the vowel signs detached: `plot_attention` logs a warning then.

Fonts. Each label gets a chain of font families, chosen by the script most of its letters are in;
matplotlib falls back glyph by glyph along the chain, which ends in DejaVu Sans (shipped with
matplotlib) for '▁' (U+2581), the SentencePiece word-start mark, which we keep as it is. A family
is found either in a pip font package (``fontpkg-noto-sans-devanagari`` and friends, registered
with matplotlib here) or among the system fonts matplotlib knows (e.g. Debian's fonts-noto-core).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib import font_manager, ft2font
from matplotlib.figure import Figure
from matplotlib.text import Text

from indic_common.atomic import open_atomic
from indic_common.errors import ConfigError, DataError
from indic_common.languages import LATIN, SCRIPTS, Script

try:  # pip font packages; without them, fonts come from the system
    import fontpkg
except ImportError:  # pragma: no cover - depends on how fonts were installed
    fontpkg = None

log = logging.getLogger(__name__)

FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
FONT_SIZE = 10.0  # points, every label
CELL_IN = 0.3  # inches per attention cell: one line of shaped Indic text at FONT_SIZE fits
DPI = 150  # PNG only; Indic glyphs need more pixels than Latin ones to stay crisp
LAST_RESORT = "DejaVu Sans"  # ships inside matplotlib; has '▁' and Latin


def label_script(text: str) -> Script:
    """The Indic script most of `text`'s Indic letters are in; LATIN when it has none ('▁the')."""
    counts = Counter(script for char in text for script in SCRIPTS if script.covers(char))
    return counts.most_common(1)[0][0] if counts else LATIN


def _register_packaged_fonts() -> None:
    """Add the regular face of each wanted family that a pip font package ships to matplotlib.

    matplotlib's font list is its own process-wide registry; adding a file twice is avoided, so
    calling this before every plot is cheap and changes nothing after the first time.
    """
    if fontpkg is None:
        return
    known = {Path(entry.fname) for entry in font_manager.fontManager.ttflist}
    for family in (name for script in (*SCRIPTS, LATIN) for name in script.families):
        try:
            path = fontpkg.path(family)
        except fontpkg.FontpkgError:  # that family's package is not installed
            continue
        if path not in known:
            font_manager.fontManager.addfont(str(path))
            log.debug("registered font %s for %r", path, family)


def _installed_family(script: Script) -> str | None:
    """The first of `script.families` that matplotlib can find, or None."""
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return next((name for name in script.families if name in installed), None)


def _font_chain(script: Script) -> list[str]:
    """Installed families for `script`'s labels: its font, Latin, the other Indic fonts (for
    mixed pieces), DejaVu Sans. The first is DejaVu Sans when `script` has no font."""
    chain = [_installed_family(s) for s in (script, LATIN, *SCRIPTS)] + [LAST_RESORT]
    return list(dict.fromkeys(name for name in chain if name is not None))


def font_families(text: str) -> list[str]:
    """The font-family fallback chain matplotlib draws the label `text` with, best first."""
    _register_packaged_fonts()
    return _font_chain(label_script(text))


def _warn_missing(texts: Sequence[str]) -> None:
    """Log what to install when a label's script has no font or matplotlib cannot shape."""
    if getattr(ft2font, "__libraqm_version__", None) is None:
        log.warning(
            "this matplotlib lays text out without libraqm, so Indic labels will have "
            "detached vowel signs and broken conjuncts; install matplotlib>=3.11"
        )
    scripts = {label_script(text) for text in texts} - {LATIN}
    for script in sorted(scripts, key=lambda s: s.name):
        if _installed_family(script) is None:
            log.warning(
                "no %s font found (tried %s): labels will show boxes; pip install %s, "
                "or apt-get install fonts-noto-core and delete matplotlib's font cache "
                "in %s",
                script.name,
                ", ".join(script.families),
                script.package,
                matplotlib.get_cachedir(),
            )


def plot_attention(
    weights: np.ndarray,
    src_pieces: Sequence[str],
    tgt_pieces: Sequence[str],
    path: Path,
    title: str | None = None,
) -> Path:
    """Write a heat-map of attention weights (T, S): rows = target pieces, columns = source
    pieces, to PNG (or SVG/PDF by suffix). Returns path.

    weights: (T, S), row t the attention over source pieces when target piece t was produced.
    Pieces are shown as SentencePiece writes them, '▁' marking a word start. Every cell is
    CELL_IN inches square, so a 60 x 60 map is as legible as a 5 x 5 one, only bigger. The file
    appears whole or not at all (temporary file in the same folder, then os.replace).
    """
    path = Path(path)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2 or weights.shape != (len(tgt_pieces), len(src_pieces)):
        raise ValueError(
            f"attention weights of shape {weights.shape} do not match "
            f"{len(tgt_pieces)} target x {len(src_pieces)} source pieces"
        )
    if weights.size == 0:
        raise DataError(
            f"{path}: no attention map to draw for {len(tgt_pieces)} target x "
            f"{len(src_pieces)} source pieces; is the sentence or translation empty?"
        )
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ConfigError(
            f"{path}: cannot write an attention map as {path.suffix or 'no suffix'!r}"
            f"; name the file {', '.join(FORMATS)}"
        )
    _register_packaged_fonts()
    _warn_missing([*src_pieces, *tgt_pieces, title or ""])
    chains = {script: _font_chain(script) for script in (*SCRIPTS, LATIN)}
    n_tgt, n_src = weights.shape

    # The axes fill the figure and the labels hang outside it; bbox_inches="tight" then grows
    # the saved image around them, so cells keep their size whatever the labels' length.
    width, height = n_src * CELL_IN, n_tgt * CELL_IN
    fig = Figure(figsize=(width, height), dpi=DPI)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    top = float(np.nanmax(weights)) if np.isfinite(weights).any() else 1.0
    image = ax.imshow(
        weights,
        cmap="viridis",
        vmin=0.0,
        vmax=top if top > 0 else 1.0,
        aspect="equal",
        interpolation="nearest",
    )
    ax.xaxis.tick_top()
    ax.xaxis.set_label_position("top")
    ax.set_xticks(range(n_src), src_pieces, rotation=90)
    ax.set_yticks(range(n_tgt), tgt_pieces)
    ax.tick_params(length=0, pad=3)  # a tick would run into the '▁' that starts a piece
    for label in (*ax.get_xticklabels(), *ax.get_yticklabels()):
        _style_label(label, chains[label_script(label.get_text())])
    ax.set_xlabel("source", fontsize=FONT_SIZE)
    ax.set_ylabel("target", fontsize=FONT_SIZE)
    if title:
        _style_label(ax.set_title(title, pad=8), chains[label_script(title)])

    bar_height = min(height, max(1.5, height / 2))  # readable on a 2 x 2 map, not huge on 60 x 60
    cax = fig.add_axes(
        (1.0 + 0.15 / width, 1.0 - bar_height / height, 0.15 / width, bar_height / height)
    )
    fig.colorbar(image, cax=cax).ax.tick_params(labelsize=FONT_SIZE - 2)

    path.parent.mkdir(parents=True, exist_ok=True)
    with open_atomic(path, binary=True) as out:
        fig.savefig(out, format=fmt, bbox_inches="tight", pad_inches=0.1)
    log.info("wrote %d x %d attention map to %s", n_tgt, n_src, path)
    return path


def _style_label(label: Text, families: list[str]) -> None:
    """Give one label its font chain; a '$' in a piece is text, not mathtext."""
    label.set_fontfamily(families)
    label.set_fontsize(FONT_SIZE)
    label.set_parse_math(False)
