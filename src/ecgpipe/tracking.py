"""MLflow bookkeeping: where the store is, which experiment, and what identifies a run.

The store is SQLite (``sqlite:///mlflow.db`` at the project root by default; never the deprecated
file store) and ``MLFLOW_TRACKING_URI`` takes precedence. Relative paths are relative to the
project root, not to wherever the command happens to run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mlflow

from ecgpipe.config import MlflowConfig

_SQLITE = "sqlite:///"
_ENV = "MLFLOW_TRACKING_URI"


@contextmanager
def store(cfg: MlflowConfig, root: Path) -> Iterator[str]:
    """Point MLflow at the configured store for the block, then restore the environment.

    ``mlflow.set_tracking_uri`` also writes ``MLFLOW_TRACKING_URI``; without the restore, a later
    stage in the same process would take that for the user's own setting.
    """
    before = os.environ.get(_ENV)
    uri = tracking_uri(cfg, root)
    mlflow.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        if before is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = before


def tracking_uri(cfg: MlflowConfig, root: Path) -> str:
    uri = os.environ.get(_ENV) or cfg.tracking_uri
    if uri.startswith(_SQLITE) and not Path(uri[len(_SQLITE) :]).is_absolute():
        uri = _SQLITE + str((root / uri[len(_SQLITE) :]).resolve())
    return uri


def experiment_id(cfg: MlflowConfig, root: Path) -> str:
    """The experiment's id in the current store, creating it (and its artifact location)."""
    found = mlflow.get_experiment_by_name(cfg.experiment)
    if found is not None:
        return found.experiment_id
    location = Path(cfg.artifact_location)
    location = location if location.is_absolute() else root / location
    return mlflow.create_experiment(cfg.experiment, artifact_location=location.resolve().as_uri())


def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mapping -> ``{"a.b.c": value}``."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out |= flatten(value, f"{name}.")
        else:
            out[name] = value
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
