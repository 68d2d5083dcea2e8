"""``validate``: the integrity checks (``conf/validate/``)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
)

from ecgpipe.config.schema.base import Frozen


class ValidateConfig(Frozen):
    """Integrity checks and what to do with records that fail them."""

    policy: Literal["exclude", "fail"]
    max_excluded_fraction: float = Field(ge=0.0, le=1.0)
    workers: int = Field(ge=0, description="processes; 0 = all cores")
    flat_std_mv: float = Field(gt=0, description="a lead with a smaller std is flat")
    saturation_min_s: float = Field(gt=0, description="time held at a lead's extreme")
    amplitude_limit_mv: float = Field(gt=0, description="largest plausible |x - median|")
