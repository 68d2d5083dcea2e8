"""Stage ``train``: fit the configured model, tune its decision on validation, log it to MLflow.

Writes ``models/`` (:class:`~ecgpipe.core.paths.ModelDir`: the checkpoint or estimator, the
normalisation, the decision, ``run.json`` naming the MLflow run ``evaluate`` logs into too) and
``plots/training.csv``. A network is fitted by Lightning (:mod:`ecgpipe.training.trainer`), a
classical beat model by scikit-learn (:mod:`ecgpipe.training.classical`); either is served as
:mod:`ecgpipe.serving.assembly` puts it together. Under DDP (``trainer=ddp``) Lightning starts
this stage again per further rank, which only fits; rank zero alone logs and writes.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities.rank_zero import rank_zero_only

from ecgpipe import models
from ecgpipe.config.schema import Config
from ecgpipe.core import atomic
from ecgpipe.core.paths import ModelDir, Paths
from ecgpipe.evaluation import metrics
from ecgpipe.serving import assembly
from ecgpipe.serving.model import FeatureModel, RecordModel
from ecgpipe.tracking import training_log
from ecgpipe.training import (
    classical,
    classifier,
    curves,
    decision,
    finetune,
    losses,
    resume,
    rhythm_trees,
    trainer,
)
from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")


def run(
    cfg: Config, paths: Paths, *, run_id: str | None = None, callbacks: Sequence[Callback] = ()
) -> tuple[str, float]:
    """Train; returns the MLflow run id and the best value of the monitored validation metric.

    Logs into ``run_id`` when given (a sweep job creates its runs), else into a new run.
    ``callbacks`` join the trainer's own (a sweep's pruning, for instance).
    """
    pl.seed_everything(cfg.train.seed, workers=True)
    dm = ECGDataModule(paths.processed, paths.split, models.INPUTS[cfg.model.name], cfg.train)
    if cfg.model.name in models.CLASSICAL:
        return run_classical(cfg, paths, dm, run_id)
    module = classifier.build(cfg, dm)
    if rank_zero_only.rank > 0:  # a further DDP rank (the environment says which): fit only
        with tempfile.TemporaryDirectory(prefix="ecgpipe-rank-") as scratch:
            trainer.make(cfg, False, Path(scratch), callbacks).fit(module, datamodule=dm)
        return "", float("nan")
    dm.log_padding()
    config = cfg.model_dump(by_alias=True, mode="json")
    interrupted = resume.find(paths.checkpoints, config, cfg.train.resume, run_id is not None)
    source = None
    if interrupted is not None:
        run_id = interrupted.run_id
        interrupted.check(dm.reads())
        module.read_leads(interrupted.lead_order)  # as the fine-tuning it resumes read them
    elif cfg.train.init_from:
        source = training_log.starting_point(cfg, paths)
        finetune.start(source, module, cfg.model.name, dm)
    extra = [*callbacks, resume.RandomState()]
    if cfg.train.freeze_epochs:
        extra.append(finetune.FreezeBackbone(cfg.train.freeze_epochs))
    with (
        atomic.directory(paths.models) as out,
        training_log.open_run(cfg, paths, dm, run_id) as logger,
    ):
        if interrupted is None:
            n_parameters = sum(p.numel() for p in module.parameters())
            training_log.describe(cfg, paths, dm, n_parameters, source)
            resume.record(paths.checkpoints, logger.run_id, config)
        curve, resuming = paths.plots / curves.FILE, interrupted is not None
        fitting = trainer.make(cfg, logger, paths.checkpoints, extra, curve, resuming)
        resume_from = interrupted.checkpoint if interrupted else None
        module, best = trainer.fit(fitting, module, dm, ModelDir(out).checkpoint, resume_from)
        dm.normalizer.save(ModelDir(out).normalization)
        rule = decision.save(module, dm, out, cfg.trainer.accelerator)
        trees = rhythm_trees.fit(cfg, dm, module, out, logger) if cfg.train.rhythm.weight else None
        windows = assembly.window_model(cfg, dm, module.net)
        served = assembly.record_model(cfg, dm, windows, rule, logger.run_id, trees)
        finish(cfg, paths, dm, out, logger, best, served)
    resume.finished(paths.checkpoints)
    log.info("train: best %s %.4f; MLflow run %s", cfg.monitor, best, logger.run_id)
    return logger.run_id, best


def run_classical(
    cfg: Config, paths: Paths, dm: ECGDataModule, run_id: str | None
) -> tuple[str, float]:
    """Fit a classical beat model on the training rows' features; its validation checks are the
    run's curve (a step per check), the rest as for a network."""
    with (
        atomic.directory(paths.models) as out,
        training_log.open_run(cfg, paths, dm, run_id) as logger,
    ):
        fitted = classical.fit_beats(cfg, dm)
        training_log.describe(cfg, paths, dm, models.classical.n_parameters(fitted.estimator))
        for step, values in fitted.curve:
            logger.log_metrics({metrics.metric_name(k): v for k, v in values.items()}, step)
        curves.write(paths.plots / curves.FILE, [curves.row(s, v) for s, v in fitted.curve])
        classical.save(fitted.estimator, ModelDir(out).estimator)
        dm.normalizer.save(ModelDir(out).normalization)
        factors = losses.decision_factors(cfg, dm.class_counts())
        rule = decision.write_factors(out, dm.cache.classes, factors)
        n_features, n_classes = dm.cache.features.shape[1], len(dm.cache.classes)
        windows = FeatureModel(fitted.estimator, n_features, n_classes)
        served = assembly.record_model(cfg, dm, windows, rule, logger.run_id)
        finish(cfg, paths, dm, out, logger, fitted.best, served)
    log.info(
        "train: %s %s %.4f; MLflow run %s", cfg.model.name, cfg.monitor, fitted.best, logger.run_id
    )
    return logger.run_id, fitted.best


def finish(
    cfg: Config,
    paths: Paths,
    dm: ECGDataModule,
    out: Path,
    logger: Logger,
    best: float,
    served: RecordModel,
) -> None:
    """``conformal.json``; the result logged into the run (:mod:`ecgpipe.tracking.training_log`);
    ``run.json`` last, naming the run."""
    files = ModelDir(out)
    atomic.write_json(files.conformal, served.contract.conformal)
    extras = (files.normalization, files.decision_file(dm.multilabel), files.conformal)
    training_log.log_result(cfg, paths, dm, best, served, extras)
    atomic.write_json(files.run, {"run_id": logger.run_id, "experiment_id": logger.experiment_id})
