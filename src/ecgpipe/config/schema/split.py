"""``split``: how records part into train, validation and test (``conf/split/``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from ecgpipe.config.schema.base import Frozen


class SplitConfig(Frozen):
    """Patient-disjoint train / val / test (or, ``random``, deliberately not: see
    :mod:`ecgpipe.data.splitting`)."""

    strategy: Literal["folds", "stratified", "records", "kfold", "random"]
    k: int = Field(ge=3, description="strategy=kfold: how many patient-disjoint folds")
    fold: int = Field(ge=0, description="strategy=kfold: the fold tested (the next one validates)")
    train_folds: list[int]
    val_folds: list[int]
    test_folds: list[int]
    records: dict[Literal["train", "val", "test"], list[str]] = Field(
        description="strategy=records: the records of each split; an empty list: drawn, "
        "patient-disjoint, from the train records with the share ratios give it"
    )
    ratios: dict[Literal["train", "val", "test"], float]
    seed: int = Field(ge=0)

    @field_validator("records", mode="before")
    @classmethod
    def _ids_as_text(cls, value: Any) -> Any:  # YAML reads MIT-BIH's 101 as a number
        if isinstance(value, dict):
            return {k: [str(r) for r in v] if isinstance(v, list) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _ratios(self) -> SplitConfig:
        if set(self.ratios) != {"train", "val", "test"} or min(self.ratios.values()) < 0:
            raise ValueError("ratios needs non-negative train, val and test")
        if self.ratios["train"] <= 0:
            raise ValueError("ratios.train must be positive")
        if abs(sum(self.ratios.values()) - 1) > 1e-6:
            raise ValueError(
                f"ratios must add up to 1; {self.ratios} adds up to {sum(self.ratios.values()):g}"
            )
        if self.fold >= self.k:
            raise ValueError(f"fold {self.fold} does not exist: folds are 0 to {self.k - 1}")
        if self.strategy == "folds":
            folds = {"train": self.train_folds, "val": self.val_folds, "test": self.test_folds}
            for part, listed in folds.items():
                if not listed:
                    raise ValueError(f"strategy=folds needs {part}_folds")
            for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
                if shared := sorted(set(folds[a]) & set(folds[b])):
                    raise ValueError(f"fold(s) {shared} are in both {a}_folds and {b}_folds")
        if set(self.records) != {"train", "val", "test"}:
            raise ValueError("records needs train, val and test lists (empty: drawn from train)")
        if self.strategy == "records" and not self.records["train"]:
            raise ValueError("strategy=records needs records.train")
        named: dict[str, str] = {}
        for part, ids in self.records.items():
            for record in ids:
                if record in named:
                    raise ValueError(f"record {record} is in records.{named[record]} and {part}")
                named[record] = part
        return self
