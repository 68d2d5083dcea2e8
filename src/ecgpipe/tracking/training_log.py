"""A training's MLflow run in ecgpipe's terms: opened under a telling name, described (the whole
configuration, what identifies the run, the splits, where a fine-tuning started), and its result
logged (the best value, the served model, its extras and the data reports). Also where a
fine-tuning starts from (``train.init_from``), a logged model's network included.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from ecgpipe.config.schema import Config
from ecgpipe.core.paths import Paths
from ecgpipe.models import lead_order
from ecgpipe.serving.assembly import example_input
from ecgpipe.serving.model import RecordModel
from ecgpipe.tracking.model_io import load_record_model
from ecgpipe.tracking.runs import (
    data_hash,
    log_starting_point,
    log_training,
    log_training_result,
    run_name,
    training_run,
)
from ecgpipe.training import finetune
from ecgpipe.training.datamodule import ECGDataModule

REPORTS = ("integrity.json", "integrity.md", "split.json")
"""The data stages' reports (under ``reports/``) each training's run keeps."""


def open_run(cfg: Config, paths: Paths, dm: ECGDataModule, run_id: str | None):
    """The run this training logs into: ``run_id``, or a new one named after the model, the
    dataset and the configuration (see :func:`ecgpipe.tracking.runs.training_run`)."""
    name = run_name(cfg.model.name, dm.cache.meta["dataset"], cfg.model_dump(mode="json"))
    return training_run(cfg.mlflow, paths.root, run_id, name)


def describe(
    cfg: Config,
    paths: Paths,
    dm: ECGDataModule,
    n_parameters: int,
    source: finetune.Source | None = None,
) -> None:
    """Into the active run: the whole configuration as parameters; what identifies the run as
    tags; the splits (a row per record); where a fine-tuning started (``source``)."""
    meta, index, classes = dm.cache.meta, dm.cache.index, dm.cache.classes
    splits = {}
    for name, rows in dm.rows.items():
        y = dm.cache.labels[rows]
        labels = (
            [";".join(c for c, h in zip(classes, r, strict=True) if h) for r in y]
            if y.ndim == 2
            else [classes[k] for k in y]
        )
        splits[name] = pd.DataFrame(
            {
                "record_id": index["record_id"].iloc[rows].astype(str).to_numpy(),
                "patient_id": index["patient_id"].iloc[rows].astype(str).to_numpy(),
                "labels": labels,
            }
        )
    tags = {
        "dataset": meta["dataset"],
        "task": meta["task"],
        "data_hash": data_hash(paths.processed),
        "model": cfg.model.name,
        "n_parameters": n_parameters,
    }
    log_training(cfg.model_dump(by_alias=True), tags, splits, paths.processed, paths.root)
    if source is not None:
        log_starting_point(
            {
                "init_from": source.ref,
                "init_from.model": source.model,
                "init_from.classes": ",".join(source.classes),
                "init_from.head": "kept" if source.classes == tuple(classes) else "new",
            },
            source.run_id,
        )


def log_result(
    cfg: Config,
    paths: Paths,
    dm: ECGDataModule,
    best: float,
    served: RecordModel,
    extras: Sequence[Path],
) -> None:
    """Into the active run: the best monitored value, the served model with an input example,
    the configuration, the model folder's ``extras`` and the data reports there are."""
    reports = [paths.reports / n for n in REPORTS]
    log_training_result(
        cfg.monitor,
        best,
        served,
        example_input(dm, served),
        cfg.model_dump(by_alias=True, mode="json"),
        {"model_extras": list(extras), "reports": [r for r in reports if r.is_file()]},
    )


def starting_point(cfg: Config, paths: Paths) -> finetune.Source:
    """``train.init_from``'s network: a checkpoint file, or a logged model's (``runs:/ID/model``,
    ``models:/NAME@ALIAS``) with the leads, rate and classes its contract records."""
    ref = cfg.train.init_from or ""
    if not finetune.is_mlflow_uri(ref):
        return finetune.from_checkpoint(ref, paths.root)
    model, _ = load_record_model(ref, cfg.mlflow, paths.root)
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
        leads=lead_order.weights_leads(net, contract.leads),
        fs=float(contract.fs),
        classes=tuple(contract.classes),
        state=net.state_dict(),
        run_id=contract.source.get("mlflow_run_id"),
    )
