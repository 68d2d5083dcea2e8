"""``ecgpipe ui``: the MLflow UI on the project's store, opened on what matters: the runs table
of the project's experiment, in its saved view of key metrics (:data:`RUNS_VIEW`), in MLflow's
model-training mode.

MLflow 3's UI takes its mode from the address's ``workflowType`` (else from the browser's last
choice, else GenAI, which opens an experiment on its overview of traces), whatever the
experiment's ``mlflow.experimentKind`` tag says. So the address names the runs tab, the mode and
the view: ``http://HOST:PORT/#/experiments/ID/runs?workflowType=machine_learning&``
``viewStateShareKey=ecgpipe``. A local store (SQLite, a database) gets an ``mlflow server`` of its
own, stopped on Ctrl-C or SIGTERM; a tracking server's UI is the server's.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import tempfile
import webbrowser
from dataclasses import dataclass
from pathlib import Path

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import SQLAlchemyError

from ecgpipe.config.schema import MlflowConfig
from ecgpipe.core.errors import PipelineError
from ecgpipe.tracking.server import asked_to_stop, run_mlflow_server
from ecgpipe.tracking.store import environ, store_root, tracking_uri
from ecgpipe.tracking.view import _VIEW_TAG, RUNS_VIEW

TRAINING_MODE = "machine_learning"
"""The ``workflowType`` of MLflow's model-training mode (the other is ``genai``)."""


@dataclass(frozen=True)
class Experiment:
    id: str
    view: str | None
    """The name of its saved view :data:`RUNS_VIEW`, if ``train`` made it."""

    def address(self, base: str) -> str:
        """Its runs table on the UI at ``base``: model-training mode, the saved view if any."""
        query = f"workflowType={TRAINING_MODE}"
        if self.view:
            query += f"&viewStateShareKey={RUNS_VIEW}"
        return f"{base.rstrip('/')}/#/experiments/{self.id}/runs?{query}"


def experiment(cfg: MlflowConfig, uri: str) -> Experiment:
    """The project's experiment in the store at ``uri``; one line where there is none yet."""
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
        raise PipelineError(
            f"{uri.removeprefix('sqlite:///')}: no MLflow store yet; train first (`dvc repro`)"
        )
    try:
        with environ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0"):
            found = MlflowClient(uri).get_experiment_by_name(cfg.experiment)
    except (MlflowException, SQLAlchemyError) as err:  # unreachable, or not an MLflow database
        raise PipelineError(
            f"cannot read the MLflow store {uri}: {str(err).splitlines()[0]}"
        ) from None
    if found is None:
        raise PipelineError(f"no experiment {cfg.experiment!r} in {uri} yet; train first")
    view = found.tags.get(_VIEW_TAG)  # as view.show_in_runs_table saves it
    return Experiment(found.experiment_id, json.loads(view)["name"] if view else None)


def free_port(host: str, port: int) -> int:
    """``port`` if nothing listens on it at ``host``; 0 picks one that is free."""
    if not 0 <= port <= 65535:
        raise PipelineError(f"--port {port}: a port is a number from 0 to 65535")
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError as err:
            if err.errno != errno.EADDRINUSE:
                raise PipelineError(f"cannot serve on {host}:{port}: {err.strerror}") from None
            raise PipelineError(
                f"port {port} on {host} is taken (another `ecgpipe ui` or `mlflow ui`?): stop "
                "it, or pass --port 0 for a free port"
            ) from None
        return s.getsockname()[1]


def browser_at_hand() -> bool:
    """A desktop to open a browser on (a console browser would take over the terminal)."""
    desktop = ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")
    return sys.platform in ("darwin", "win32") or any(os.environ.get(k) for k in desktop)


def open_ui(cfg: MlflowConfig, root: Path, host: str, port: int, browser: bool) -> int:
    """Print (and, with ``browser``, open) the address of the runs table; for a local store,
    serve it with ``mlflow server`` on ``host:port`` (0: a free port) until Ctrl-C or SIGTERM."""
    uri = tracking_uri(cfg, root)
    if uri.startswith("databricks"):
        raise PipelineError(f"the store is {uri}: open the experiment in Databricks' own UI")
    found = experiment(cfg, uri)
    view = f" in the view {found.view!r}" if found.view else ""
    what = f"the runs of experiment {cfg.experiment!r}{view}, model training"
    if uri.startswith(("http://", "https://")):
        _show(f"ui: {what}, on the tracking server:", found.address(uri), browser)
        return 0
    base = f"http://{host}:{free_port(host, port)}"
    args = ["--host", host, "--port", base.rpartition(":")[2], "--workers", "1",
            "--backend-store-uri", uri]  # fmt: skip
    with tempfile.NamedTemporaryFile(prefix="ecgpipe-ui-", suffix=".log", delete=False) as f:
        log = Path(f.name)  # named in the error if the server fails; removed after a clean stop
    lines = f"ui: MLflow on {uri} (Ctrl-C stops it); {what}:"
    with asked_to_stop() as asked:
        code = run_mlflow_server(
            args,
            base,
            log,
            asked,
            lambda: _show(lines, found.address(base), browser),
            cwd=store_root(root),
        )
    if code != 0:
        raise PipelineError(f"mlflow server stopped on its own; see {log}")
    log.unlink()
    print("ui: stopped", flush=True)
    return 0


def _show(what: str, address: str, browser: bool) -> None:
    """``what``, then ``address`` on a line of its own, opened where a browser is at hand."""
    print(f"{what}\n{address}", flush=True)
    if browser and browser_at_hand():
        webbrowser.open(address)
