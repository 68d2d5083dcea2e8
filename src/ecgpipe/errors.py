"""The base of every error a user can act on; the CLI prints these without a traceback."""


class PipelineError(Exception):
    """Bad input or configuration, explained in the message (names the file, key or record)."""
