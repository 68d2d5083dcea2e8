"""Stage ``train``: fit the configured model, tune thresholds on validation, log it all to MLflow.

Writes ``models/`` (``best.ckpt``, ``normalization.json``, ``thresholds.json``, ``run.json`` with
the MLflow run that ``evaluate`` logs into as well). Inside ``dvc exp run`` the run is named and
tagged after the DVC experiment; a sweep job creates its run (nested under the sweep's) first.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import mlflow
import numpy as np
import pytorch_lightning as pl
import torch
from mlflow.models import infer_signature
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint, RichProgressBar
from pytorch_lightning.loggers import MLFlowLogger

from ecgpipe import atomic, metrics, models, tracking
from ecgpipe.config import Config, TrainConfig
from ecgpipe.datamodule import ECGDataModule, crop
from ecgpipe.inference import InferenceModel
from ecgpipe.lit_module import ECGClassifier, predict
from ecgpipe.paths import Paths

log = logging.getLogger("ecgpipe")


class EpochLines(Callback):
    """One plain line per epoch where there is no terminal for a progress bar (CI, logs)."""

    SHOWN = ("train_loss", "val_loss", "val_macro_auroc", "val_f1_at05", "val_f1_tuned")

    def __init__(self, monitor: str) -> None:
        self.shown = dict.fromkeys((*self.SHOWN, monitor))

    def on_train_epoch_end(self, trainer: pl.Trainer, _: pl.LightningModule) -> None:
        m = trainer.callback_metrics
        values = " ".join(f"{k} {float(m[k]):.4f}" for k in self.shown if k in m)
        log.info("epoch %d: %s", trainer.current_epoch, values)


def decision_factors(cfg: Config, counts: np.ndarray) -> list[float] | None:
    """Single-label data: the factors of ``train.decision`` (see ``metrics.prior_correction``)."""
    if cfg.data.label_kind == "multilabel" or cfg.train.decision == "argmax":
        return None
    weighted = cfg.train.pos_weight
    return metrics.prior_correction(counts, weighted, cfg.train.weighted_sampler).tolist()


def build_module(cfg: Config, dm: ECGDataModule) -> ECGClassifier:
    t = cfg.train
    counts = dm.class_counts()
    return ECGClassifier(
        model=cfg.model.name,
        options=dict(cfg.model.options),
        n_leads=dm.n_leads,
        n_classes=dm.n_classes,
        classes=dm.cache.classes,
        multilabel=dm.multilabel,
        class_counts=[int(c) for c in counts],
        n_train=len(dm.rows["train"]),
        loss=cfg.loss,
        pos_weight=t.pos_weight,
        focal_gamma=t.focal_gamma,
        lr=t.lr,
        weight_decay=t.weight_decay,
        aggregate=t.aggregate,
        dataset=dm.cache.meta["dataset"],
        decision_factors=decision_factors(cfg, counts),
        fs=float(dm.cache.meta["fs"]),
        members=t.ensemble,
        n_features=0 if dm.cache.features is None else dm.cache.features.shape[1],
    )


def run(cfg: Config, paths: Paths, *, run_id: str | None = None) -> tuple[str, float]:
    """Train; returns the MLflow run id and the best value of the monitored validation metric.

    Logs into ``run_id`` when given (a sweep job creates its runs), else into a new run.
    """
    pl.seed_everything(cfg.train.seed, workers=True)
    dm = ECGDataModule(paths.processed, paths.split, models.INPUTS[cfg.model.name], cfg.train)
    module = build_module(cfg, dm)
    monitor = cfg.monitor
    for split, win in (("train", dm.train_windows), ("val", dm.eval_windows)):
        if n := dm.n_padded(split):
            log.info(
                "train: %d %s records are shorter than %.2f s; zero-padded at the end",
                n,
                split,
                win.length / float(dm.cache.meta["fs"]),
            )
    with (
        atomic.directory(paths.models) as out,
        tracking.store(cfg.mlflow, paths.root) as uri,
        mlflow.start_run(run_id=run_id or tracking.new_run(cfg.mlflow, paths.root)) as active,
    ):
        describe_run(cfg, paths, dm, module)
        logger = MLFlowLogger(
            cfg.mlflow.experiment, tracking_uri=uri, run_id=active.info.run_id, log_model=False
        )
        trainer, checkpoint = make_trainer(cfg.train, monitor, logger, out)
        trainer.fit(module, datamodule=dm)
        if checkpoint.best_model_path:
            module = ECGClassifier.load_from_checkpoint(
                checkpoint.best_model_path, weights_only=False
            )
            best = float(checkpoint.best_model_score)
        else:  # fast_dev_run keeps no checkpoint: keep the last weights
            trainer.save_checkpoint(out / "best.ckpt")
            best = float(trainer.callback_metrics.get(monitor, float("nan")))
        mlflow.log_metric(f"best_{monitor}", best)
        mlflow.set_tag("monitor", monitor)
        save_extras(module, dm, out)
        log_artifacts(cfg, paths, dm, module, out)
        run_info = {"run_id": active.info.run_id, "experiment_id": active.info.experiment_id}
        atomic.write_json(out / "run.json", run_info)
    log.info("train: best %s %.4f; MLflow run %s", monitor, best, run_info["run_id"])
    return run_info["run_id"], best


def describe_run(cfg: Config, paths: Paths, dm: ECGDataModule, module: ECGClassifier) -> None:
    """The whole configuration as parameters; what identifies the run as tags."""
    mlflow.log_params(tracking.flatten(cfg.model_dump(by_alias=True)))
    mlflow.set_tags(
        {
            "git_commit": tracking.git_commit(paths.root),
            "dataset": dm.cache.meta["dataset"],
            "task": dm.cache.meta["task"],
            "data_hash": tracking.data_hash(paths.processed),
            "model": cfg.model.name,
            "n_parameters": sum(p.numel() for p in module.parameters()),
        }
    )


def make_trainer(
    t: TrainConfig, monitor: str, logger: MLFlowLogger, out: Path
) -> tuple[pl.Trainer, ModelCheckpoint]:
    mode = "min" if monitor == "val_loss" else "max"
    checkpoint = ModelCheckpoint(
        dirpath=out, filename="best", monitor=monitor, mode=mode, save_top_k=1
    )
    tty = sys.stderr.isatty()
    callbacks = [
        checkpoint,
        EarlyStopping(monitor, mode=mode, patience=t.early_stopping_patience),
        RichProgressBar() if tty else EpochLines(monitor),
    ]
    trainer = pl.Trainer(
        max_epochs=t.max_epochs,
        accelerator=t.accelerator,
        devices=t.devices,
        strategy=t.strategy,
        precision=t.precision,
        deterministic=t.deterministic,
        fast_dev_run=t.fast_dev_run,
        limit_train_batches=t.limit_train_batches,
        limit_val_batches=t.limit_val_batches,
        logger=logger,
        callbacks=callbacks,
        enable_progress_bar=tty,
        enable_model_summary=tty,
        default_root_dir=out,
        log_every_n_steps=10,
    )
    return trainer, checkpoint


DECISION_FILES = {"multilabel": "thresholds.json", "multiclass": "decision.json"}


def save_extras(module: ECGClassifier, dm: ECGDataModule, out: Path) -> None:
    """How records are labelled, and the normalisation statistics.

    Multilabel: per-class thresholds tuned on validation (``thresholds.json``). Single-label:
    the argmax rule and its class factors (``decision.json``).
    """
    classes = dm.cache.classes
    if dm.multilabel:
        y_val, p_val = predict(module, dm.val_dataloader())
        thresholds = metrics.tune_thresholds(y_val, p_val).tolist()
        atomic.write_json(out / "thresholds.json", dict(zip(classes, thresholds, strict=True)))
    else:
        factors = module.hparams.decision_factors or [1.0] * len(classes)
        rule = "argmax" if module.hparams.decision_factors is None else "prior_corrected"
        atomic.write_json(
            out / "decision.json",
            {"rule": rule, "factors": dict(zip(classes, factors, strict=True))},
        )
    dm.normalizer.save(out / "normalization.json")


def serving_requirements() -> list[str]:
    """What loading the logged model needs besides ecgpipe itself (which defines its classes).

    Stated rather than inferred: MLflow's inference loads the model in a subprocess (~12 s a run).
    """
    from importlib.metadata import version

    return [
        f"{name}=={version(name).split('+')[0]}"
        for name in ("mlflow", "torch", "numpy", "cloudpickle")
    ]


def log_artifacts(
    cfg: Config, paths: Paths, dm: ECGDataModule, module: ECGClassifier, out: Path
) -> None:
    """The serving model (with signature and input example), configuration, reports, extras."""
    serving = InferenceModel(
        module.net.cpu(),
        cfg.model.name,
        dm.normalizer,
        dm.multilabel,
        float(dm.cache.meta["fs"]),
        dm.cache.meta["spectrogram"],
        0 if dm.cache.features is None else dm.cache.features.shape[1],
    )
    length, rows = dm.eval_windows.length, dm.rows["val"][:2]
    example = np.stack([crop(dm.cache.signal(r), 0, length) for r in rows])
    if serving.n_features:  # a beat per row: its window, then its features
        assert dm.cache.features is not None
        example = np.concatenate([example.reshape(len(rows), -1), dm.cache.features[rows]], 1)
    with torch.no_grad():
        predicted = serving(torch.from_numpy(example)).numpy()
    mlflow.pytorch.log_model(
        serving,
        name="model",
        input_example=example,
        signature=infer_signature(example, predicted),
        pip_requirements=serving_requirements(),
    )
    mlflow.log_dict(cfg.model_dump(by_alias=True, mode="json"), "config/params.yaml")
    for name in ("normalization.json", DECISION_FILES[dm.cache.meta["label_kind"]]):
        mlflow.log_artifact(str(out / name), "model_extras")
    for report in ("integrity.json", "integrity.md", "split.json"):
        if (paths.reports / report).is_file():
            mlflow.log_artifact(str(paths.reports / report), "reports")
