"""Cross-validation with the pipeline's own stages: the data stages once, then ``train`` and the
test scoring of ``evaluate`` per fold, on split indices the benchmark chooses (shared by the
dataset benchmarks, ``cinc2017.py`` and ``mitdb.py``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from common import PROJECT

from ecgpipe.config.compose import write_params
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import Paths
from ecgpipe.evaluation import metrics
from ecgpipe.stages import evaluate, train

DATA_SECTIONS = ("data.", "preprocess.", "validate.")
"""Overrides that change the data stages' outputs (a project per distinct set of them)."""


def fold_project(
    project: Path, overrides: list[str], split: dict[str, np.ndarray], where: Path
) -> Paths:
    """A project root for one fold: the shared cache, the fold's split, its own outputs."""
    (where / "data" / "split").mkdir(parents=True)
    (where / "data" / "processed").symlink_to(project / "data" / "processed")
    write_params(PROJECT / "conf", where / "params.yaml", overrides)
    for name, rows in split.items():
        np.save(where / "data" / "split" / f"{name}.npy", rows.astype(np.int64))
    return Paths(where)


def run_pipeline(
    project: Path, overrides: list[str], split: dict[str, np.ndarray], where: Path
) -> tuple:
    """The pipeline's train and its test scoring on one fold:
    (test targets, predicted classes, seconds of training, probabilities)."""
    paths = fold_project(project, overrides, split, where)
    cfg = load_params(paths.params)
    start = time.perf_counter()
    train.run(cfg, paths)
    seconds = time.perf_counter() - start
    dm, y, p = evaluate.test_scores(cfg, paths)
    pred = metrics.predict_classes(p, paths.model.decision(dm.cache.classes, multilabel=False))
    return y, pred, seconds, p
