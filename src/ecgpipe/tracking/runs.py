"""A training's MLflow run: created (named, tagged, orphans of dead processes reaped), filled
(parameters, dataset inputs, curves, results, the model) and ended."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import subprocess
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from ecgpipe.config.schema import MlflowConfig
from ecgpipe.core.parallel import alive
from ecgpipe.tracking.model_io import log_record_model
from ecgpipe.tracking.store import experiment_id, store, tracking_uri
from ecgpipe.tracking.view import show_in_runs_table

if TYPE_CHECKING:
    from ecgpipe.serving.model import RecordModel


log = logging.getLogger("ecgpipe")


def dvc_experiment_tags() -> dict[str, str]:
    """The DVC experiment this process runs in (``dvc exp run``), as MLflow tags; else none."""
    names = {"DVC_EXP_NAME": "dvc.exp_name", "DVC_EXP_BASELINE_REV": "dvc.baseline_rev"}
    return {tag: os.environ[var] for var, tag in names.items() if os.environ.get(var)}


def new_run(
    cfg: MlflowConfig,
    root: Path,
    *,
    name: str | None = None,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> str:
    """Create a run (status RUNNING) in the configured store; returns its id.

    Inside ``dvc exp run`` it is tagged with the DVC experiment and named after it.
    """
    client = MlflowClient(tracking_uri(cfg, root))
    experiment = experiment_id(cfg, root)
    end_orphaned_runs(client, experiment)
    owner = {OWNER_HOST: socket.gethostname(), OWNER_PID: str(os.getpid())}
    all_tags = dvc_experiment_tags() | owner | dict(tags or {})
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    run = client.create_run(
        experiment, run_name=all_tags.get("dvc.exp_name") or name, tags=all_tags
    )
    return run.info.run_id


OWNER_HOST, OWNER_PID = "ecgpipe.host", "ecgpipe.pid"
"""Tags of the machine and process that created a run: who may be gone while it is RUNNING."""


def end_orphaned_runs(client: MlflowClient, experiment: str) -> list[str]:
    """Mark KILLED (and say so) the experiment's RUNNING runs whose process, on this machine,
    no longer runs (killed, or the machine lost power); their ids."""
    host = socket.gethostname().replace("'", "")
    query = f"attributes.status = 'RUNNING' and tags.`{OWNER_HOST}` = '{host}'"
    ended = []
    for run in client.search_runs([experiment], query, max_results=1000):
        pid = run.data.tags.get(OWNER_PID, "")
        if pid.isdigit() and not alive(int(pid)):
            client.set_terminated(run.info.run_id, "KILLED")
            log.warning(
                "MLflow run %s (%s) was RUNNING, but its process %s is gone: marked KILLED",
                run.info.run_id,
                run.info.run_name,
                pid,
            )
            ended.append(run.info.run_id)
    return ended


def run_name(model: str, dataset: str, config: Mapping[str, Any]) -> str:
    """A telling, distinct name for a training: ``cnn1d-synthetic-3fa2c1-9b0e``, the model, the
    dataset, a hash of the whole configuration (equal configurations share it) and four random
    hex digits (from the OS, not from the seeded generators that made every run's name alike)."""
    digest = hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()
    return f"{model}-{dataset}-{digest[:6]}-{uuid.uuid4().hex[:4]}"


@contextmanager
def training_run(
    cfg: MlflowConfig, root: Path, run_id: str | None = None, name: str | None = None
) -> Iterator[Any]:
    """The training's run (``run_id``, or a new one named ``name``), active for the block;
    yields Lightning's logger into it (per-epoch curves). With ``system_metrics.enabled`` the
    machine's use is sampled into the run meanwhile (:func:`system_metrics`)."""
    from pytorch_lightning.loggers import MLFlowLogger

    resumed = run_id is not None
    run_id = run_id or new_run(cfg, root, name=name)
    with (
        store(cfg, root) as uri,
        mlflow.start_run(run_id=run_id, log_system_metrics=False) as active,
        system_metrics(cfg, uri, active.info.run_id, resume=resumed),
    ):
        yield MLFlowLogger(
            cfg.experiment, tracking_uri=uri, run_id=active.info.run_id, log_model=False
        )


@contextmanager
def system_metrics(cfg: MlflowConfig, uri: str, run_id: str, *, resume: bool) -> Iterator[None]:
    """MLflow's system metrics (``system/cpu_utilization_percentage``,
    ``system/system_memory_usage_megabytes``, disk, network, ``system/gpu_*`` where a GPU is)
    sampled every ``system_metrics.interval_s`` into ``run_id`` for the block, then stopped and
    flushed while the run is still open; ``resume``: continue the steps the run already has
    (an existing run logged into again), else start at 0."""
    if not cfg.system_metrics.enabled:
        yield
        return
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

    monitor = SystemMetricsMonitor(
        run_id,
        sampling_interval=cfg.system_metrics.interval_s,
        samples_before_logging=1,
        resume_logging=resume,
        tracking_uri=uri,
    )
    monitor.start()
    try:
        yield
    finally:
        monitor.finish()
        # what the last interval sampled, or all of a block shorter than one (the sampler also
        # gives up early when it cannot read the run back from a busy store)
        monitor.collect_metrics()
        monitor.publish_metrics(monitor.aggregate_metrics())
        monitor.mlflow_logger.flush()


SPLIT_CONTEXTS = {"train": "training", "val": "validation", "test": "testing"}
EXTERNAL_CONTEXT = "external"
"""The context of an external validation set's dataset input."""


def log_training(
    params: Mapping[str, Any],
    tags: Mapping[str, Any],
    splits: Mapping[str, pd.DataFrame],
    source: Path,
    root: Path,
) -> None:
    """Into the active run: the configuration as parameters; tags, with MLflow's own source and
    git-commit tags; and each split (a row per record: id, patient, label) as a dataset input
    named ``<dataset>-<split>`` from ``source``, so the runs table shows what it trained on."""
    import mlflow.data

    mlflow.log_params(flatten(params))
    commit = git_commit(root)
    mlflow.set_tags(
        {
            **tags,
            "git_commit": commit,
            "mlflow.source.type": "LOCAL",
            "mlflow.source.name": "ecgpipe train",
            "mlflow.source.git.commit": commit.removesuffix("-dirty"),
        }
    )
    for split, rows in splits.items():
        data = mlflow.data.from_pandas(rows, source=str(source), name=f"{tags['dataset']}-{split}")
        mlflow.log_input(data, context=SPLIT_CONTEXTS[split])


PRETRAINING_CONTEXT = "pretraining"
"""The context of a fine-tuned run's dataset inputs that its starting model trained on."""


def log_starting_point(tags: Mapping[str, str], source_run_id: str | None) -> None:
    """Into the active run: where its network started (``tags``), and the run of the model it
    started from (a tag), whose training data become dataset inputs of context
    ``pretraining``."""
    from mlflow.entities import DatasetInput, InputTag

    mlflow.set_tags({**tags, **({"init_from.run_id": source_run_id} if source_run_id else {})})
    if not source_run_id:
        return
    client = MlflowClient()
    try:
        inputs = client.get_run(source_run_id).inputs.dataset_inputs
    except MlflowException:  # a run of another store: the tag says which
        return
    context = InputTag(MLFLOW_DATASET_CONTEXT, PRETRAINING_CONTEXT)
    pretrained = [
        DatasetInput(i.dataset, [context])
        for i in inputs
        if any(t.key == MLFLOW_DATASET_CONTEXT and t.value == "training" for t in i.tags)
    ]
    if pretrained:
        client.log_inputs(mlflow.active_run().info.run_id, datasets=pretrained)


def log_training_result(
    monitor: str,
    best: float,
    model: RecordModel,
    example: np.ndarray,
    config: dict,
    files: Mapping[str, list[Path]],
) -> None:
    """Into the active run: the best validation value, the served model, the configuration
    (``config/params.yaml``) and ``files`` per artifact folder."""
    mlflow.log_metric(f"best/{monitor}", best)
    mlflow.set_tag("monitor", monitor)
    show_in_runs_table(
        mlflow.active_run().info.experiment_id, [f"best/{monitor}"], ascending=monitor == "val/loss"
    )
    log_record_model(model, example)
    mlflow.log_dict(config, "config/params.yaml")
    for folder, paths in files.items():
        for path in paths:
            mlflow.log_artifact(str(path), folder)


def log_evaluation(
    cfg: MlflowConfig,
    root: Path,
    run_id: str,
    values: Mapping[str, float],
    files: Sequence[tuple[str, Path]],
    columns: Sequence[str] = (),
    dataset: tuple[str, pd.DataFrame, str] | None = None,
) -> None:
    """Into the training run ``run_id``: test metrics, and ``files`` (an artifact folder and a
    file or folder each); the metrics ``columns`` join the experiment's runs-table view;
    ``dataset`` (name, a row per record, source): a further dataset input, context
    ``external``."""
    import mlflow.data

    with store(cfg, root), mlflow.start_run(run_id=run_id) as run:
        mlflow.log_metrics(dict(values))
        if dataset is not None:
            name, rows, source = dataset
            data = mlflow.data.from_pandas(rows, source=source, name=name)
            mlflow.log_input(data, context=EXTERNAL_CONTEXT)
        show_in_runs_table(run.info.experiment_id, columns)
        for folder, path in files:
            if path.is_dir():
                mlflow.log_artifacts(str(path), folder)
            elif path.is_file():
                mlflow.log_artifact(str(path), folder)


def flatten(d: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested mapping -> ``{"a.b.c": value}`` (``sep`` between the levels)."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= flatten(value, f"{name}{sep}", sep)
        else:
            out[name] = value
    return out


def metric_values(d: Mapping[str, Any]) -> dict[str, float]:
    """Nested results -> MLflow metrics in the project's style: ``test/macro_auroc``, an
    interval ``x_ci: [lo, hi]`` as ``x_lo`` and ``x_hi``; what is not a number is left out."""
    out: dict[str, float] = {}

    def number(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool)

    for key, value in flatten(d, sep="/").items():
        if key.endswith("_ci") and isinstance(value, list | tuple) and len(value) == 2:
            for suffix, bound in zip(("_lo", "_hi"), value, strict=True):
                if number(bound):
                    out[key.removesuffix("_ci") + suffix] = float(bound)
        elif number(value):
            out[key] = float(value)
    return out


def git_commit(root: Path) -> str:
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return proc.stdout.strip() + ("-dirty" if dirty else "")


def data_hash(
    cache_dir: Path,
    files: tuple[str, ...] = ("meta.json", "index.csv", "labels.npy", "signals.npy"),
) -> str:
    """SHA-256 over the processed data a model was trained on (streamed, not loaded whole)."""
    h = hashlib.sha256()
    for name in files:
        with open(cache_dir / name, "rb") as fh:
            while chunk := fh.read(1 << 22):
                h.update(chunk)
    return h.hexdigest()


def child_runs(cfg: MlflowConfig, root: Path, parent_id: str) -> list:
    """The runs nested under ``parent_id`` (a sweep's jobs)."""
    client = MlflowClient(tracking_uri(cfg, root))
    return client.search_runs(
        [client.get_run(parent_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
    )


def discard_run(cfg: MlflowConfig, root: Path, run_id: str) -> None:
    """Delete ``run_id``, a run that recorded nothing (a sweep refused before its first job):
    it leaves no empty run in the table."""
    MlflowClient(tracking_uri(cfg, root)).delete_run(run_id)


def end_run(
    cfg: MlflowConfig,
    root: Path,
    run_id: str,
    status: str,
    *,
    values: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log ``values`` and ``tags`` into ``run_id`` and end it as ``status`` (FINISHED, FAILED,
    KILLED)."""
    client = MlflowClient(tracking_uri(cfg, root))
    for key, value in (values or {}).items():
        client.log_metric(run_id, key, value)
    for key, text in (tags or {}).items():
        client.set_tag(run_id, key, text)
    client.set_terminated(run_id, status)
