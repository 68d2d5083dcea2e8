"""The base of every error a user can act on; the CLI prints these without a traceback."""


class PipelineError(Exception):
    """Bad input or configuration, explained in the message (names the file, key or record)."""


class TrainingDiverged(PipelineError):
    """The training loss stopped being finite (typically: the learning rate is too high)."""
