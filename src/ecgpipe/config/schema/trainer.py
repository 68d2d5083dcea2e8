"""``trainer``: Lightning's own ``Trainer`` arguments (``conf/trainer/``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from ecgpipe.config.schema.base import Frozen

_LIMIT = "batches per epoch: a count (>= 1) or a fraction of them (0 < f <= 1)"


class TrainerConfig(Frozen):
    """Lightning's own ``Trainer`` arguments, by its names, passed to it as they are
    (:mod:`ecgpipe.training.trainer`): hardware, precision, and how much of each epoch to run.
    Any further ``Trainer`` argument may be added (``+trainer.gradient_clip_val=1``); the
    trainer checks its name against Lightning's."""

    model_config = ConfigDict(frozen=True, extra="allow")

    accelerator: Literal["auto", "cpu", "gpu", "cuda", "mps"] = Field(
        description="auto: a GPU when there is one, else the CPU"
    )
    devices: int | Literal["auto"] = Field(description="how many; -1 or auto: every one")
    strategy: Literal["auto", "ddp", "ddp_spawn", "ddp_find_unused_parameters_true"]
    precision: Literal["32-true", "16-mixed", "bf16-mixed", "16-true", "bf16-true", "64-true"]
    deterministic: bool
    fast_dev_run: bool | Annotated[int, Field(ge=0)]
    limit_train_batches: float | int = Field(description=_LIMIT)
    limit_val_batches: float | int = Field(description=_LIMIT)
    log_every_n_steps: int = Field(ge=1)

    @field_validator("limit_train_batches", "limit_val_batches")
    @classmethod
    def _a_count_or_a_fraction(cls, value: float | int) -> float | int:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        if isinstance(value, float) and 0 < value <= 1:
            return value
        raise ValueError(f"{_LIMIT}; got {value!r}")

    @field_validator("devices")
    @classmethod
    def _some_devices(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not (value >= 1 or value == -1):
            raise ValueError(f"devices must be a count >= 1, -1 or auto; got {value}")
        return value

    @model_validator(mode="after")
    def _precision_fits(self) -> TrainerConfig:
        if self.accelerator == "cpu" and self.precision in ("16-mixed", "16-true"):
            raise ValueError(
                f"precision={self.precision} needs a GPU; on accelerator=cpu use 32-true or "
                "bf16-mixed"
            )
        return self
