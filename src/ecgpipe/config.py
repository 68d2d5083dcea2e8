"""Typed, frozen, validated view of ``params.yaml``.

``conf/`` is the source of truth; Hydra (through DVC or ``ecgpipe compose``) composes it into
``params.yaml``, and every stage reads that file through :func:`load_params`. An unknown key or
a bad value is a :class:`ConfigError` that names the key, raised before any work starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ecgpipe.errors import PipelineError

Task = Literal["superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all"]
LabelKind = Literal["multilabel", "multiclass"]


class ConfigError(PipelineError, ValueError):
    """The parameters are not a valid ecgpipe configuration."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SyntheticDataConfig(_Frozen):
    """A generated dataset in PTB-XL's on-disk layout (see :mod:`ecgpipe.data.synthetic`)."""

    name: Literal["synthetic"] = "synthetic"
    label_kind: ClassVar[LabelKind] = "multilabel"
    has_folds: ClassVar[bool | None] = True
    source: str = Field(
        "src/ecgpipe/data/synthetic",
        description="what prepare reads (a DVC dependency): here, the generator's code",
    )
    n_records: int = Field(3000, gt=0)
    records_per_patient: float = Field(2.0, ge=1.0, description="mean records per patient")
    sampling_rate: Literal[100, 500] = 100
    duration_s: float = Field(10.0, gt=2.5, le=60.0)
    seed: int = Field(0, ge=0)
    difficulty: float = Field(0.5, ge=0.0, le=1.0, description="0 = blatant, 1 = subtle")
    defect_rate: float = Field(0.03, ge=0.0, le=0.5, description="share of defective records")
    mains_hz: Literal[50, 60] = 50
    task: Task = "superdiagnostic"
    workers: int = Field(0, ge=0, description="processes; 0 = all cores")


class _DataAtRoot(_Frozen):
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

    name: Literal["ptbxl"] = "ptbxl"
    label_kind: ClassVar[LabelKind] = "multilabel"
    has_folds: ClassVar[bool | None] = True
    sampling_rate: Literal[100, 500] = 100
    task: Task = "superdiagnostic"
    download: bool = Field(False, description="fetch PTB-XL from PhysioNet when root is empty")


CincClass = Literal["N", "A", "O", "~"]


class _Lengths(_Frozen):
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

    name: Literal["cinc2017"] = "cinc2017"
    label_kind: ClassVar[LabelKind] = "multiclass"
    has_folds: ClassVar[bool | None] = False  # each record is its own patient, no folds
    classes: list[CincClass] = Field(
        default_factory=lambda: ["N", "A", "O", "~"],
        min_length=2,
        description="classes kept; records of a dropped class are left out and counted",
    )
    sampling_rate: float = Field(300.0, gt=0, description="expected rate of every record, Hz")
    min_duration_s: float = Field(9.0, gt=0)
    max_duration_s: float | None = Field(61.0, gt=0)

    @model_validator(mode="after")
    def _unique_classes(self) -> Cinc2017DataConfig:
        if len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes repeats a class: {self.classes}")
        return self


class WfdbFolderDataConfig(_DataAtRoot, _Lengths):
    """The user's own WFDB records plus a labels file (see :mod:`ecgpipe.data.wfdb_folder`)."""

    name: Literal["wfdb_folder"] = "wfdb_folder"
    has_folds: ClassVar[bool | None] = None  # when labels_file has a fold column
    labels_file: str = Field("labels.csv", description="relative to root")
    label_kind: Literal["multilabel", "multiclass"] = "multiclass"
    task: str = Field("labels", min_length=1, description="a name for what the labels describe")
    classes: list[str] | None = Field(
        None, description="the classes, in order; null = every class labels_file names"
    )
    sampling_rate: float | None = Field(None, gt=0, description="expected rate; null = any")
    leads: list[str] | None = Field(
        None, description="leads every record must have; null = those of most records"
    )
    min_duration_s: float = Field(1.0, gt=0)
    max_duration_s: float | None = Field(None, gt=0)

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

    name: Literal["mitdb"] = "mitdb"
    label_kind: ClassVar[LabelKind] = "multiclass"  # each beat has one class
    has_folds: ClassVar[bool | None] = False
    classes: list[AamiClass] = Field(
        default_factory=lambda: ["N", "S", "V", "F", "Q"],
        min_length=2,
        description="AAMI classes kept; beats of the others are left out and counted",
    )
    sampling_rate: float = Field(360.0, gt=0, description="expected rate of every record, Hz")
    lead: str = Field("MLII", min_length=1, description="the lead read, wherever it is stored")
    annotator: str = Field("atr", min_length=1, description="extension of the beat annotations")
    include_paced: bool = Field(
        False, description="keep the paced records 102, 104, 107, 217 (AAMI EC57 leaves them out)"
    )


