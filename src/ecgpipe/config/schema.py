"""The typed, frozen, validated schema of ``params.yaml``: one class per section.

``conf/`` is the source of truth (every default lives there, none here); Hydra (through DVC or
``ecgpipe compose``) composes it into ``params.yaml``, which :mod:`ecgpipe.config.parse` reads
into a :class:`Config`. A bad value is a :class:`ConfigError` that names the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from ecgpipe.core.errors import PipelineError
from ecgpipe.core.leads import lead_key

PTBXL_LEADS = ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
"""PTB-XL's 12 leads in its own order (the synthetic dataset's too)."""
PTBXL_SECONDS = 10.0
CINC2017_LEADS = ("ECG",)

Task = Literal["superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all"]
LabelKind = Literal["multilabel", "multiclass"]


class ConfigError(PipelineError, ValueError):
    """The parameters are not a valid ecgpipe configuration."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SyntheticDataConfig(_Frozen):
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

    name: Literal["ptbxl"]
    lead_names: ClassVar[tuple[str, ...] | None] = PTBXL_LEADS
    label_kind: ClassVar[LabelKind] = "multilabel"
    has_folds: ClassVar[bool | None] = True
    sampling_rate: Literal[100, 500]
    task: Task
    download: bool = Field(description="fetch PTB-XL from PhysioNet when root is empty")


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


class ValidateConfig(_Frozen):
    """Integrity checks and what to do with records that fail them."""

    policy: Literal["exclude", "fail"]
    max_excluded_fraction: float = Field(ge=0.0, le=1.0)
    workers: int = Field(ge=0, description="processes; 0 = all cores")
    flat_std_mv: float = Field(gt=0, description="a lead with a smaller std is flat")
    saturation_min_s: float = Field(gt=0, description="time held at a lead's extreme")
    amplitude_limit_mv: float = Field(gt=0, description="largest plausible |x - median|")


class BandpassConfig(_Frozen):
    enabled: bool
    low_hz: float = Field(gt=0)
    high_hz: float = Field(gt=0)
    order: int = Field(ge=1, le=10)

    @model_validator(mode="after")
    def _band(self) -> BandpassConfig:
        if self.low_hz >= self.high_hz:
            raise ValueError(f"low_hz ({self.low_hz}) must be below high_hz ({self.high_hz})")
        return self


class NotchConfig(_Frozen):
    enabled: bool
    freq_hz: float = Field(gt=0)
    quality: float = Field(gt=0)


class SpectrogramConfig(_Frozen):
    enabled: bool
    window: int = Field(ge=4, description="Hann window, samples")
    overlap: float = Field(ge=0.0, lt=1.0)
    f_min: float = Field(ge=0.0)
    f_max: float = Field(gt=0.0)


BEAT_FEATURE_SETS = (
    "rr", "relative", "full", "robust", "de_chazal", "wavelet", "hos", "lbp", "hermite",
)  # fmt: skip
"""What ``preprocess.beats.features`` joins with ``+`` (:mod:`ecgpipe.processing.beat_features`)."""
ADAPTABLE_SETS = ("rr", "relative", "full", "robust")
"""The sets relative to a reference that a record's normal beats can give (``evaluate.adapt``)."""


class BeatsConfig(_Frozen):
    """Beat datasets (``data=mitdb``): the window cut around each annotated R peak, and the
    features beside it (:mod:`ecgpipe.processing.beat_features`)."""

    before_s: float = Field(gt=0, description="window start, before the R peak")
    after_s: float = Field(gt=0, description="window end, after the R peak")
    rr_context: int = Field(
        ge=1, description="beats in the local rhythm: the last ones (mean), each side (median)"
    )
    features: str = Field(
        description="rr: five RR features; relative: RR and morphology relative to the record's "
        "own rhythm and dominant beat; full: those, absolute ones and waveform samples; robust: "
        "RR against the minutes around the beat, its rhythm context and morphology against the "
        "record's non-premature beats, whatever the share of ectopic beats; de_chazal, wavelet, "
        "hos, lbp, hermite: the literature's morphology descriptors; sets join with + "
        "(robust+wavelet+hos)"
    )

    @field_validator("features")
    @classmethod
    def _known_sets(cls, value: str) -> str:
        names = value.split("+")
        if unknown := [n for n in names if n not in BEAT_FEATURE_SETS]:
            raise ValueError(
                f"{unknown} are not beat feature sets ({', '.join(BEAT_FEATURE_SETS)})"
            )
        if len(set(names)) < len(names):
            raise ValueError(f"a set is named twice in {value!r}")
        return value


