"""Stage ``train``: fit the configured model, tune thresholds on validation, log it all to MLflow.

Writes ``models/`` (``best.ckpt``, or ``estimator.joblib`` for a classical beat model;
``normalization.json``, ``thresholds.json`` or ``decision.json``, ``run.json`` with the MLflow run
that ``evaluate`` logs into as well). A network is fitted by Lightning; a classical model
(``model=beat_linear``, ``beat_gbm``) by scikit-learn (:mod:`ecgpipe.training.classical`), on
the same rows with the same class weights and validation metrics, logged and served the same way.
Inside ``dvc exp run`` the run is named and tagged after the DVC experiment; a sweep job creates
its run (nested under the sweep's) first.

With several devices (``train.devices=2 train.strategy=ddp``), Lightning starts this stage again
in one process per further rank; those only take part in ``fit``. Rank zero alone creates the
MLflow run, logs, tunes the thresholds and writes ``models/``.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback, EarlyStopping, ModelCheckpoint, RichProgressBar
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from ecgpipe import models, tracking
from ecgpipe.config.schema import Config, TrainConfig
from ecgpipe.core import atomic
from ecgpipe.core.paths import ModelDir, Paths
from ecgpipe.evaluation import conformal, metrics
from ecgpipe.processing import beat_features
from ecgpipe.serving.model import (
    Contract,
    FeatureModel,
    RecordModel,
    RhythmModel,
    WindowModel,
    pool,
)
from ecgpipe.training import classical, curves, finetune, losses, resume, segments
from ecgpipe.training.classifier import (
    ECGClassifier,
    Labels,
    Network,
    Objective,
    Optimiser,
    load_checkpoint,
    predict,
)
from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")


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


def decision_factors(cfg: Config, counts: np.ndarray) -> tuple[float, ...] | None:
    """Single-label data: the factors of ``train.decision`` (see ``metrics.prior_correction``)."""
    if cfg.data.label_kind == "multilabel" or cfg.train.decision == "argmax":
        return None
    power = losses.CLASS_WEIGHT_POWER[cfg.train.class_weight]
    return tuple(metrics.prior_correction(counts, power, cfg.train.weighted_sampler).tolist())


def build_module(cfg: Config, dm: ECGDataModule) -> ECGClassifier:
    t = cfg.train
    counts = dm.class_counts()
    return ECGClassifier(
        network=Network(
            model=cfg.model.name,
            options=dict(cfg.model.options),
            n_leads=dm.n_leads,
            n_classes=dm.n_classes,
            fs=float(dm.cache.meta["fs"]),
            members=t.ensemble,
            n_features=0 if dm.cache.features is None else dm.cache.features.shape[1],
        ),
        objective=Objective(
            loss=cfg.loss,
            class_counts=tuple(int(c) for c in counts),
            n_train=len(dm.rows["train"]),
            class_weight=t.class_weight,
            focal_gamma=t.focal_gamma,
        ),
        optimiser=Optimiser(lr=t.lr, weight_decay=t.weight_decay),
        labels=Labels(
            classes=tuple(dm.cache.classes),
            multilabel=dm.multilabel,
            aggregate=t.aggregate,
            dataset=dm.cache.meta["dataset"],
            decision_factors=decision_factors(cfg, counts),
        ),
    )


def run(
    cfg: Config,
    paths: Paths,
    *,
    run_id: str | None = None,
    callbacks: Sequence[Callback] = (),
) -> tuple[str, float]:
    """Train; returns the MLflow run id and the best value of the monitored validation metric.

    Logs into ``run_id`` when given (a sweep job creates its runs), else into a new run.
    ``callbacks`` join the trainer's own (a sweep's pruning, for instance).
    """
    pl.seed_everything(cfg.train.seed, workers=True)
    dm = ECGDataModule(paths.processed, paths.split, models.INPUTS[cfg.model.name], cfg.train)
    if cfg.model.name in models.CLASSICAL:
        return run_classical(cfg, paths, dm, run_id)
    module = build_module(cfg, dm)
    monitor = cfg.monitor
    if rank_zero_only.rank > 0:  # a further DDP rank (the environment says which): fit only
        with tempfile.TemporaryDirectory(prefix="ecgpipe-rank-") as scratch:
            trainer, _ = make_trainer(cfg.train, monitor, False, Path(scratch), callbacks)
            trainer.fit(module, datamodule=dm)
        return "", float("nan")
    for split, win in (("train", dm.train_windows), ("val", dm.eval_windows)):
        if n := dm.n_padded(split):
            log.info(
                "train: %d %s records are shorter than %.2f s; zero-padded at the end",
                n,
                split,
                win.length / float(dm.cache.meta["fs"]),
            )
    config = cfg.model_dump(by_alias=True, mode="json")
    if run_id is not None and cfg.train.resume:
        raise resume.ResumeError(
            "train.resume continues a training of `ecgpipe train` (or `dvc repro`), not a "
            "sweep job: a sweep starts its jobs afresh"
        )
    interrupted = resume.find(paths.checkpoints, config, cfg.train.resume)
    source = None
    if interrupted is not None:
        run_id = interrupted.run_id
        log.info(
            "train: resuming after epoch %d from %s into MLflow run %s",
            interrupted.epoch,
            interrupted.checkpoint,
            run_id,
        )
    elif cfg.train.init_from:
        source = start_from(cfg, paths, dm, module)
    extra = [*callbacks, resume.RandomState()]
    if cfg.train.freeze_epochs:
        extra.append(finetune.FreezeBackbone(cfg.train.freeze_epochs))
    with (
        atomic.directory(paths.models) as out,
        training_run(cfg, paths, dm, run_id) as logger,
    ):
        if interrupted is None:
            describe_run(cfg, paths, dm, sum(p.numel() for p in module.parameters()), source)
            resume.record(paths.checkpoints, logger.run_id, config)
        trainer, checkpoint = make_trainer(
            cfg.train,
            monitor,
            logger,
            paths.checkpoints,
            extra,
            curve=paths.plots / curves.FILE,
            resuming=interrupted is not None,
        )
        trainer.fit(
            module,
            datamodule=dm,
            ckpt_path=None if interrupted is None else interrupted.checkpoint,
        )
        if checkpoint.best_model_path:
            shutil.copyfile(checkpoint.best_model_path, ModelDir(out).checkpoint)
            module = load_checkpoint(ModelDir(out).checkpoint)
            best = float(checkpoint.best_model_score)
        else:  # fast_dev_run keeps no checkpoint: keep the last weights
            trainer.save_checkpoint(ModelDir(out).checkpoint)
            best = float(trainer.callback_metrics.get(monitor, float("nan")))
        decision = save_extras(module, dm, out, cfg.train.accelerator)
        rhythm = fit_rhythm(cfg, dm, module, out, logger) if cfg.train.rhythm.weight else None
        served = record_model(
            cfg, dm, window_model(cfg, dm, module), decision, logger.run_id, rhythm
        )
        finish(cfg, paths, dm, out, logger, best, served)
    resume.finished(paths.checkpoints)
    log.info("train: best %s %.4f; MLflow run %s", monitor, best, logger.run_id)
    return logger.run_id, best


def start_from(
    cfg: Config, paths: Paths, dm: ECGDataModule, module: ECGClassifier
) -> finetune.Source:
    """``train.init_from``: the network's weights from the source model (its head afresh
    where the classes differ)."""
    ref = cfg.train.init_from or ""
    source = (
        served_source(ref, cfg, paths)
        if finetune.is_mlflow_uri(ref)
        else finetune.from_checkpoint(ref, paths.root)
    )
    kept = finetune.start_from(
        source,
        module.net,
        cfg.model.name,
        tuple(dm.cache.meta["leads"]),
        float(dm.cache.meta["fs"]),
        tuple(dm.cache.classes),
    )
    log.info(
        "train: starting from %s (%s; %s)",
        source.ref,
        source.model,
        "its head kept" if kept else f"a new head for {', '.join(dm.cache.classes)}",
    )
    return source


def served_source(ref: str, cfg: Config, paths: Paths) -> finetune.Source:
    """The network of a logged model (``runs:/ID/model``, ``models:/NAME@ALIAS``), with the
    leads, rate and classes its contract records."""
    model, _ = tracking.load_record_model(ref, cfg.mlflow, paths.root)
    contract, net = model.contract, getattr(model.windows, "net", None)
    if net is None:
        raise finetune.FineTuneError(
            f"train.init_from={ref}: a {contract.source.get('model')} model has no network to "
            "start from (a classical model is fitted anew)"
        )
    return finetune.Source(
        ref=ref,
        model=str(contract.source.get("model")),
        n_leads=len(contract.leads),
        leads=tuple(contract.leads),
        fs=float(contract.fs),
        classes=tuple(contract.classes),
        state=net.state_dict(),
        run_id=contract.source.get("mlflow_run_id"),
    )


def training_run(cfg: Config, paths: Paths, dm: ECGDataModule, run_id: str | None):
    """The MLflow run this training logs into (see :func:`ecgpipe.tracking.training_run`)."""
    name = tracking.run_name(cfg.model.name, dm.cache.meta["dataset"], cfg.model_dump(mode="json"))
    return tracking.training_run(cfg.mlflow, paths.root, run_id, name)


def finish(
    cfg: Config,
    paths: Paths,
    dm: ECGDataModule,
    out: Path,
    logger: Logger,
    best: float,
    served: RecordModel,
) -> None:
    """Log the result into the run (best value, served model, extras, reports); ``run.json``."""
    reports = [paths.reports / n for n in ("integrity.json", "integrity.md", "split.json")]
    files = ModelDir(out)
    atomic.write_json(files.conformal, served.contract.conformal)
    extras = (files.normalization, files.decision_file(dm.multilabel), files.conformal)
    tracking.log_training_result(
        cfg.monitor,
        best,
        served,
        example_input(dm, served),
        cfg.model_dump(by_alias=True, mode="json"),
        {
            "model_extras": list(extras),
            "reports": [r for r in reports if r.is_file()],
        },
    )
    atomic.write_json(files.run, {"run_id": logger.run_id, "experiment_id": logger.experiment_id})


def run_classical(
    cfg: Config, paths: Paths, dm: ECGDataModule, run_id: str | None
) -> tuple[str, float]:
    """Fit a classical beat model on the training rows' features; its validation checks are the
    run's curve (a step per check), the rest as for a network."""
    assert dm.cache.features is not None  # the data module refuses a cache without
    features, labels = dm.cache.features, dm.cache.labels
    counts = dm.class_counts()
    factors = decision_factors(cfg, counts)
    rows = {split: dm.rows[split] for split in ("train", "val")}
    with (
        atomic.directory(paths.models) as out,
        training_run(cfg, paths, dm, run_id) as logger,
    ):
        extra = segments.augment(
            dm.cache, rows["train"], cfg.preprocess.beats, cfg.train.segments, cfg.train.seed
        )
        if len(extra[1]):
            log.info("train: %d beats of stretches cut from the training records", len(extra[1]))
        fitted = classical.fit(
            cfg.model.name,
            dict(cfg.model.options),
            cfg.train.seed,
            (
                np.concatenate([features[rows["train"]], extra[0]]),
                np.concatenate([labels[rows["train"]], extra[1]]),
            ),
            (np.asarray(features[rows["val"]]), labels[rows["val"]]),
            classes=list(dm.cache.classes),
            weights=classical.class_weights(counts, cfg.train.class_weight),
            factors=None if factors is None else np.asarray(factors),
            dataset=dm.cache.meta["dataset"],
            monitor=cfg.monitor,
            groups=beat_features.columns(cfg.preprocess.beats.features, int(dm.cache.lengths[0])),
        )
        describe_run(cfg, paths, dm, models.classical.n_parameters(fitted.estimator))
        for step, values in fitted.curve:
            logger.log_metrics({metrics.metric_name(k): v for k, v in values.items()}, step)
        curves.write(paths.plots / curves.FILE, [curves.row(s, v) for s, v in fitted.curve])
        classical.save(fitted.estimator, ModelDir(out).estimator)
        dm.normalizer.save(ModelDir(out).normalization)
        decision = write_decision(out, dm.cache.classes, factors)
        windows = FeatureModel(fitted.estimator, features.shape[1], len(dm.cache.classes))
        finish(
            cfg,
            paths,
            dm,
            out,
            logger,
            fitted.best,
            record_model(cfg, dm, windows, decision, logger.run_id),
        )
    log.info(
        "train: %s %s %.4f; MLflow run %s", cfg.model.name, cfg.monitor, fitted.best, logger.run_id
    )
    return logger.run_id, fitted.best


