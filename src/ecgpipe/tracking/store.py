"""Where the MLflow store is and which experiment: the one place that resolves tracking URIs.

The store is SQLite (``sqlite:///mlflow.db`` at the project root by default; never the deprecated
file store) and ``MLFLOW_TRACKING_URI`` takes precedence. Relative paths are relative to the
project root, not to wherever the command happens to run: for a queued DVC experiment, which runs
in a copy under ``.dvc/tmp/exps``, that is the repository it was queued from (``DVC_ROOT``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ecgpipe.config.schema import MlflowConfig, check_tracking_uri
from ecgpipe.core.errors import PipelineError

_SQLITE = "sqlite:///"
_ENV = "MLFLOW_TRACKING_URI"
_DVC_ROOT = "DVC_ROOT"  # set by DVC for stage commands; the parent repo for queued experiments
EXPERIMENT_KIND, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"
"""Declared so that the UI opens the experiment on its runs, not on the GenAI overview."""


@contextmanager
def store(cfg: MlflowConfig, root: Path) -> Iterator[str]:
    """Point MLflow at the configured store for the block, then restore the environment.

    ``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI``; without the restore, a later
    stage in the same process would take that for the user's own setting.
    """
    uri = tracking_uri(cfg, root)
    with environ(_ENV, uri):
        mlflow.set_tracking_uri(uri)
        yield uri


@contextmanager
def environ(name: str, value: str) -> Iterator[None]:
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


def run_text(cfg: MlflowConfig, root: Path, run_id: str, artifact: str) -> str | None:
    """A text artifact of the run (``model_card.md``, say), or None where it has none."""
    with store(cfg, root):
        try:
            return mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact}")
        except (MlflowException, OSError):
            return None
