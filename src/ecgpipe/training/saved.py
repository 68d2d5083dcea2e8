"""What ``train`` saved in ``models/``, read back: which file holds the model, and its scores on
the test split (what ``evaluate`` judges)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgpipe import models
from ecgpipe.config.schema import Config
from ecgpipe.core.paths import ModelDir, Paths
from ecgpipe.processing.normalization import Normalizer
from ecgpipe.training import classical
from ecgpipe.training.classifier import load_checkpoint, predict
from ecgpipe.training.datamodule import ECGDataModule


def model_file(model: str, folder: ModelDir) -> Path:
    """What ``train`` saved of ``model``: the best checkpoint, or a classical model's estimator."""
    return folder.estimator if model in models.CLASSICAL else folder.checkpoint


def test_scores(cfg: Config, paths: Paths) -> tuple[ECGDataModule, np.ndarray, np.ndarray]:
    """The saved network or classical model on the test split: the data module, targets and
    record (or beat) probabilities; without ``train.rhythm``'s trees."""
    dm = ECGDataModule(
        paths.processed,
        paths.split,
        models.INPUTS[cfg.model.name],
        cfg.train,
        Normalizer.load(paths.model.normalization),  # as trained, not refitted
    )
    if cfg.model.name in models.CLASSICAL:
        assert dm.cache.features is not None  # the data module checked
        rows = dm.rows["test"]
        estimator = classical.load(model_file(cfg.model.name, paths.model))
        features = np.asarray(dm.cache.features[rows])
        return (
            dm,
            dm.cache.labels[rows],
            models.classical.probabilities(estimator, features, dm.n_classes),
        )
    module = load_checkpoint(model_file(cfg.model.name, paths.model))
    y, p = predict(module, dm.test_dataloader(), cfg.trainer.accelerator)
    return dm, y, p