def describe_run(
    cfg: Config,
    paths: Paths,
    dm: ECGDataModule,
    n_parameters: int,
    source: finetune.Source | None = None,
) -> None:
    """The whole configuration as parameters; what identifies the run as tags; the splits;
    where a fine-tuning started (``source``)."""
    meta = dm.cache.meta
    index = dm.cache.index
    splits = {}
    for name, rows in dm.rows.items():
        y = dm.cache.labels[rows]
        labels = (
            [";".join(c for c, h in zip(dm.cache.classes, r, strict=True) if h) for r in y]
            if y.ndim == 2
            else [dm.cache.classes[k] for k in y]
        )
        splits[name] = pd.DataFrame(
            {
                "record_id": index["record_id"].iloc[rows].astype(str).to_numpy(),
                "patient_id": index["patient_id"].iloc[rows].astype(str).to_numpy(),
                "labels": labels,
            }
        )
    tracking.log_training(
        cfg.model_dump(by_alias=True),
        {
            "dataset": meta["dataset"],
            "task": meta["task"],
            "data_hash": tracking.data_hash(paths.processed),
            "model": cfg.model.name,
            "n_parameters": n_parameters,
        },
        splits,
        paths.processed,
        paths.root,
    )
    if source is not None:
        tracking.log_starting_point(
            {
                "init_from": source.ref,
                "init_from.model": source.model,
                "init_from.classes": ",".join(source.classes),
                "init_from.head": "kept" if source.classes == tuple(dm.cache.classes) else "new",
            },
            source.run_id,
        )


