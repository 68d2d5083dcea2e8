"""MLflow bookkeeping: where the store is, which experiment, and what identifies a run.

The store is SQLite (``sqlite:///mlflow.db`` at the project root by default; never the deprecated
file store) and ``MLFLOW_TRACKING_URI`` takes precedence. Relative paths are relative to the
project root, not to wherever the command happens to run: for a queued DVC experiment, which runs
in a copy under ``.dvc/tmp/exps``, that is the repository it was queued from (``DVC_ROOT``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.environment_variables import MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR
from mlflow.exceptions import MlflowException

from ecgpipe.config import MlflowConfig, check_tracking_uri
from ecgpipe.errors import PipelineError
from ecgpipe.parallel import alive
from ecgpipe.paths import read_json

if TYPE_CHECKING:
    from ecgpipe.serving.model import RecordModel

log = logging.getLogger("ecgpipe")
_SQLITE = "sqlite:///"
_ENV = "MLFLOW_TRACKING_URI"
_DVC_ROOT = "DVC_ROOT"  # set by DVC for stage commands; the parent repo for queued experiments
EXPERIMENT_KIND, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"
"""Declared so that the UI opens the experiment on its runs, not on the GenAI overview."""
RUNS_VIEW = "ecgpipe"
"""The experiment's saved runs-table view (``Views`` in the UI; ``?viewStateShareKey=ecgpipe``):
the key validation and test metrics as columns, best first."""
_VIEW_TAG = f"mlflow.sharedViewState.{RUNS_VIEW}"
_UI_COLUMNS = tuple(f"attributes.`{c}`" for c in ("Dataset", "Source", "Models"))


@contextmanager
def store(cfg: MlflowConfig, root: Path) -> Iterator[str]:
    """Point MLflow at the configured store for the block, then restore the environment.

    ``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI``; without the restore, a later
    stage in the same process would take that for the user's own setting.
    """
    uri = tracking_uri(cfg, root)
    with _environ(_ENV, uri):
        mlflow.set_tracking_uri(uri)
        yield uri


@contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    """The environment variable ``name`` set to ``value`` for the block, then as it was."""
    before = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = before


def store_root(root: Path) -> Path:
    """What relative store and artifact paths are relative to (see the module docstring)."""
    return Path(os.environ.get(_DVC_ROOT) or root)


def tracking_uri(cfg: MlflowConfig, root: Path) -> str:
    uri = os.environ.get(_ENV) or cfg.tracking_uri
    try:
        check_tracking_uri(uri)
    except ValueError as err:
        raise PipelineError(f"{_ENV}: {err}") from None
    if uri.startswith(_SQLITE) and not Path(uri[len(_SQLITE) :]).is_absolute():
        uri = _SQLITE + str((store_root(root) / uri[len(_SQLITE) :]).resolve())
    return uri


def dvc_experiment_tags() -> dict[str, str]:
    """The DVC experiment this process runs in (``dvc exp run``), as MLflow tags; else none."""
    names = {"DVC_EXP_NAME": "dvc.exp_name", "DVC_EXP_BASELINE_REV": "dvc.baseline_rev"}
    return {tag: os.environ[var] for var, tag in names.items() if os.environ.get(var)}


def experiment_id(cfg: MlflowConfig, root: Path) -> str:
    """The experiment's id in the configured store, creating it: with its artifact location
    beside a local store; on a tracking server, where the server keeps (and proxies) them."""
    uri = tracking_uri(cfg, root)
    client = MlflowClient(uri)
    found = client.get_experiment_by_name(cfg.experiment)
    if found is not None:
        if found.tags.get(EXPERIMENT_KIND) is None:  # made before ecgpipe declared its kind
            client.set_experiment_tag(found.experiment_id, EXPERIMENT_KIND, MODEL_TRAINING)
        return found.experiment_id
    location = None
    if not uri.startswith(("http://", "https://")):
        path = Path(cfg.artifact_location)
        location = (path if path.is_absolute() else store_root(root) / path).resolve().as_uri()
    return client.create_experiment(
        cfg.experiment, artifact_location=location, tags={EXPERIMENT_KIND: MODEL_TRAINING}
    )


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
    yields Lightning's logger into it (per-epoch curves)."""
    from pytorch_lightning.loggers import MLFlowLogger

    run_id = run_id or new_run(cfg, root, name=name)
    with store(cfg, root) as uri, mlflow.start_run(run_id=run_id) as active:
        yield MLFlowLogger(
            cfg.experiment, tracking_uri=uri, run_id=active.info.run_id, log_model=False
        )