DataConfig = Annotated[
    SyntheticDataConfig
    | PtbxlDataConfig
    | Cinc2017DataConfig
    | WfdbFolderDataConfig
    | MitdbDataConfig,
    Field(discriminator="name"),
]


class ValidateConfig(_Frozen):
    """Integrity checks and what to do with records that fail them."""

    policy: Literal["exclude", "fail"] = "exclude"
    max_excluded_fraction: float = Field(0.10, ge=0.0, le=1.0)
    workers: int = Field(0, ge=0, description="processes; 0 = all cores")
    flat_std_mv: float = Field(0.005, gt=0, description="a lead with a smaller std is flat")
    saturation_min_s: float = Field(0.2, gt=0, description="time held at a lead's extreme")
    amplitude_limit_mv: float = Field(15.0, gt=0, description="largest plausible |x - median|")


class BandpassConfig(_Frozen):
    enabled: bool = True
    low_hz: float = Field(0.5, gt=0)
    high_hz: float = Field(45.0, gt=0)
    order: int = Field(4, ge=1, le=10)

    @model_validator(mode="after")
    def _band(self) -> BandpassConfig:
        if self.low_hz >= self.high_hz:
            raise ValueError(f"low_hz ({self.low_hz}) must be below high_hz ({self.high_hz})")
        return self


class NotchConfig(_Frozen):
    enabled: bool = False
    freq_hz: float = Field(50.0, gt=0)
    quality: float = Field(30.0, gt=0)


class SpectrogramConfig(_Frozen):
    enabled: bool = True
    window: int = Field(64, ge=4, description="Hann window, samples")
    overlap: float = Field(0.75, ge=0.0, lt=1.0)
    f_min: float = Field(0.5, ge=0.0)
    f_max: float = Field(45.0, gt=0.0)


class BeatsConfig(_Frozen):
    """Beat datasets (``data=mitdb``): the window cut around each annotated R peak, and the
    RR-interval features beside it."""

    before_s: float = Field(0.25, gt=0, description="window start, before the R peak")
    after_s: float = Field(0.45, gt=0, description="window end, after the R peak")
    rr_context: int = Field(10, ge=1, description="beats in the local mean RR (the last ones)")


class PreprocessConfig(_Frozen):
    """Filtering, resampling and caching of every kept record into memory-mapped arrays."""

    fs: int = Field(100, gt=0, description="output sampling rate, Hz")
    duration_s: float | None = Field(
        None, gt=0, description="pad or crop every record to this; null = keep each one's length"
    )
    leads: list[str] | None = Field(None, description="leads to keep, in order; null = all")
    bandpass: BandpassConfig = Field(default_factory=BandpassConfig)
    notch: NotchConfig = Field(default_factory=NotchConfig)
    spectrogram: SpectrogramConfig = Field(default_factory=SpectrogramConfig)
    beats: BeatsConfig = Field(default_factory=BeatsConfig)
    dtype: Literal["float32", "float16"] = "float32"
    workers: int = Field(0, ge=0, description="processes; 0 = all cores")
    chunk_size: int = Field(64, ge=1, description="records per task")

    @model_validator(mode="after")
    def _fits_nyquist(self) -> PreprocessConfig:
        nyquist = self.fs / 2
        if self.bandpass.enabled and self.bandpass.high_hz >= nyquist:
            raise ValueError(
                f"bandpass.high_hz ({self.bandpass.high_hz}) must be below fs/2 ({nyquist})"
            )
        if self.spectrogram.enabled and self.spectrogram.f_max > nyquist:
            raise ValueError(
                f"spectrogram.f_max ({self.spectrogram.f_max}) exceeds fs/2 ({nyquist})"
            )
        return self