def make_trainer(
    t: TrainConfig,
    monitor: str,
    logger: Logger | bool,
    out: Path,
    extra: Sequence[Callback] = (),
    curve: Path | None = None,
    resuming: bool = False,
) -> tuple[pl.Trainer, ModelCheckpoint]:
    """The trainer, and its checkpoint callback (best by ``monitor``, and the last epoch's,
    into ``out``); ``curve``: the CSV of per-epoch figures (:mod:`ecgpipe.training.curves`) to
    write, if any; ``resuming``: a checkpoint will be loaded."""
    mode = "min" if monitor == "val/loss" else "max"
    checkpoint = ModelCheckpoint(
        dirpath=out,
        filename="best",
        monitor=monitor,
        mode=mode,
        save_top_k=1,
        save_last=True,  # to resume from (train.resume)
        enable_version_counter=False,
    )
    tty = sys.stderr.isatty()
    callbacks = [
        checkpoint,
        EarlyStopping(monitor, mode=mode, patience=t.early_stopping_patience),
        RichProgressBar() if tty else EpochLines(monitor),
        *([curves.TrainingCurve(curve)] if curve else []),
        *extra,
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
        num_sanity_val_steps=0 if resuming else 2,  # it would draw from the restored generators
    )
    return trainer, checkpoint


