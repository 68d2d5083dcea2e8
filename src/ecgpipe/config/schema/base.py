"""What every section of the schema shares: the error a bad value raises, and frozen models
that refuse unknown keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ecgpipe.core.errors import PipelineError


class ConfigError(PipelineError, ValueError):
    """The parameters are not a valid ecgpipe configuration."""


class Frozen(BaseModel):
    """A section: immutable, and an unknown key is an error."""

    model_config = ConfigDict(frozen=True, extra="forbid")
