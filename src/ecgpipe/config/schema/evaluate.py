"""``evaluate``: the test split's judging and further datasets (``conf/evaluate/``)."""

from __future__ import annotations

import re

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from ecgpipe.config.schema.base import Frozen
from ecgpipe.config.schema.data import DataConfig


class ExternalSetConfig(Frozen):
    """A further dataset the trained model is judged on (external validation): read by its own
    reader, scored through ``ecgpipe predict``'s path."""

    data: DataConfig
    label_map: dict[str, list[str]] | None = Field(
        description="each model class -> the set's labels that mean it; null: the same names"
    )

    @model_validator(mode="after")
    def _maps_onto_labels(self) -> ExternalSetConfig:
        if self.label_map and (empty := [k for k, v in self.label_map.items() if not v]):
            raise ValueError(f"label_map: {empty} map onto no label of the set")
        return self


class EvaluateConfig(Frozen):
    n_bootstrap: int = Field(ge=10)
    seed: int = Field(ge=0)
    adapt: bool = Field(
        description="beat models: also score each test record adapted to its own beats "
        "(transductive, reported apart; ecgpipe.serving.adapt)"
    )
    alpha: float = Field(
        gt=0, lt=1, description="prediction sets miss the true label at most this often"
    )
    subgroups: list[str] | None = Field(
        description="manifest columns to give every figure per group of (age as bands); null: "
        "whichever of age, sex, site and device the data has"
    )
    external: dict[str, ExternalSetConfig] = Field(
        description="further datasets by name, each scored by `ecgpipe external NAME`"
    )

    @field_validator("external")
    @classmethod
    def _names(cls, value: dict[str, ExternalSetConfig]) -> dict[str, ExternalSetConfig]:
        if bad := [k for k in value if not re.fullmatch(r"[A-Za-z0-9][\w.-]*", k)]:
            raise ValueError(
                f"external: {bad} are not usable names (letters, digits, '_', '-', '.')"
            )
        return value