def save_extras(module: ECGClassifier, dm: ECGDataModule, out: Path, accelerator: str) -> dict:
    """How records are labelled, and the normalisation statistics; returns the labelling rule
    as the served model's :class:`~ecgpipe.serving.model.Contract` holds it.

    Multilabel: per-class thresholds tuned on validation (``thresholds.json``). Single-label:
    the argmax rule and its class factors (``decision.json``).
    """
    classes = dm.cache.classes
    dm.normalizer.save(ModelDir(out).normalization)
    if dm.multilabel:
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
    return write_decision(out, classes, module.labels.decision_factors)


def write_decision(out: Path, classes: list[str], factors: tuple[float, ...] | None) -> dict:
    """Single-label data: ``decision.json`` (the argmax, with class factors or none); returns
    the rule as the served model's contract holds it."""
    rule = "argmax" if factors is None else "prior_corrected"
    factors = factors or (1.0,) * len(classes)
    atomic.write_json(
        ModelDir(out).factors,
        {"rule": rule, "factors": dict(zip(classes, factors, strict=True))},
    )
    return {"factors": tuple(float(f) for f in factors)}


def window_model(cfg: Config, dm: ECGDataModule, module: ECGClassifier) -> WindowModel:
    """The trained network as it scores windows in mV: the training split's normalisation (and
    STFT) in front of it."""
    return WindowModel(
        copy.deepcopy(module.net).cpu(),
        cfg.model.name,
        dm.normalizer,
        dm.multilabel,
        float(dm.cache.meta["fs"]),
        dm.cache.meta["spectrogram"],
        0 if dm.cache.features is None else dm.cache.features.shape[1],
    )


