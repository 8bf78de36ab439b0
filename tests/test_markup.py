"""HTML kept while its text is translated (seq2seq.serve.markup): what is translated, what is kept,
how translations are put back, and nesting refused past the limit."""

from __future__ import annotations

import pytest

from seq2seq.serve.markup import MAX_DEPTH, MarkupError, parse_html

CASES = [
    # (html, the texts to translate)
    ("<p>Hello world</p>", ["Hello world"]),
    ("plain text", ["plain text"]),
    ("<p>a <b>big</b> house</p>", ["a", "big", "house"]),  # piece by piece: a known limit
    ("<p>x &amp; y &lt; z</p>", ["x & y < z"]),
    ("<p>run <code>ls -l</code> now</p>", ["run", "now"]),
    ('<p translate="no">keep <b>all</b></p><p>this</p>', ["this"]),
    ("<pre>keep\n  me</pre><script>if (a < b) {}</script><style>p{}</style>", []),
    (
        '<span class="h-card" translate="no"><a class="u-url mention">@<span>asha</span></a>'
        '</span> hi <a class="mention hashtag" rel="tag">#<span>tea</span></a>',
        ["hi"],
    ),
    (
        '<a href="https://example.org/x"><span class="invisible">https://</span>'
        '<span class="ellipsis">example.org/x</span></a> read it',
        ["read it"],
    ),
    ("<p>one<br>two<br/>three</p><!-- note --><img src=x>", ["one", "two", "three"]),
    ("<p>  </p>\n<p></p>", []),
]


@pytest.mark.parametrize("html,texts", CASES)
def test_what_is_translated(html: str, texts: list[str]) -> None:
    doc = parse_html(html)
    assert doc.texts() == texts
    assert doc.render(doc.texts()) == html  # untranslated, the document comes back as it was


def test_translations_are_escaped_and_spaced_as_the_source() -> None:
    doc = parse_html('<p><span translate="no">@asha</span> hello <i>you</i></p>')
    assert doc.render(["<namaste> & co", "tum"]) == (
        '<p><span translate="no">@asha</span> &lt;namaste&gt; &amp; co <i>tum</i></p>'
    )


def test_deep_nesting_is_refused_without_recursion() -> None:
    assert parse_html("<b>" * MAX_DEPTH + "x").texts() == ["x"]
    with pytest.raises(MarkupError, match=f"more than {MAX_DEPTH} nested elements"):
        parse_html("<b>" * 100_000 + "x")
