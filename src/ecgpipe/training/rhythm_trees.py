"""``train.rhythm``: gradient-boosted trees on the whole records' rhythm features beside the
network (:mod:`ecgpipe.processing.rhythm_features`), pooled with its probabilities by the served
model (:class:`~ecgpipe.serving.model.RhythmModel`).

Their rounds are chosen on validation as a classical model's (:mod:`ecgpipe.training.classical`);
their validation figures (``rhythm/val/...``) and those of the pool the served model gives
(``blend/val/...``) go to the run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from pytorch_lightning.loggers import Logger

from ecgpipe import models
from ecgpipe.config.schema import Config
from ecgpipe.core.paths import ModelDir
from ecgpipe.evaluation import metrics
from ecgpipe.processing import rhythm_features
from ecgpipe.training import classical
from ecgpipe.training.classifier import ECGClassifier, predict
from ecgpipe.training.datamodule import ECGDataModule
from ecgpipe.training.losses import decision_factors

log = logging.getLogger("ecgpipe")


def fit(cfg: Config, dm: ECGDataModule, module: ECGClassifier, out: Path, logger: Logger) -> Any:
    """The trees fitted on the training records, saved into ``out``, judged alone and pooled
    with ``module``'s validation scores; returns the fitted estimator."""
    r, classes, fs = cfg.train.rhythm, list(dm.cache.classes), float(dm.cache.meta["fs"])
    x, y = {}, {}
    for split in ("train", "val"):
        rows = dm.rows[split]
        x[split] = rhythm_features.table([np.asarray(dm.cache.signal(i)) for i in rows], fs)
        y[split] = dm.cache.labels[rows]
    counts = dm.class_counts()
    factors = decision_factors(cfg, counts)
    judged = {
        "classes": classes,
        "factors": None if factors is None else np.asarray(factors),
        "dataset": dm.cache.meta["dataset"],
    }
    weights = classical.class_weights(counts, cfg.train.class_weight)
    fitted = classical.fit(
        "beat_gbm",
        dict(r.options),
        cfg.train.seed,
        (x["train"], y["train"]),
        (x["val"], y["val"]),
        weights=weights,
        monitor=cfg.monitor,
        **judged,
    )
    classical.save(fitted.estimator, ModelDir(out).rhythm)
    _, p_net = predict(module, dm.val_dataloader(), cfg.trainer.accelerator)
    p_trees = models.classical.probabilities(fitted.estimator, x["val"], len(classes))
    pooled = models.classical.pool(p_net, p_trees, r.weight)
    values = {}
    for name, p in (("rhythm", p_trees), ("blend", pooled)):
        judged_p = classical.validation_metrics(y["val"], p, **judged, weights=weights)
        values |= {f"{name}/{k}": v for k, v in judged_p.items()}
    logger.log_metrics({metrics.metric_name(k): v for k, v in values.items()})
    log.info(
        "train: rhythm features beside the network (weight %.2f): %s %.4f alone, %.4f blended",
        r.weight,
        cfg.monitor,
        values.get(f"rhythm/{cfg.monitor}", float("nan")),
        values.get(f"blend/{cfg.monitor}", float("nan")),
    )
    return fitted.estimator
