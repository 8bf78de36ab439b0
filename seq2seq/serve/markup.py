"""HTML in, HTML out: the text between tags is translated, the tags are kept as they came.

The document is read by the standard library's HTML parser as a stream of tags and text, so
deep nesting costs no recursion (it is refused past `MAX_DEPTH` open elements all the same).
Not translated: `<code>`, `<pre>`, `<kbd>`, `<samp>`, `<script>`, `<style>`, anything under an
element with `translate="no"`, and Mastodon's mention, hashtag and link spans (classes
`mention`, `hashtag`, `invisible`, `ellipsis`). Known limit: a sentence broken by inline tags
(`a <b>big</b> house`) is translated piece by piece, each piece on its own.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser

from indic_common.errors import Seq2SeqError

MAX_DEPTH = 256  # open elements; deeper is refused
KEEP_TAGS = frozenset({"code", "pre", "kbd", "samp", "script", "style", "textarea"})
KEEP_CLASSES = frozenset({"mention", "hashtag", "invisible", "ellipsis"})
VOID_TAGS = frozenset(
    "area base br col embed hr img input link meta param source track wbr".split()
)


class MarkupError(Seq2SeqError):
    """HTML that cannot be translated (nested too deeply)."""


@dataclass(frozen=True)
class Piece:
    """A run of the document: markup and kept text as they are, or text to translate."""

    text: str
    translate: bool


@dataclass(frozen=True)
class Document:
    """An HTML text as pieces; `texts` are what to translate, `render` puts translations back."""

    pieces: tuple[Piece, ...]

    def texts(self) -> list[str]:
        """The texts to translate, in order, without the white space around them."""
        return [p.text.strip() for p in self.pieces if p.translate]

    def plain(self) -> str:
        """The translatable text alone (for language detection)."""
        return " ".join(self.texts())

    def render(self, translations: list[str]) -> str:
        """The document with each text replaced by its translation (escaped), the white space
        around it kept."""
        found = iter(translations)
        out = []
        for piece in self.pieces:
            if not piece.translate:
                out.append(piece.text)
                continue
            text = piece.text
            lead = text[: len(text) - len(text.lstrip())]
            trail = text[len(text.rstrip()) :]
            out.append(html.escape(lead + next(found) + trail, quote=False))
        return "".join(out)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[Piece] = []
        self.open: list[tuple[str, bool]] = []  # (tag, kept: not translated inside)

    def _raw(self, text: str) -> None:
        self.pieces.append(Piece(text, False))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._raw(self.get_starttag_text() or f"<{tag}>")
        if tag in VOID_TAGS:
            return
        if len(self.open) >= MAX_DEPTH:
            raise MarkupError(
                f"format html: more than {MAX_DEPTH} nested elements; send flatter HTML"
            )
        named = dict(attrs)
        classes = set((named.get("class") or "").split())
        kept = (
            (bool(self.open) and self.open[-1][1])
            or tag in KEEP_TAGS
            or (named.get("translate") or "").lower() == "no"
            or bool(classes & KEEP_CLASSES)
        )
        self.open.append((tag, kept))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._raw(self.get_starttag_text() or f"<{tag}/>")

    def handle_endtag(self, tag: str) -> None:
        self._raw(f"</{tag}>")
        for n in range(len(self.open) - 1, -1, -1):  # close it and whatever was left open in it
            if self.open[n][0] == tag:
                del self.open[n:]
                break

    def handle_data(self, data: str) -> None:
        if self.cdata_elem is not None:  # script or style: as it came
            self._raw(data)
        elif not data.strip() or (self.open and self.open[-1][1]):
            self._raw(html.escape(data, quote=False))
        elif self.pieces and self.pieces[-1].translate:  # one text run, one piece
            self.pieces[-1] = Piece(self.pieces[-1].text + data, True)
        else:
            self.pieces.append(Piece(data, True))

    def handle_comment(self, data: str) -> None:
        self._raw(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self._raw(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self._raw(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self._raw(f"<![{data}]>")


def parse_html(text: str) -> Document:
    """`text` as pieces of markup and text to translate; MarkupError when nested too deeply."""
    reader = _Reader()
    reader.feed(text)
    reader.close()
    return Document(tuple(reader.pieces))