SPLIT_CONTEXTS = {"train": "training", "val": "validation", "test": "testing"}


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
) -> None:
    """Into the training run ``run_id``: test metrics, and ``files`` (an artifact folder and a
    file or folder each); the metrics ``columns`` join the experiment's runs-table view."""
    with store(cfg, root), mlflow.start_run(run_id=run_id) as run:
        mlflow.log_metrics(dict(values))
        show_in_runs_table(run.info.experiment_id, columns)
        for folder, path in files:
            if path.is_dir():
                mlflow.log_artifacts(str(path), folder)
            elif path.is_file():
                mlflow.log_artifact(str(path), folder)


def show_in_runs_table(experiment: str, metrics: Sequence[str], ascending: bool = False) -> None:
    """Add ``metrics`` to the columns of the experiment's saved view :data:`RUNS_VIEW` (created
    sorted by the first of them), in the envelope MLflow's UI saves views in: an experiment tag
    ``mlflow.sharedViewState.<id>`` holding name, times and the view state as JSON."""
    import time

    client = MlflowClient()
    now = int(time.time() * 1000)
    found = client.get_experiment(experiment).tags.get(_VIEW_TAG)
    view = json.loads(found) if found else {"name": "ecgpipe: key metrics", "createdAt": now}
    state = json.loads(view.get("state", "{}"))
    columns = [f"metrics.`{m}`" for m in metrics]
    if "orderByKey" not in state and columns:
        state |= {"orderByKey": columns[0], "orderByAsc": ascending}
    before = state.get("selectedColumns", list(_UI_COLUMNS))
    state["selectedColumns"] = list(dict.fromkeys([*before, *columns]))
    shown = [c for c in state["selectedColumns"] if c.startswith("metrics.")]  # first, and whole
    state["columnOrder"] = shown + [c for c in state["selectedColumns"] if c not in shown]
    state["columnWidths"] = {c: 8 * len(c) - 40 for c in shown}  # the name untruncated
    if found and state == json.loads(view["state"]):
        return
    view |= {"updatedAt": now, "state": json.dumps(state)}
    client.set_experiment_tag(experiment, _VIEW_TAG, json.dumps(view))


def check_run(cfg: MlflowConfig, root: Path, run_id: str, run_file: Path) -> None:
    """That ``run_id`` (recorded in ``run_file`` by ``train``) is in the configured store."""
    with store(cfg, root) as uri:
        try:
            MlflowClient(uri).get_run(run_id)
        except MlflowException:
            raise PipelineError(
                f"{run_file}: MLflow run {run_id} is not in {uri} (was the store moved or reset "
                "after training?); retrain with `dvc repro -f train`"
            ) from None


def run_record(cfg: MlflowConfig, root: Path, run_id: str):
    """The run's data (metrics, tags) and outputs, from the configured store."""
    with store(cfg, root) as uri:
        return MlflowClient(uri).get_run(run_id)


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


SERVING_REQUIREMENTS = ("mlflow", "torch", "numpy", "scipy", "pandas", "cloudpickle")
"""What loading the logged model needs: the imports of :mod:`ecgpipe.serving` (whose source
travels with the model). Stated rather than inferred: MLflow's inference loads the model in a
subprocess (~12 s a run)."""


def log_record_model(model: RecordModel, example: np.ndarray) -> None:
    """Log ``model`` as the run's ``model``: an MLflow ``pyfunc`` carrying ecgpipe's source
    (``code_paths``), its pinned requirements, signature, input example and contract."""
    from importlib.metadata import version

    from mlflow.models import ModelSignature
    from mlflow.models.signature import infer_signature
    from mlflow.types import Schema, TensorSpec

    from ecgpipe.serving.pyfunc import RecordScorer, table

    shape = (-1, example.shape[1]) if example.ndim == 2 else (-1, example.shape[1], -1)
    outputs = infer_signature(example, table(model, model.score(list(example)))).outputs
    pyfunc_log = logging.getLogger("mlflow.pyfunc")
    level = pyfunc_log.level
    with tempfile.TemporaryDirectory(prefix="ecgpipe-code-") as tmp:
        code = shutil.copytree(
            Path(__file__).parent,
            Path(tmp) / "ecgpipe",
            ignore=shutil.ignore_patterns("__pycache__"),
        )
        # its warning that pickled models run code when loaded: ours are ecgpipe's own classes
        pyfunc_log.setLevel(logging.ERROR)
        try:
            mlflow.pyfunc.log_model(
                name="model",
                python_model=RecordScorer(model),
                code_paths=[str(code)],
                pip_requirements=[f"{n}=={version(n).split('+')[0]}" for n in SERVING_REQUIREMENTS],
                signature=ModelSignature(
                    Schema([TensorSpec(np.dtype(np.float32), shape)]), outputs
                ),
                input_example=example,
                metadata={"ecgpipe": model.contract.to_dict()},
            )
        finally:
            pyfunc_log.setLevel(level)


