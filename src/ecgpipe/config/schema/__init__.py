"""The typed, frozen, validated schema of ``params.yaml``: a module per config group, as ``conf/``
has a folder per group, and here the whole :class:`Config` they compose.

``conf/`` is the source of truth (every default lives there, none here); Hydra (through DVC or
``ecgpipe compose``) composes it into ``params.yaml``, which :mod:`ecgpipe.config.parse` reads
into a :class:`Config`. A bad value is a :class:`ConfigError` that names the key.
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from ecgpipe.config.schema.base import ConfigError, Frozen
from ecgpipe.config.schema.data import (
    CINC2017_LEADS,
    PTBXL_LEADS,
    PTBXL_SECONDS,
    Cinc2017DataConfig,
    DataConfig,
    MitdbDataConfig,
    PtbxlDataConfig,
    SyntheticDataConfig,
    WfdbFolderDataConfig,
)
from ecgpipe.config.schema.evaluate import EvaluateConfig, ExternalSetConfig
from ecgpipe.config.schema.mlflow import MlflowConfig, check_tracking_uri
from ecgpipe.config.schema.model import (
    BEAT_INPUTS,
    MODEL_NAMES,
    MODEL_OPTIONS,
    ModelConfig,
    ModelInput,
)
from ecgpipe.config.schema.preprocess import (
    ADAPTABLE_SETS,
    BEAT_FEATURE_SETS,
    BeatsConfig,
    PreprocessConfig,
)
from ecgpipe.config.schema.split import SplitConfig
from ecgpipe.config.schema.train import MULTICLASS_ONLY, AugmentConfig, SegmentsConfig, TrainConfig
from ecgpipe.config.schema.trainer import TrainerConfig
from ecgpipe.config.schema.validate import ValidateConfig
from ecgpipe.core.leads import lead_key

__all__ = [
    "ADAPTABLE_SETS",
    "BEAT_FEATURE_SETS",
    "BEAT_INPUTS",
    "CINC2017_LEADS",
    "MODEL_NAMES",
    "MODEL_OPTIONS",
    "MULTICLASS_ONLY",
    "PTBXL_LEADS",
    "PTBXL_SECONDS",
    "AugmentConfig",
    "BeatsConfig",
    "Cinc2017DataConfig",
    "Config",
    "ConfigError",
    "DataConfig",
    "EvaluateConfig",
    "ExternalSetConfig",
    "MitdbDataConfig",
    "MlflowConfig",
    "ModelConfig",
    "ModelInput",
    "PreprocessConfig",
    "PtbxlDataConfig",
    "SegmentsConfig",
    "SplitConfig",
    "SyntheticDataConfig",
    "TrainConfig",
    "TrainerConfig",
    "ValidateConfig",
    "WfdbFolderDataConfig",
    "check_tracking_uri",
]


class Config(Frozen):
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
