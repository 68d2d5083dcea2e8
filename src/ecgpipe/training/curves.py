"""Learning curves as a DVC plot: ``plots/training.csv``, one row per epoch.

``dvc plots show`` / ``dvc plots diff`` (and the VS Code extension) draw it as dvc.yaml
declares, so experiments compare learning curves, not only test-set plots. The columns are the
same for every kind of data, so one plot definition fits all; a figure a run does not log (the
tuned-threshold F1 of single-label data, a classical model's training loss) is ``nan``, which
the plot leaves out.

A network's rows come from :class:`TrainingCurve`, a Lightning callback that rewrites the file
atomically after each epoch (a killed training leaves the epochs it finished); a classical
model's from its validation checks (:func:`write`), a check per row.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback

from ecgpipe.core import atomic

FILE = "training.csv"
"""Its name under the run's ``plots/``."""

COLUMNS = (
    "epoch",
    "train/loss",
    "val/loss",
    "val/macro_auroc",
    "val/macro_auprc",
    "val/f1_tuned",
    "val/accuracy",
    "val/macro_f1",
    "val/cinc2017_f1",
)
"""Every headline figure either kind of data logs each epoch; every ``train.monitor`` is one."""


def row(epoch: int, values: Mapping[str, float]) -> dict[str, float]:
    """One epoch's row: ``values`` of :data:`COLUMNS` (others are left out), ``nan`` for none."""
    return {"epoch": epoch} | {k: float(values.get(k, math.nan)) for k in COLUMNS[1:]}


def write(path: Path, rows: Iterable[Mapping[str, float]]) -> None:
    """``rows`` as the CSV, atomically."""
    text = io.StringIO()
    writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: _cell(r.get(k, math.nan)) for k in COLUMNS})
    atomic.write_text(path, text.getvalue())


def read(path: Path) -> list[dict[str, float]]:
    """The rows of the CSV at ``path`` (none when it is missing or unreadable)."""
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        return [{k: float(r.get(k) or math.nan) for k in COLUMNS} for r in rows]
    except (OSError, ValueError, csv.Error):
        return []


def _cell(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else "nan" if math.isnan(value) else f"{value:.6g}"


class TrainingCurve(Callback):
    """Writes ``path`` (a row per epoch, :data:`COLUMNS`) at the end of every epoch's validation,
    before the epoch's checkpoint is written (checkpoint callbacks run last), on rank zero. When
    training starts it keeps the rows of epochs before the trainer's current one (a training
    resumed from a checkpoint continues its curve) and drops the rest (a new training starts a
    new one). That is ``on_train_start``: Lightning restores a checkpoint's epoch only
    after ``on_fit_start``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.rows: list[dict[str, float]] = []

    def on_train_start(self, trainer: pl.Trainer, _: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        self.rows = [r for r in read(self.path) if r["epoch"] < trainer.current_epoch]
        write(self.path, self.rows)

    def on_validation_end(self, trainer: pl.Trainer, _: pl.LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        m = {k: float(v) for k, v in trainer.callback_metrics.items() if k in COLUMNS}
        epoch = trainer.current_epoch
        self.rows = [r for r in self.rows if r["epoch"] < epoch] + [row(epoch, m)]
        write(self.path, self.rows)
