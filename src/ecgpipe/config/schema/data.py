"""``data``: the dataset to read (``conf/data/``), one class per reader, told apart by ``name``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar, Literal

from pydantic import (
    Field,
    model_validator,
)

from ecgpipe.config.schema.base import Frozen

PTBXL_LEADS = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
"""PTB-XL's 12 leads in its own order (the synthetic dataset's too)."""
PTBXL_SECONDS = 10.0
CINC2017_LEADS = ("ECG",)

Task = Literal["superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all"]
LabelKind = Literal["multilabel", "multiclass"]


class SyntheticDataConfig(Frozen):
    """A generated dataset in PTB-XL's on-disk layout (see :mod:`ecgpipe.data.synthetic`)."""

    name: Literal["synthetic"]
    lead_names: ClassVar[tuple[str, ...] | None] = PTBXL_LEADS
    label_kind: ClassVar[LabelKind] = "multilabel"
    has_folds: ClassVar[bool | None] = True
    source: str = Field(
        description="what prepare reads (a DVC dependency): here, the generator's code"
    )
    n_records: int = Field(gt=0)
    records_per_patient: float = Field(ge=1.0, description="mean records per patient")
    sampling_rate: Literal[100, 500]
    duration_s: float = Field(gt=2.5, le=60.0)
    seed: int = Field(ge=0)
    difficulty: float = Field(ge=0.0, le=1.0, description="0 = blatant, 1 = subtle")
    defect_rate: float = Field(ge=0.0, le=0.5, description="share of defective records")
    mains_hz: Literal[50, 60]
    task: Task
    workers: int = Field(ge=0, description="processes; 0 = all cores")


class _DataAtRoot(Frozen):
    """A dataset read from a folder: ``source`` (the DVC dependency) is that folder."""

    root: str
    source: str = Field(description="what prepare reads (a DVC dependency): the dataset root")

    @model_validator(mode="after")
    def _source_is_root(self) -> _DataAtRoot:
        if Path(self.source) != Path(self.root):
            raise ValueError(f"data.source ({self.source}) must equal data.root ({self.root})")
        return self


class PtbxlDataConfig(_DataAtRoot):
    """A real PTB-XL copy (or a subset in the same layout) under ``root``."""

    name: Literal["ptbxl"]
    lead_names: ClassVar[tuple[str, ...] | None] = PTBXL_LEADS
    label_kind: ClassVar[LabelKind] = "multilabel"
    has_folds: ClassVar[bool | None] = True
    sampling_rate: Literal[100, 500]
    task: Task
    download: bool = Field(description="fetch PTB-XL from PhysioNet when root is empty")


CincClass = Literal["N", "A", "O", "~"]


class _Lengths(Frozen):
    """The record lengths a dataset admits; validate excludes records outside, with the reason."""

    min_duration_s: float = Field(gt=0)
    max_duration_s: float | None = Field(gt=0, description="null: no upper bound")

    @model_validator(mode="after")
    def _ordered(self) -> _Lengths:
        if self.max_duration_s is not None and self.max_duration_s < self.min_duration_s:
            raise ValueError(
                f"max_duration_s ({self.max_duration_s}) is below min_duration_s "
                f"({self.min_duration_s})"
            )
        return self


class Cinc2017DataConfig(_DataAtRoot, _Lengths):
    """The PhysioNet/CinC Challenge 2017 training set as published, under ``root``."""

    name: Literal["cinc2017"]
    lead_names: ClassVar[tuple[str, ...] | None] = CINC2017_LEADS
    label_kind: ClassVar[LabelKind] = "multiclass"
    has_folds: ClassVar[bool | None] = False  # each record is its own patient, no folds
    classes: list[CincClass] = Field(
        min_length=2,
        description="classes kept; records of a dropped class are left out and counted",
    )
    sampling_rate: float = Field(gt=0, description="expected rate of every record, Hz")
    min_duration_s: float = Field(gt=0)
    max_duration_s: float | None = Field(gt=0)

    @model_validator(mode="after")
    def _unique_classes(self) -> Cinc2017DataConfig:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes repeats a class: {self.classes}")
        return self


class WfdbFolderDataConfig(_DataAtRoot, _Lengths):
    """The user's own WFDB records plus a labels file (see :mod:`ecgpipe.data.wfdb_folder`)."""

    name: Literal["wfdb_folder"]
    has_folds: ClassVar[bool | None] = None  # when labels_file has a fold column
    labels_file: str = Field(description="relative to root")
    label_source: Literal["file", "header"] = Field(
        description="file: labels_file; header: each header's '#Dx:' SNOMED CT codes "
        "(PhysioNet/CinC 2020/2021)"
    )
    label_kind: Literal["multilabel", "multiclass"]
    task: str = Field(min_length=1, description="a name for what the labels describe")
    classes: list[str] | None = Field(
        description="the classes, in order; null = every class labels_file names"
    )
    sampling_rate: float | None = Field(gt=0, description="expected rate; null = any")
    leads: list[str] | None = Field(
        description="leads every record must have; null = those of most records"
    )
    min_duration_s: float = Field(gt=0)
    max_duration_s: float | None = Field(gt=0)

    @property
    def lead_names(self) -> tuple[str, ...] | None:
        return None if self.leads is None else tuple(self.leads)

    @model_validator(mode="after")
    def _unique_names(self) -> WfdbFolderDataConfig:
        for key, names in (("classes", self.classes), ("leads", self.leads)):
            if names is not None and (not names or len(set(names)) != len(names)):
                raise ValueError(f"{key} must be a non-empty list without repeats, got {names}")
        return self


AamiClass = Literal["N", "S", "V", "F", "Q"]


class MitdbDataConfig(_DataAtRoot):
    """The MIT-BIH Arrhythmia Database as published: beats labelled by their reference
    annotations, in the AAMI EC57 classes (see :mod:`ecgpipe.data.mitdb`)."""

    name: Literal["mitdb"]
    lead_names: ClassVar[tuple[str, ...] | None] = None  # data.lead picks the one read
    label_kind: ClassVar[LabelKind] = "multiclass"  # each beat has one class
    has_folds: ClassVar[bool | None] = False
    classes: list[AamiClass] = Field(
        min_length=2, description="AAMI classes kept; beats of the others are left out and counted"
    )
    sampling_rate: float = Field(gt=0, description="expected rate of every record, Hz")
    lead: str = Field(min_length=1, description="the lead read, wherever it is stored")
    annotator: str = Field(min_length=1, description="extension of the beat annotations")
    include_paced: bool = Field(
        description="keep the paced records 102, 104, 107, 217 (AAMI EC57 leaves them out)"
    )


DataConfig = Annotated[
    SyntheticDataConfig
    | PtbxlDataConfig
    | Cinc2017DataConfig
    | WfdbFolderDataConfig
    | MitdbDataConfig,
    Field(discriminator="name"),
]
