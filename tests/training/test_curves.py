"""The learning-curve CSV: a row per epoch, kept across a resumed training, rewritten whole."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from types import SimpleNamespace

import torch

from ecgpipe.training import curves


def trainer(epoch: int, **metrics: float) -> SimpleNamespace:
    values = {k.replace("__", "/"): torch.tensor(v) for k, v in metrics.items()}
    return SimpleNamespace(
        is_global_zero=True, sanity_checking=False, current_epoch=epoch, callback_metrics=values
    )


def fit(path: Path, start: int, end: int) -> None:
    """A (resumed) training from epoch ``start`` to ``end`` - 1, each epoch's figures made up."""
    callback = curves.TrainingCurve(path)
    callback.on_train_start(trainer(start), None)
    for epoch in range(start, end):
        loss = 1.0 / (epoch + 1)
        callback.on_validation_end(
            trainer(
                epoch, train__loss=loss, val__loss=loss + 0.1, val__macro_auroc=0.5 + epoch / 20
            ),
            None,
        )


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def test_a_row_per_epoch_every_column_and_nan_for_what_is_not_logged(tmp_path: Path) -> None:
    path = tmp_path / "plots" / curves.FILE
    fit(path, 0, 3)
    table = rows(path)
    assert [r["epoch"] for r in table] == ["0", "1", "2"]
    assert list(table[0]) == list(curves.COLUMNS)
    assert math.isclose(float(table[2]["train/loss"]), 1 / 3, rel_tol=1e-5)
    assert table[0]["val/macro_f1"] == "nan"  # multilabel data logs no macro F1


def test_a_resumed_training_continues_its_curve_and_drops_later_rows(tmp_path: Path) -> None:
    path = tmp_path / curves.FILE
    fit(path, 0, 5)  # a training that got to epoch 4, then resumed from its epoch-2 checkpoint
    fit(path, 2, 4)
    assert [r["epoch"] for r in rows(path)] == ["0", "1", "2", "3"]
    fit(path, 0, 2)  # a new training starts a new curve
    assert [r["epoch"] for r in rows(path)] == ["0", "1"]


def test_sanity_checks_and_other_ranks_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / curves.FILE
    callback = curves.TrainingCurve(path)
    callback.on_train_start(SimpleNamespace(is_global_zero=False, current_epoch=0), None)
    assert not path.exists()
    callback.on_train_start(trainer(0), None)
    checking = trainer(0, val__loss=1.0)
    checking.sanity_checking = True
    callback.on_validation_end(checking, None)
    assert rows(path) == []


def test_a_classical_models_checks_as_rows(tmp_path: Path) -> None:
    path = tmp_path / curves.FILE
    checks = [(10, {"val/loss": 0.5, "val/macro_f1": 0.6}), (20, {"val/loss": 0.4})]
    curves.write(path, [curves.row(step, values) for step, values in checks])
    table = rows(path)
    assert [r["epoch"] for r in table] == ["10", "20"]
    assert table[0]["val/macro_f1"] == "0.6" and table[0]["train/loss"] == "nan"
    assert [r["epoch"] for r in curves.read(path)] == [10, 20]
