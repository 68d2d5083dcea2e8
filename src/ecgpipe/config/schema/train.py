"""``train``: what is about learning (``conf/train/``): optimiser, windows, loss, augmentation,
the rhythm trees, segments, fine-tuning and resuming."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    model_validator,
)

from ecgpipe.config.schema.base import Frozen
from ecgpipe.config.schema.model import BeatGbmOptions


class AugmentConfig(Frozen):
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


class RhythmConfig(Frozen):
    """A second opinion from the whole record's rhythm: gradient-boosted trees (the estimator of
    ``model=beat_gbm``) on R-R, P-wave, beat-likeness and noise features of the model's first
    lead (:mod:`ecgpipe.processing.rhythm_features`), its probabilities pooled with the
    network's (a weighted geometric mean). Single-label record data."""

    weight: float = Field(ge=0, lt=1, description="its weight in the pooling; 0 = off")
    options: BeatGbmOptions = Field(description="the trees; rounds chosen on validation")


class SegmentsConfig(Frozen):
    """Classical beat models: stretches of each training record beside it, their features
    recomputed as if each were a whole record, so that training meets records of every
    composition (ectopic beats the majority, a few seconds long) as test patients may be
    (:mod:`ecgpipe.training.segments`)."""

    random: int = Field(ge=0, description="stretches of random length per training record")
    dense: list[str] = Field(
        description="classes whose dense stretches (at least half their beats) are added"
    )


class TrainConfig(Frozen):
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
