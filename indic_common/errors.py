"""Typed errors: the library raises these with the file, the line or the option, and what to do.

Only `seq2seq/cli/` and `data_prep/__main__.py` turn them into a one-line message and an
exit status.
"""

from __future__ import annotations


class Seq2SeqError(Exception):
    """Base class of every error a user can fix."""


class ConfigError(Seq2SeqError):
    """A config file, an override or a command-line option is wrong.

    `key` names the config field at fault (e.g. "length_penalty") when there is one, so that
    the command line can name its own option instead.
    """

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


class DataError(Seq2SeqError):
    """Input text or a prepared-data folder is missing, malformed or empty."""


class BundleError(Seq2SeqError):
    """A model bundle is missing, incomplete, tampered with or of another kind."""
