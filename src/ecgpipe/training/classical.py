"""Fitting a classical beat model (:mod:`ecgpipe.models.classical`) as ``train`` fits a network.

The same training rows, class weights (``train.class_weight``, the loss's weights as sample
weights) and validation metrics as a network's epochs (:func:`validation_metrics`, with
``val/loss`` the class-weighted log loss); gradient-boosted trees keep the number of rounds that
is best on the validation split by ``train.monitor``, checked every :data:`STEP` rounds, each
check a point of the curve MLflow shows; :func:`fit_beats` fits the configured model on a data
module's beats (and ``train.segments``' stretches). The fitted estimator is saved with joblib
(``models/estimator.joblib``, :class:`ecgpipe.core.paths.ModelDir`).
"""

from __future__ import annotations

import logging
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.metrics import log_loss

from ecgpipe.config.schema import Config
from ecgpipe.core.paths import broken
from ecgpipe.models import classical
from ecgpipe.processing import beat_features
from ecgpipe.training import segments
from ecgpipe.training.classifier import epoch_metrics_multiclass
from ecgpipe.training.losses import CLASS_WEIGHT_POWER, decision_factors

if TYPE_CHECKING:
    from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")

"""``train.rhythm``'s trees, beside a network's checkpoint."""
STEP = 10
"""Boosting rounds between two validation checks."""


@dataclass(frozen=True)
class Fitted:
    estimator: Any
    best: float
    """The monitored validation value of the kept estimator."""
    curve: list[tuple[int, dict[str, float]]]
    """(step, validation metrics) of each check: boosting rounds, or 1 for a linear model."""


def class_weights(counts: np.ndarray, class_weight: str) -> np.ndarray:
    """Per class, the weight the networks' loss gives it: ``(n / (C * count)) ** power``."""
    counts = np.maximum(np.asarray(counts, np.float64), 1)
    return (counts.sum() / (len(counts) * counts)) ** CLASS_WEIGHT_POWER[class_weight]


def validation_metrics(
    y: np.ndarray,
    p: np.ndarray,
    classes: list[str],
    factors: np.ndarray | None,
    dataset: str,
    weights: np.ndarray,
) -> dict[str, float]:
    """What a network logs each epoch, and ``val/loss``: the class-weighted log loss."""
    out = epoch_metrics_multiclass(y, p, classes, factors, dataset)
    clipped = np.clip(p, 1e-7, 1)
    clipped /= clipped.sum(axis=1, keepdims=True)
    loss = log_loss(y, clipped, labels=np.arange(len(classes)), sample_weight=weights[y])
    return {"val/loss": float(loss), **out}


def fit(
    name: str,
    options: dict[str, Any],
    seed: int,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    classes: list[str],
    weights: np.ndarray,
    factors: np.ndarray | None,
    dataset: str,
    monitor: str,
    groups: dict[str, list[int]] | None = None,
) -> Fitted:
    """Model ``name`` fitted on ``train`` (features, class ids), judged on ``val``; ``groups``:
    the feature columns of each set, for ``beat_ensemble``."""
    (x, y), (x_val, y_val) = train, val
    estimator = classical.build(name, seed, groups, **options)
    classical.fit(estimator, x, y, weights)
    n = len(classes)

    def measured(p: np.ndarray) -> dict[str, float]:
        return validation_metrics(y_val, p, classes, factors, dataset, weights)

    if not hasattr(estimator, "staged_predict_proba"):
        values = measured(classical.probabilities(estimator, x_val, n))
        return Fitted(estimator, values.get(monitor, float("nan")), [(1, values)])
    curve = []
    for rounds, p in enumerate(estimator.staged_predict_proba(x_val), start=1):
        if rounds % STEP == 0 or rounds == estimator.n_iter_:
            full = np.zeros((len(x_val), n), np.float32)
            full[:, estimator.classes_] = p
            curve.append((rounds, measured(full)))
    sign = -1 if monitor == "val/loss" else 1
    rounds, values = max(curve, key=lambda c: sign * c[1].get(monitor, -np.inf * sign))
    if rounds < estimator.n_iter_:  # the same trees, stopped there: no randomness in between
        estimator = classical.fit(clone(estimator).set_params(max_iter=rounds), x, y, weights)
    return Fitted(estimator, values.get(monitor, float("nan")), curve)


def fit_beats(cfg: Config, dm: ECGDataModule) -> Fitted:
    """The configured classical model fitted on the training beats' features, with the
    stretches ``train.segments`` cuts from the training records beside them."""
    assert dm.cache.features is not None  # the data module refuses a cache without
    features, labels, rows = dm.cache.features, dm.cache.labels, dm.rows
    counts = dm.class_counts()
    factors = decision_factors(cfg, counts)
    extra = segments.augment(
        dm.cache, rows["train"], cfg.preprocess.beats, cfg.train.segments, cfg.train.seed
    )
    if len(extra[1]):
        log.info("train: %d beats of stretches cut from the training records", len(extra[1]))
    return fit(
        cfg.model.name,
        dict(cfg.model.options),
        cfg.train.seed,
        (
            np.concatenate([features[rows["train"]], extra[0]]),
            np.concatenate([labels[rows["train"]], extra[1]]),
        ),
        (np.asarray(features[rows["val"]]), labels[rows["val"]]),
        classes=list(dm.cache.classes),
        weights=class_weights(counts, cfg.train.class_weight),
        factors=None if factors is None else np.asarray(factors),
        dataset=dm.cache.meta["dataset"],
        monitor=cfg.monitor,
        groups=beat_features.columns(cfg.preprocess.beats.features, int(dm.cache.lengths[0])),
    )


def save(estimator: Any, path: Path) -> None:
    joblib.dump(estimator, path)


def load(path: Path) -> Any:
    """The estimator ``train`` saved, or a BrokenOutputError that says how to rebuild it."""
    if not Path(path).is_file():
        raise broken(path, "missing")
    try:
        return joblib.load(path)
    except (OSError, EOFError, ValueError, KeyError, pickle.UnpicklingError) as err:
        raise broken(
            path, f"not an estimator ecgpipe can load ({type(err).__name__}: {err})"
        ) from None
