"""How the trained model labels records, tuned on validation and written to the model folder.

Multilabel: a threshold per class tuned on the validation split (``thresholds.json``).
Single-label: the argmax, with the class factors of ``train.decision`` or none
(``decision.json``). Each returns the rule as the served model's
:class:`~ecgpipe.serving.model.Contract` holds it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ecgpipe.core import atomic
from ecgpipe.core.paths import ModelDir
from ecgpipe.evaluation import metrics
from ecgpipe.training.classifier import ECGClassifier, predict
from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")


def save(module: ECGClassifier, dm: ECGDataModule, out: Path, accelerator: str) -> dict:
    """The network's rule into ``out``: thresholds tuned on its validation scores (multilabel,
    scored on ``accelerator``), else its classifier's decision factors."""
    classes = dm.cache.classes
    if not dm.multilabel:
        return write_factors(out, classes, module.labels.decision_factors)
    y_val, p_val = predict(module, dm.val_dataloader(), accelerator)
    tuned = metrics.tune_thresholds(y_val, p_val)
    thresholds = [None if np.isnan(t) else float(t) for t in tuned]
    if untuned := [c for c, t in zip(classes, thresholds, strict=True) if t is None]:
        log.warning(
            "train: no validation record has %s: no threshold, never called (scores still "
            "given)", ", ".join(untuned)
        )  # fmt: skip
    atomic.write_json(ModelDir(out).thresholds, dict(zip(classes, thresholds, strict=True)))
    return {"thresholds": tuple(thresholds)}


def write_factors(out: Path, classes: list[str], factors: tuple[float, ...] | None) -> dict:
    """Single-label data: ``decision.json`` (the argmax, with class factors or none)."""
    rule = "argmax" if factors is None else "prior_corrected"
    factors = factors or (1.0,) * len(classes)
    atomic.write_json(
        ModelDir(out).factors,
        {"rule": rule, "factors": dict(zip(classes, factors, strict=True))},
    )
    return {"factors": tuple(float(f) for f in factors)}
