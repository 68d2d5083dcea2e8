"""The served model put together from what a training made: its network (or classical model)
behind the training split's normalisation, the windows, aggregation and labelling ``evaluate``
applies, and split-conformal quantiles calibrated on the validation split.

It reads the data through :class:`TrainingData`, which the training's data module
(:class:`ecgpipe.training.datamodule.ECGDataModule`) is, without importing the training code.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Protocol

import numpy as np
from torch import nn

from ecgpipe.config.schema import Config
from ecgpipe.evaluation import conformal
from ecgpipe.processing.cache import Cache
from ecgpipe.processing.normalization import Normalizer
from ecgpipe.processing.windows import Windowing
from ecgpipe.serving.model import Contract, FeatureModel, RecordModel, RhythmModel, WindowModel


class TrainingData(Protocol):
    """The cache a model was trained on, its splits' rows, evaluation windows and normaliser."""

    cache: Cache
    rows: dict[str, np.ndarray]
    eval_windows: Windowing
    normalizer: Normalizer

    @property
    def multilabel(self) -> bool: ...


def window_model(cfg: Config, data: TrainingData, net: nn.Module) -> WindowModel:
    """A copy of the trained network as it scores windows in mV: the training split's
    normalisation (and STFT) in front of it, on the CPU."""
    return WindowModel(
        copy.deepcopy(net).cpu(),
        cfg.model.name,
        data.normalizer,
        data.multilabel,
        float(data.cache.meta["fs"]),
        data.cache.meta["spectrogram"],
        0 if data.cache.features is None else data.cache.features.shape[1],
    )


def record_model(
    cfg: Config,
    data: TrainingData,
    windows: WindowModel | FeatureModel,
    decision: dict,
    run_id: str,
    rhythm_trees: Any = None,
) -> RecordModel:
    """The trained model as it scores new records (or beats), labelling by ``decision`` (the
    contract's ``thresholds`` or ``factors``); ``rhythm_trees``: ``train.rhythm``'s estimator,
    pooled with the network's probabilities."""
    meta, win = data.cache.meta, data.eval_windows
    rhythm = None
    if rhythm_trees is not None:
        n_classes = len(data.cache.classes)
        rhythm = RhythmModel(rhythm_trees, cfg.train.rhythm.weight, float(meta["fs"]), n_classes)
    contract = Contract(
        classes=tuple(data.cache.classes),
        leads=tuple(meta["leads"]),
        fs=float(meta["fs"]),
        label_kind=meta["label_kind"],
        window=win.length,
        stride=win.stride,
        aggregate=cfg.train.aggregate,
        min_samples=min(win.length, int(data.cache.lengths.min())),
        preprocess=cfg.preprocess.model_dump(mode="json"),
        quality={
            k: getattr(cfg.validate_, k)
            for k in ("flat_std_mv", "saturation_min_s", "amplitude_limit_mv")
        },
        annotator=meta.get("annotator"),
        source={
            "dataset": meta["dataset"],
            "task": meta["task"],
            "unit": data.cache.unit,
            "model": cfg.model.name,
            "mlflow_run_id": run_id,
        },
        **decision,
    )
    served = RecordModel(windows, contract, rhythm=rhythm)
    return RecordModel(windows, _calibrated(cfg, data, served), rhythm=rhythm)


def _calibrated(cfg: Config, data: TrainingData, served: RecordModel) -> Contract:
    """The served model's contract with its split-conformal quantiles (``evaluate.alpha``),
    calibrated on its own scores of the validation split."""
    cache, rows = data.cache, data.rows["val"]
    if cache.features is not None:  # beat rows as the served model takes them
        flat = cache.signals.reshape(len(cache.labels), -1)
        p = served.score(list(np.concatenate([flat[rows], cache.features[rows]], axis=1)))
    else:
        p = served.score([np.asarray(cache.signal(r)) for r in rows])
    found = conformal.calibrate(cache.labels[rows], p, cfg.evaluate.alpha, data.multilabel)
    return dataclasses.replace(served.contract, conformal=found.to_dict())


def example_input(data: TrainingData, model: RecordModel) -> np.ndarray:
    """Two validation records, cut to one window (or to the shorter one's length), for the
    model's input example; beat rows as the cache holds them for a beat model."""
    cache, rows = data.cache, data.rows["val"][:2]
    if cache.features is not None:  # a beat per row: its window, then its features
        signal = np.stack([np.asarray(cache.signal(r)).ravel() for r in rows])
        return np.concatenate([signal, cache.features[rows]], 1).astype(np.float32)
    length = min(model.contract.window, int(cache.lengths[rows].min()))
    return np.stack([np.asarray(cache.signal(r)[:, :length], np.float32) for r in rows])