class SplitConfig(_Frozen):
    """Patient-disjoint train / val / test (or, ``random``, deliberately not: see
    :mod:`ecgpipe.splitting`)."""

    strategy: Literal["folds", "stratified", "records", "random"] = "folds"
    train_folds: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7, 8])
    val_folds: list[int] = Field(default_factory=lambda: [9])
    test_folds: list[int] = Field(default_factory=lambda: [10])
    records: dict[Literal["train", "val", "test"], list[str]] = Field(
        default_factory=lambda: {"train": [], "val": [], "test": []},
        description="strategy=records: the records of each split; an empty list: drawn, "
        "patient-disjoint, from the train records with the share ratios give it",
    )
    ratios: dict[Literal["train", "val", "test"], float] = Field(
        default_factory=lambda: {"train": 0.8, "val": 0.1, "test": 0.1}
    )
    seed: int = Field(0, ge=0)

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


ModelName = Literal[
    "cnn1d",
    "cnn1d_rr",
    "resnet1d_wang",
    "xresnet1d50",
    "xresnet1d101",
    "inception1d",
    "spectro2d",
    "hybrid",
    "beat_cnn",
]


class ModelConfig(_Frozen):
    """Which network, and its constructor options (checked against its signature)."""

    name: ModelName = "cnn1d"
    options: dict[str, int | float | list[int]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _options_exist(self) -> ModelConfig:
        from ecgpipe.models import options_of

        if unknown := sorted(set(self.options) - options_of(self.name)):
            known = ", ".join(sorted(options_of(self.name)))
            raise ValueError(f"unknown option(s) {unknown} for {self.name}; it takes {known}")
        return self


class AugmentConfig(_Frozen):
    """Training-time augmentations (0 switches one off)."""

    scale: float = Field(0.1, ge=0, lt=1, description="amplitude x U(1-s, 1+s) per lead")
    noise_std_mv: float = Field(0.0, ge=0, description="Gaussian noise")
    wander_mv: float = Field(0.0, ge=0, description="baseline wander amplitude (< 0.5 Hz)")
    shift: bool = Field(True, description="random crop position (else the start)")


Monitor = Literal[
    "auto",
    "val/macro_auroc",
    "val/macro_auprc",
    "val/macro_f1",
    "val/accuracy",
    "val/cinc2017_f1",
    "val/loss",
]
MULTICLASS_ONLY = ("val/macro_f1", "val/accuracy", "val/cinc2017_f1")


class TrainConfig(_Frozen):
    seed: int = Field(42, ge=0)
    max_epochs: int = Field(20, ge=1)
    batch_size: int = Field(128, ge=1)
    lr: float = Field(3e-3, gt=0, description="peak learning rate of the one-cycle schedule")
    weight_decay: float = Field(1e-2, ge=0)
    crop_s: float | None = Field(2.5, gt=0, description="training crop; null = full length")
    eval_window_s: float | None = Field(
        2.5, gt=0, description="validation and test windows; null = the longest record"
    )
    eval_stride_s: float = Field(1.25, gt=0)
    aggregate: Literal["max", "mean"] = "max"
    normalize: Literal["per_lead", "per_window", "none"] = Field(
        "per_lead",
        description="z-score per lead with training statistics, or each window by its own",
    )
    loss: Literal["auto", "bce", "ce", "focal"] = Field(
        "auto", description="auto: bce for multilabel data, ce (softmax) for single-label data"
    )
    pos_weight: bool = Field(
        True, description="BCE pos_weight (or CE / focal class weights) from training counts"
    )
    focal_gamma: float = Field(2.0, ge=0)
    weighted_sampler: bool = False
    augment: AugmentConfig = Field(default_factory=AugmentConfig)
    monitor: Monitor = Field(
        "auto",
        description="validation metric for early stopping and the best checkpoint; auto: "
        "val/macro_auroc (multilabel) or val/macro_f1 (single-label)",
    )
    decision: Literal["argmax", "prior_corrected"] = Field(
        "argmax",
        description="single-label prediction: argmax of the probabilities, or of the "
        "probabilities re-weighted from the loss's class balance back to the training prior",
    )
    ensemble: int = Field(
        1,
        ge=1,
        le=16,
        description="a deep ensemble of this many networks, each from its own initialisation "
        "and trained on its own loss; their probabilities averaged",
    )
    early_stopping_patience: int = Field(8, ge=1)
    accelerator: str = "auto"
    devices: int | str = 1
    strategy: str = "auto"
    precision: str = "32-true"
    deterministic: bool = True
    fast_dev_run: bool | int = False
    limit_train_batches: float | int = 1.0
    limit_val_batches: float | int = 1.0
    num_workers: int = Field(0, ge=0, description="DataLoader worker processes")


class EvaluateConfig(_Frozen):
    n_bootstrap: int = Field(1000, ge=10)
    seed: int = Field(0, ge=0)


class MlflowConfig(_Frozen):
    """Tracking: a SQLite store at the project root; ``MLFLOW_TRACKING_URI`` overrides it."""

    tracking_uri: str = "sqlite:///mlflow.db"
    artifact_location: str = Field(
        "mlartifacts", description="for new experiments in a local store (a server keeps its own)"
    )
    experiment: str = "ecgpipe"


class Config(_Frozen):
    """The whole composed configuration."""

    data: DataConfig = Field(default_factory=SyntheticDataConfig)
    validate_: ValidateConfig = Field(default_factory=ValidateConfig, alias="validate")
    preprocess: PreprocessConfig = Field(default_factory=PreprocessConfig)
    split: SplitConfig = Field(default_factory=SplitConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    evaluate: EvaluateConfig = Field(default_factory=EvaluateConfig)
    mlflow: MlflowConfig = Field(default_factory=MlflowConfig)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _fits_the_data(self) -> Config:
        kind, t, name = self.data.label_kind, self.train, self.data.name
        if kind == "multilabel" and t.loss == "ce":
            raise ValueError(f"train.loss=ce is for single-label data; {name} is multilabel")
        if kind == "multiclass" and t.loss == "bce":
            raise ValueError(f"train.loss=bce is for multilabel data; {name} is single-label")
        if kind == "multilabel" and t.monitor in MULTICLASS_ONLY:
            raise ValueError(
                f"train.monitor={t.monitor} is for single-label data; {name} is multilabel"
            )
        if t.monitor == "val/cinc2017_f1" and self.data.name != "cinc2017":
            raise ValueError("train.monitor=val/cinc2017_f1 needs data=cinc2017")
        if self.split.strategy == "folds" and self.data.has_folds is False:
            raise ValueError(
                f"split.strategy=folds needs the dataset's own folds and {name} has none; "
                "use split.strategy=stratified"
            )
        return self

    @property
    def monitor(self) -> str:
        """The validation metric that picks the best epoch (``train.monitor``, resolved)."""
        if self.train.monitor != "auto":
            return self.train.monitor
        return "val/macro_auroc" if self.data.label_kind == "multilabel" else "val/macro_f1"

    @property
    def loss(self) -> str:
        """``train.loss``, resolved: bce, ce or focal."""
        if self.train.loss != "auto":
            return self.train.loss
        return "bce" if self.data.label_kind == "multilabel" else "ce"


DATA_NAMES = ("synthetic", "ptbxl", "cinc2017", "wfdb_folder", "mitdb")


def parse_config(raw: Any, *, origin: str = "params") -> Config:
    """Validate a plain mapping; errors name every offending key."""
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise ConfigError(f"{origin}: expected a mapping at the top level, got {kind}")
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            loc = [str(p) for p in e["loc"]]
            if loc[:1] == ["data"] and len(loc) > 1 and loc[1] in DATA_NAMES:
                del loc[1]  # the discriminated union's tag
            msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
            msg = msg.removeprefix("Value error, ")
            lines.append(f"  {'.'.join(loc)}: {msg}" if loc else f"  {msg}")
        raise ConfigError(f"{origin}: invalid configuration\n" + "\n".join(lines)) from None


def load_params(path: str | Path = "params.yaml") -> Config:
    """Read and validate ``params.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: not found; run `ecgpipe compose` to write it from conf/")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from None
    return parse_config(raw, origin=str(path))