def load_record_model(ref: str, cfg: MlflowConfig, root: Path) -> tuple[RecordModel, str]:
    """The served model ``ref`` names and the URI it was loaded from.

    ``ref``: a project's ``models/`` folder (the run ``train`` recorded in its ``run.json``),
    a folder holding an MLflow model, or a URI (``runs:/ID/model``, ``models:/NAME@ALIAS``), read
    from the project's store.
    """
    from ecgpipe.serving.pyfunc import RecordScorer

    folder = Path(ref) if Path(ref).is_absolute() else root / ref
    uri = ref
    if (folder / "run.json").is_file():
        uri = f"runs:/{read_json(folder / 'run.json', ('run_id',))['run_id']}/model"
    elif (folder / "MLmodel").is_file():
        uri = str(folder)
    elif "://" not in ref and not ref.startswith(("runs:", "models:")):
        raise PipelineError(
            f"{ref}: no trained model here (no run.json or MLmodel); give runs:/ID/model, "
            "models:/NAME@ALIAS, or run `dvc repro train` first"
        )
    with store(cfg, root), _environ(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name, "false"):
        try:
            loaded = mlflow.pyfunc.load_model(uri)
        except (MlflowException, OSError) as err:
            raise PipelineError(f"cannot load the model {uri}: {err}") from None
    try:
        scorer = loaded.unwrap_python_model()
    except MlflowException:
        scorer = None
    if not isinstance(scorer, RecordScorer):
        raise PipelineError(
            f"{uri} is not an ecgpipe record model (or was logged by an older ecgpipe); "
            "retrain with `dvc repro train`"
        )
    return scorer.model, uri


CHAMPION = "champion"


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    champion: bool
    """Whether the alias ``champion`` points at this version now."""
    reason: str


def register(
    cfg: MlflowConfig,
    root: Path,
    run_id: str,
    name: str,
    validation: tuple[str, float, bool],
    tags: Mapping[str, str],
) -> Registered:
    """The run's model as a version of registered model ``name`` (one version per run: an
    evaluation run again updates its tags), tagged with ``tags`` and the validation metric;
    the alias ``champion`` moves to it only if that validation metric beats the champion's.

    ``validation``: (metric name, value, whether higher is better). Never a test metric.
    """
    metric, value, higher = validation
    with store(cfg, root) as uri:
        client = MlflowClient(uri)
        try:
            client.get_registered_model(name)
        except MlflowException:
            client.create_registered_model(
                name, description="ecgpipe models; the alias champion is the best on validation"
            )
        all_tags = {**tags, "validation_metric": metric, "validation_value": repr(value)}
        found = client.search_model_versions(f"name = '{name}' and run_id = '{run_id}'")
        if found:
            version = found[0].version
            for key, text in all_tags.items():
                client.set_model_version_tag(name, version, key, str(text))
        else:
            (model_id,) = [m.model_id for m in client.get_run(run_id).outputs.model_outputs]
            version = client.create_model_version(
                name, f"models:/{model_id}", run_id, tags=all_tags, model_id=model_id
            ).version
        try:
            current = client.get_model_version_by_alias(name, CHAMPION)
        except MlflowException:
            current = None
        if current is None:
            move, reason = True, "the first version"
        elif current.version == version:
            move, reason = True, "already the champion"
        elif current.tags.get("validation_metric") != metric:
            move = False
            reason = (
                f"version {current.version} is judged on "
                f"{current.tags.get('validation_metric')}, not {metric}: not comparable"
            )
        else:
            best = float(current.tags["validation_value"])
            move = value > best if higher else value < best
            reason = f"{metric} {value:.4f}, champion (version {current.version}) {best:.4f}"
        if move:
            client.set_registered_model_alias(name, CHAMPION, version)
    return Registered(name, str(version), move, reason)


def child_runs(cfg: MlflowConfig, root: Path, parent_id: str) -> list:
    """The runs nested under ``parent_id`` (a sweep's jobs)."""
    client = MlflowClient(tracking_uri(cfg, root))
    return client.search_runs(
        [client.get_run(parent_id).info.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent_id}'",
    )


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
