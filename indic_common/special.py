"""Reserved SentencePiece ids and pieces, fixed when a tokenizer is trained and relied on by
the model and the search."""

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
# The target-language tags (indic_common.languages.LANG_TAGS) are reserved right after these,
# so that a multilingual model can prepend `<2hi>` etc.; then the domain tags.
# Domains of training and test lines (data_prep's catalogue gives each corpus one); a model
# trained with `data.domain_tags` reads the tag of its line's domain before the source.
DOMAINS = (
    "wikipedia",
    "captions",
    "news",
    "bible",
    "conversation",
    "general",
    "dictionary",
    "interface",
    "monolingual",
    "backtranslation",
)


def domain_tag(domain: str) -> str:
    """The reserved piece of a domain, e.g. `<dom:wikipedia>`."""
    return f"<dom:{domain}>"