def fit_rhythm(
    cfg: Config, dm: ECGDataModule, module: ECGClassifier, out: Path, logger: Logger
) -> RhythmModel:
    """``train.rhythm``: trees on the training records' rhythm features, their rounds chosen on
    validation as a classical model's, saved beside the network; their validation figures
    (``rhythm/val/...``) and those of the average the served model gives (``blend/val/...``)."""
    r, classes = cfg.train.rhythm, list(dm.cache.classes)
    served = RhythmModel(None, r.weight, float(dm.cache.meta["fs"]), len(classes))
    x, y = {}, {}
    for split in ("train", "val"):
        rows = dm.rows[split]
        x[split] = served.features([np.asarray(dm.cache.signal(i)) for i in rows])
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
    served.estimator = fitted.estimator
    classical.save(fitted.estimator, ModelDir(out).rhythm)
    _, p_net = predict(module, dm.val_dataloader(), cfg.train.accelerator)
    p_rhythm = models.classical.probabilities(fitted.estimator, x["val"], len(classes))
    values = {}
    for name, p in (("rhythm", p_rhythm), ("blend", pool(p_net, p_rhythm, r.weight))):
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
    return served


def record_model(
    cfg: Config,
    dm: ECGDataModule,
    windows: WindowModel | FeatureModel,
    decision: dict,
    run_id: str,
    rhythm: RhythmModel | None = None,
) -> RecordModel:
    """The trained model as it scores new records (or beats): windows, normalisation,
    aggregation and labelling as ``evaluate`` applies them (see :mod:`ecgpipe.serving.model`)."""
    meta, win = dm.cache.meta, dm.eval_windows
    contract = Contract(
        classes=tuple(dm.cache.classes),
        leads=tuple(meta["leads"]),
        fs=float(meta["fs"]),
        label_kind=meta["label_kind"],
        window=win.length,
        stride=win.stride,
        aggregate=cfg.train.aggregate,
        min_samples=min(win.length, int(dm.cache.lengths.min())),
        preprocess=cfg.preprocess.model_dump(mode="json"),
        quality={
            k: getattr(cfg.validate_, k)
            for k in ("flat_std_mv", "saturation_min_s", "amplitude_limit_mv")
        },
        annotator=meta.get("annotator"),
        source={
            "dataset": meta["dataset"],
            "task": meta["task"],
            "unit": dm.cache.unit,
            "model": cfg.model.name,
            "mlflow_run_id": run_id,
        },
        **decision,
    )
    served = RecordModel(windows, contract, rhythm=rhythm)
    return RecordModel(windows, calibrated(cfg, dm, served), rhythm=rhythm)


def calibrated(cfg: Config, dm: ECGDataModule, served: RecordModel) -> Contract:
    """The served model's contract with its split-conformal quantiles (``evaluate.alpha``),
    calibrated on its own scores of the validation split (written to ``conformal.json``)."""
    rows = dm.rows["val"]
    if dm.cache.features is not None:  # beat rows as the served model takes them
        flat = dm.cache.signals.reshape(len(dm.cache.labels), -1)
        p = served.score(list(np.concatenate([flat[rows], dm.cache.features[rows]], axis=1)))
    else:
        p = served.score([np.asarray(dm.cache.signal(r)) for r in rows])
    found = conformal.calibrate(dm.cache.labels[rows], p, cfg.evaluate.alpha, dm.multilabel)
    return dataclasses.replace(served.contract, conformal=found.to_dict())


def example_input(dm: ECGDataModule, model: RecordModel) -> np.ndarray:
    """Two validation records, cut to one window (or to the shorter one's length), for the
    model's input example; beat rows as the cache holds them for a beat model."""
    rows = dm.rows["val"][:2]
    if dm.cache.features is not None:  # a beat per row: its window, then its features
        signal = np.stack([np.asarray(dm.cache.signal(r)).ravel() for r in rows])
        return np.concatenate([signal, dm.cache.features[rows]], 1).astype(np.float32)
    length = min(model.contract.window, int(dm.cache.lengths[rows].min()))
    return np.stack([np.asarray(dm.cache.signal(r)[:, :length], np.float32) for r in rows])