class PreprocessConfig(_Frozen):
    """Filtering, resampling and caching of every kept record into memory-mapped arrays."""

    fs: int = Field(gt=0, description="output sampling rate, Hz")
    duration_s: float | None = Field(
        gt=0, description="pad or crop every record to this; null = keep each one's length"
    )
    leads: list[str] | None = Field(description="leads to keep, in order; null = all")
    bandpass: BandpassConfig
    notch: NotchConfig
    spectrogram: SpectrogramConfig
    beats: BeatsConfig
    dtype: Literal["float32", "float16"]
    workers: int = Field(ge=0, description="processes; 0 = all cores")
    chunk_size: int = Field(ge=1, description="records per task")

    @field_validator("leads")
    @classmethod
    def _some_leads(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("an empty list keeps no lead (null means all leads)")
        return value

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


Count = Annotated[int, Field(ge=1)]
Widths = Annotated[list[Count], Field(min_length=1)]
Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
ModelInput = Literal["signal", "spectrogram", "both", "signal_features", "features"]
BEAT_INPUTS = ("signal_features", "features")
"""What heartbeat models read: a beat's window and its features, or its features alone."""


class _Options(_Frozen):
    """A model's constructor options (``conf/model/<name>.yaml`` gives their values), checked
    here without torch. ``tests/models`` checks each against its constructor's signature."""

    input: ClassVar[ModelInput] = "signal"


class _ConvStackOptions(_Options):
    widths: Widths
    kernel_size: Count
    dropout: Dropout


class Cnn1dOptions(_ConvStackOptions):
    stem_stride: Count = Field(
        description="the first convolution's stride (its kernel that many times longer): a "
        "signal at a higher rate than the network works at, e.g. 3 for 300 Hz into 100 Hz"
    )


class Cnn1dRrOptions(_ConvStackOptions):
    rr_width: int = Field(ge=0, description="RR-feature embedding; 0 drops the RR features")


class BeatCnnOptions(Cnn1dRrOptions):
    input: ClassVar[ModelInput] = "signal_features"


class BeatLinearOptions(_Options):
    """A linear classifier on the beat features (de Chazal et al. 2004)."""

    input: ClassVar[ModelInput] = "features"
    method: Literal["logistic", "lda"] = Field(
        description="logistic regression, or linear discriminants (shrunk covariance)"
    )
    c: float = Field(gt=0, description="logistic: inverse strength of the L2 penalty")


class BeatGbmOptions(_Options):
    """Gradient-boosted trees on the beat features (scikit-learn's HistGradientBoosting)."""

    input: ClassVar[ModelInput] = "features"
    max_iter: Count = Field(description="boosting rounds at most; the best on validation is kept")
    learning_rate: float = Field(gt=0, le=1)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: Count
    l2_regularization: float = Field(ge=0)


class BeatEnsembleOptions(_Options):
    """One classifier per feature set of ``preprocess.beats.features``, fused by the product
    rule (Mondejar-Guerra et al. 2019)."""

    input: ClassVar[ModelInput] = "features"
    member: Literal["gbm", "linear"] = Field(
        description="each set's classifier: gradient-boosted trees, or a logistic regression"
    )
    max_iter: Count = Field(description="gbm: boosting rounds of each member")
    learning_rate: float = Field(gt=0, le=1)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: Count
    l2_regularization: float = Field(ge=0)
    c: float = Field(gt=0, description="linear: inverse strength of the L2 penalty")


class ResNet1dWangOptions(_Options):
    width: Count
    blocks: Count
    kernels: tuple[Count, Count]
    stem_kernel: Count
    dropout: Dropout


class XResNet1dOptions(_Options):
    widths: Annotated[list[Count], Field(min_length=4, max_length=4)]
    kernel: Count
    dropout: Dropout


class Inception1dOptions(_Options):
    depth: Count
    filters: Count
    kernels: Widths
    bottleneck: Count
    dropout: Dropout


class Spectro2dOptions(_Options):
    input: ClassVar[ModelInput] = "spectrogram"
    widths: Widths
    dropout: Dropout


class HybridOptions(_Options):
    input: ClassVar[ModelInput] = "both"
    width_1d: Count
    widths_2d: Widths
    dropout: Dropout


MODEL_OPTIONS: dict[str, type[_Options]] = {
    "cnn1d": Cnn1dOptions,
    "cnn1d_rr": Cnn1dRrOptions,
    "resnet1d_wang": ResNet1dWangOptions,
    "xresnet1d50": XResNet1dOptions,
    "xresnet1d101": XResNet1dOptions,
    "inception1d": Inception1dOptions,
    "spectro2d": Spectro2dOptions,
    "hybrid": HybridOptions,
    "beat_cnn": BeatCnnOptions,
    "beat_linear": BeatLinearOptions,
    "beat_gbm": BeatGbmOptions,
    "beat_ensemble": BeatEnsembleOptions,
}
"""Every model ecgpipe builds, by name, and the options it takes."""
MODEL_NAMES = tuple(MODEL_OPTIONS)


class _Model(_Frozen):
    """Which network, and its constructor options, checked against what it takes."""

    name: str
    options: _Options

    @property
    def input(self) -> ModelInput:
        """What the model reads (see :mod:`ecgpipe.models`)."""
        return self.options.input


ModelConfig = Annotated[
    Union[  # noqa: UP007 -- a union built from the table
        tuple(
            create_model(
                f"ModelConfig_{name}",
                __base__=_Model,
                name=(Literal[name], ...),
                options=(options, ...),
            )
            for name, options in MODEL_OPTIONS.items()
        )
    ],
    Field(discriminator="name"),
]


class AugmentConfig(_Frozen):
    """Training-time augmentations (0 switches one off)."""

    scale: float = Field(ge=0, lt=1, description="amplitude x U(1-s, 1+s) per lead")
    noise_std_mv: float = Field(ge=0, description="Gaussian noise")
    wander_mv: float = Field(ge=0, description="baseline wander amplitude (< 0.5 Hz)")
    shift: bool = Field(description="random crop position (else the start)")


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


_LIMIT = "batches per epoch: a count (>= 1) or a fraction of them (0 < f <= 1)"


class RhythmConfig(_Frozen):
    """A second opinion from the whole record's rhythm: gradient-boosted trees (the estimator of
    ``model=beat_gbm``) on R-R, P-wave, beat-likeness and noise features of the model's first
    lead (:mod:`ecgpipe.processing.rhythm_features`), its probabilities pooled with the
    network's (a weighted geometric mean). Single-label record data."""

    weight: float = Field(ge=0, lt=1, description="its weight in the pooling; 0 = off")
    options: BeatGbmOptions = Field(description="the trees; rounds chosen on validation")


class SegmentsConfig(_Frozen):
    """Classical beat models: stretches of each training record beside it, their features
    recomputed as if each were a whole record, so that training meets records of every
    composition (ectopic beats the majority, a few seconds long) as test patients may be
    (:mod:`ecgpipe.training.segments`)."""

    random: int = Field(ge=0, description="stretches of random length per training record")
    dense: list[str] = Field(
        description="classes whose dense stretches (at least half their beats) are added"
    )


class TrainConfig(_Frozen):
    seed: int = Field(ge=0)
    max_epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    lr: float = Field(gt=0, description="peak learning rate of the one-cycle schedule")
    weight_decay: float = Field(ge=0)
    crop_s: float | None = Field(gt=0, description="training crop; null = full length")
    eval_window_s: float | None = Field(
        gt=0, description="validation and test windows; null = the longest record"
    )
    eval_stride_s: float = Field(gt=0)
    aggregate: Literal["max", "mean"]
    normalize: Literal["per_lead", "per_window", "none"] = Field(
        description="z-score per lead with training statistics, or each window by its own"
    )
    loss: Literal["auto", "bce", "ce", "focal"] = Field(
        description="auto: bce for multilabel data, ce (softmax) for single-label data"
    )
    class_weight: Literal["inverse", "sqrt_inverse", "none"] = Field(
        description="class weights of the loss (BCE pos_weight, CE / focal weights) from "
        "training counts: inverse frequency, its square root, or none"
    )
    focal_gamma: float = Field(ge=0)
    weighted_sampler: bool
    augment: AugmentConfig
    monitor: Monitor = Field(
        description="validation metric for early stopping and the best checkpoint; auto: "
        "val/macro_auroc (multilabel) or val/macro_f1 (single-label)"
    )
    decision: Literal["argmax", "prior_corrected"] = Field(
        description="single-label prediction: argmax of the probabilities, or of the "
        "probabilities re-weighted from the loss's class balance back to the training prior"
    )
    ensemble: int = Field(
        ge=1,
        le=16,
        description="a deep ensemble of this many networks, each from its own initialisation "
        "and trained on its own loss; their probabilities averaged",
    )
    rhythm: RhythmConfig
    segments: SegmentsConfig
    early_stopping_patience: int = Field(ge=1)
    init_from: str | None = Field(
        description="fine-tune: start from this network (a .ckpt path, runs:/ID/model or "
        "models:/NAME@ALIAS); its head afresh where the classes differ"
    )
    freeze_epochs: int = Field(
        ge=0, description="with init_from: all but the head frozen for this many epochs"
    )
    resume: bool = Field(
        description="continue the training that was interrupted from its last checkpoint, "
        "into the same MLflow run"
    )
    num_workers: int = Field(ge=0, description="DataLoader worker processes")

    @model_validator(mode="after")
    def _consistent(self) -> TrainConfig:
        if self.eval_window_s is not None and self.eval_stride_s > self.eval_window_s:
            raise ValueError(
                f"eval_stride_s ({self.eval_stride_s}) exceeds eval_window_s "
                f"({self.eval_window_s}): windows would skip part of each record"
            )
        if self.freeze_epochs and not self.init_from:
            raise ValueError("freeze_epochs needs init_from: a backbone to keep frozen")
        return self


class TrainerConfig(_Frozen):
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


class ExternalSetConfig(_Frozen):
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


class EvaluateConfig(_Frozen):
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


TRACKING_SCHEMES = ("sqlite:///PATH", "postgresql://...", "mysql://...", "http(s)://HOST")


def check_tracking_uri(uri: str) -> str:
    """``uri`` if MLflow can track to it (a SQLite file, a database, a server), else a
    ValueError that says what it takes."""
    scheme, sep, rest = uri.partition("://")
    base = scheme.split("+")[0].lower()
    ok = bool(sep) and (
        (base == "sqlite" and rest.startswith("/") and len(rest) > 1)
        or (base in ("postgresql", "mysql", "mssql") and bool(rest))
        or (base in ("http", "https") and bool(rest.split("/")[0]))
        or (base == "databricks")
    )
    if not ok:
        raise ValueError(
            f"{uri!r} is not a tracking store MLflow reads; use {', '.join(TRACKING_SCHEMES)}"
        )
    return uri


class SystemMetricsConfig(_Frozen):
    """MLflow's system metrics (CPU, memory, disk, network, and GPU where there is one) in every
    training run, as ``system/...`` (``system/cpu_utilization_percentage``, ...)."""

    enabled: bool
    interval_s: float = Field(gt=0, description="seconds between samples, each one logged")


class MlflowConfig(_Frozen):
    """Tracking: a SQLite store at the project root; ``MLFLOW_TRACKING_URI`` overrides it."""

    tracking_uri: str = Field(description=f"a store URI: {', '.join(TRACKING_SCHEMES)}")
    artifact_location: str = Field(
        description="for new experiments in a local store (a server keeps its own)"
    )
    experiment: str = Field(min_length=1)
    system_metrics: SystemMetricsConfig

    @field_validator("tracking_uri")
    @classmethod
    def _a_store(cls, value: str) -> str:
        return check_tracking_uri(value)


class Config(_Frozen):
    """The whole composed configuration."""

    data: DataConfig
    validate_: ValidateConfig = Field(alias="validate")
    preprocess: PreprocessConfig
    split: SplitConfig
    model: ModelConfig
    train: TrainConfig
    trainer: TrainerConfig
    evaluate: EvaluateConfig
    mlflow: MlflowConfig

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
        if t.rhythm.weight and (kind == "multilabel" or name == "mitdb"):
            raise ValueError(
                "train.rhythm (rhythm features beside the network) is for single-label "
                f"whole-record data; {name} is {'heartbeats' if name == 'mitdb' else kind}"
            )
        if (t.segments.random or t.segments.dense) and self.model.input != "features":
            raise ValueError(
                "train.segments (stretches of the training records) is for the classical beat "
                f"models (model=beat_linear, beat_gbm); model={self.model.name} reads "
                f"{'whole records' if name != 'mitdb' else 'beat windows'}: set "
                "train.segments.random=0 'train.segments.dense=[]'"
            )
        classes = getattr(self.data, "classes", None) or []
        if self.model.name == "beat_ensemble" and "+" not in self.preprocess.beats.features:
            raise ValueError(
                "model=beat_ensemble fuses one classifier per feature set: join two or more "
                "in preprocess.beats.features (e.g. robust+wavelet+hos+lbp+hermite)"
            )
        if unknown := sorted(set(t.segments.dense) - set(classes)):
            raise ValueError(f"train.segments.dense: {unknown} not among data.classes {classes}")
        if self.evaluate.adapt:
            self._adaptable()
        if t.monitor == "val/cinc2017_f1" and self.data.name != "cinc2017":
            raise ValueError("train.monitor=val/cinc2017_f1 needs data=cinc2017")
        if self.split.strategy == "folds" and self.data.has_folds is False:
            raise ValueError(
                f"split.strategy=folds needs the dataset's own folds and {name} has none; "
                "use split.strategy=stratified"
            )
        s = self.split
        named = {*s.train_folds, *s.val_folds, *s.test_folds}
        if s.strategy == "folds" and name in ("synthetic", "ptbxl") and named - set(range(1, 11)):
            raise ValueError(
                f"split: {name} has folds 1 to 10, not {sorted(named - set(range(1, 11)))}"
            )
        for set_name, chosen in self.evaluate.external.items():
            if (chosen.data.name == "mitdb") != (name == "mitdb"):
                what = "heartbeats" if chosen.data.name == "mitdb" else "whole records"
                raise ValueError(
                    f"evaluate.external.{set_name}: data={chosen.data.name} gives {what}, and "
                    f"the model trained on data={name} scores "
                    f"{'heartbeats' if name == 'mitdb' else 'whole records'}"
                )
        self._fits_the_model()
        self._fits_the_records()
        return self

    def _fits_the_model(self) -> None:
        """The model reads what the data and preprocessing give it."""
        kind, model, spec = self.model.input, self.model.name, self.preprocess.spectrogram
        if (kind in BEAT_INPUTS) != (self.data.name == "mitdb"):
            if kind in BEAT_INPUTS:
                raise ValueError(f"model={model} classifies heartbeats; it needs data=mitdb")
            raise ValueError(
                f"data=mitdb gives heartbeats with RR features; model={model} takes whole "
                "records (use model=beat_cnn, beat_linear or beat_gbm)"
            )
        if kind in ("spectrogram", "both") and not spec.enabled:
            raise ValueError(
                f"model={model} reads spectrograms; set preprocess.spectrogram.enabled=true"
            )

    def _adaptable(self) -> None:
        """``evaluate.adapt`` needs beats, a normal class and features with a reference."""
        if self.data.name != "mitdb":
            raise ValueError(
                f"evaluate.adapt (adapting to a record's own beats) is for heartbeat data; "
                f"data={self.data.name} gives whole records"
            )
        if "N" not in (getattr(self.data, "classes", None) or []):
            raise ValueError("evaluate.adapt takes its references from class N: keep N in "
                             "data.classes")  # fmt: skip
        spec = self.preprocess.beats.features
        if not set(spec.split("+")) & set(ADAPTABLE_SETS):
            raise ValueError(
                f"evaluate.adapt: preprocess.beats.features={spec} has no reference to adapt; "
                f"add one of {', '.join(ADAPTABLE_SETS)}"
            )

    def _fits_the_records(self) -> None:
        """Leads, windows and the spectrogram fit the records the dataset holds."""
        p, t = self.preprocess, self.train
        if p.leads is not None and (known := self.data.lead_names) is not None:
            keys = {lead_key(n) for n in known}
            if unknown := [n for n in p.leads if lead_key(n) not in keys]:
                raise ValueError(
                    f"preprocess.leads: {unknown} not among data={self.data.name}'s leads "
                    f"({', '.join(known)})"
                )
        shortest = self.shortest_record_s
        if not p.spectrogram.enabled:
            return
        window_s = p.spectrogram.window / p.fs
        if window_s > shortest:
            raise ValueError(
                f"preprocess.spectrogram.window ({p.spectrogram.window} samples, "
                f"{window_s:g} s at preprocess.fs={p.fs}) is longer than the shortest record "
                f"({shortest:g} s)"
            )
        if self.model.input in ("spectrogram", "both"):
            for key, seconds in (
                ("train.crop_s", t.crop_s),
                ("train.eval_window_s", t.eval_window_s),
            ):
                if seconds is not None and window_s > seconds:
                    raise ValueError(
                        f"preprocess.spectrogram.window ({window_s:g} s) is longer than "
                        f"{key} ({seconds:g} s)"
                    )

    @property
    def shortest_record_s(self) -> float:
        """The shortest record (or beat window) the stages can meet, in seconds."""
        p, d = self.preprocess, self.data
        if d.name == "mitdb":
            return p.beats.before_s + p.beats.after_s
        if p.duration_s is not None:
            return p.duration_s
        if isinstance(d, SyntheticDataConfig):
            return d.duration_s
        if isinstance(d, PtbxlDataConfig):
            return PTBXL_SECONDS
        return d.min_duration_s

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
