"""The Lightning ``Trainer`` of a training, and its fit down to the best epoch's classifier.

``trainer`` in ``params.yaml`` (``conf/trainer/``) holds Lightning's own arguments by its names,
passed as they are; :func:`make` adds what ecgpipe decides itself (the callbacks: best and last
checkpoints, early stopping, a progress bar or :class:`EpochLines`; the logger; ``max_epochs``
from ``train``) and refuses a key Lightning does not know, or one of those, in one line.
"""

from __future__ import annotations

import difflib
import inspect
import logging
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint, RichProgressBar
from pytorch_lightning.loggers import Logger

from ecgpipe.config.schema import Config, ConfigError, TrainerConfig
from ecgpipe.training import curves
from ecgpipe.training.classifier import ECGClassifier, load_checkpoint
from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")

OWN = {
    "max_epochs": "set train.max_epochs",
    "logger": "ecgpipe logs to MLflow",
    "callbacks": "ecgpipe sets them",
    "default_root_dir": "ecgpipe sets it (the checkpoints' folder)",
    "enable_checkpointing": "ecgpipe keeps the best and the last epoch",
    "enable_progress_bar": "ecgpipe shows one where there is a terminal",
    "enable_model_summary": "ecgpipe shows one where there is a terminal",
    "num_sanity_val_steps": "ecgpipe sets it (none when resuming)",
}
"""The Trainer arguments ecgpipe decides, and why a ``trainer`` key cannot."""


class EpochLines(Callback):
    """One plain line per epoch where there is no terminal for a progress bar (CI, logs)."""

    SHOWN = ("train/loss", "val/loss", "val/macro_auroc", "val/f1_at05", "val/f1_tuned")

    def __init__(self, monitor: str) -> None:
        self.shown = dict.fromkeys((*self.SHOWN, monitor))

    def on_train_epoch_end(self, trainer: pl.Trainer, _: pl.LightningModule) -> None:
        if not trainer.is_global_zero:
            return
        m = trainer.callback_metrics
        values = " ".join(f"{k} {float(m[k]):.4f}" for k in self.shown if k in m)
        log.info("epoch %d: %s", trainer.current_epoch, values)


def arguments(settings: TrainerConfig) -> dict[str, Any]:
    """``settings`` as ``Trainer`` keyword arguments: each Lightning's, none of :data:`OWN`."""
    known = inspect.signature(pl.Trainer).parameters
    given = settings.model_dump()
    for key in given:
        if key in OWN:
            raise ConfigError(f"trainer.{key}: not a trainer key here: {OWN[key]}")
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ConfigError(f"trainer.{key}: not an argument of Lightning's Trainer{hint}")
    return given


def make(
    cfg: Config,
    logger: Logger | bool,
    out: Path,
    extra: Sequence[Callback] = (),
    curve: Path | None = None,
    resuming: bool = False,
) -> pl.Trainer:
    """The trainer: checkpoints of the best epoch by ``cfg.monitor`` and of the last into
    ``out``, early stopping, ``extra`` callbacks; ``curve``: the CSV of per-epoch figures
    (:mod:`ecgpipe.training.curves`) to write, if any; ``resuming``: a checkpoint will be loaded."""
    monitor = cfg.monitor
    mode = "min" if monitor == "val/loss" else "max"
    tty = sys.stderr.isatty()
    callbacks = [
        ModelCheckpoint(
            dirpath=out,
            filename="best",
            monitor=monitor,
            mode=mode,
            save_top_k=1,
            save_last=True,  # to resume from (train.resume)
            enable_version_counter=False,
        ),
        EarlyStopping(monitor, mode=mode, patience=cfg.train.early_stopping_patience),
        RichProgressBar() if tty else EpochLines(monitor),
        *([curves.TrainingCurve(curve)] if curve else []),
        *extra,
    ]
    return pl.Trainer(
        **arguments(cfg.trainer),
        max_epochs=cfg.train.max_epochs,
        logger=logger,
        callbacks=callbacks,
        enable_progress_bar=tty,
        enable_model_summary=tty,
        default_root_dir=out,
        num_sanity_val_steps=0 if resuming else 2,  # it would draw from the restored generators
    )


def fit(
    trainer: pl.Trainer,
    module: ECGClassifier,
    dm: ECGDataModule,
    keep: Path,
    resume_from: Path | None = None,
) -> tuple[ECGClassifier, float]:
    """Fit (from the checkpoint ``resume_from``, if given); the best epoch's checkpoint copied to
    ``keep``. Returns its classifier and its monitored value; with ``fast_dev_run``, which keeps
    no checkpoint, the last weights and value."""
    trainer.fit(module, datamodule=dm, ckpt_path=resume_from)
    checkpoint = trainer.checkpoint_callback
    assert isinstance(checkpoint, ModelCheckpoint)
    if checkpoint.best_model_path:
        shutil.copyfile(checkpoint.best_model_path, keep)
        return load_checkpoint(keep), float(checkpoint.best_model_score)
    trainer.save_checkpoint(keep)
    return module, float(trainer.callback_metrics.get(checkpoint.monitor, float("nan")))
