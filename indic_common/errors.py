"""Typed errors: the library raises these with the file, the line or the option, and what to do.

Only `seq2seq/cli.py` and `data_prep/__main__.py` turn them into a one-line message and an
exit status.
"""


class Seq2SeqError(Exception):
    """Base class of every error a user can fix."""


class ConfigError(Seq2SeqError):
    """A config file, an override or a command-line option is wrong."""


class DataError(Seq2SeqError):
    """Input text or a prepared-data folder is missing, malformed or empty."""


class BundleError(Seq2SeqError):
    """A model bundle is missing, incomplete, tampered with or of another kind."""
