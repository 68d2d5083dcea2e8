"""``ecgpipe server``: mlflow server over a real PostgreSQL (Debian's ``postgresql``), fed by a
sweep of 4 parallel jobs and a queued DVC grid at once, then read back through the REST API the
UI uses: every run, metric history and artifact arrived, none lost, none twice. Slow: about 4
minutes; ``.ci/run`` installs PostgreSQL if missing."""

from __future__ import annotations

import glob
import json
import shutil
import socket
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from ..conftest import free_port, service, sh
from ..test_dvc_experiments import wait_for_queue

pytestmark = pytest.mark.slow

SWEEP = "train.lr=1e-3,2e-3,4e-3,5e-3"
QUEUED = ("6e-3", "7e-3")


def api(url: str, path: str, body: dict | None = None, **query) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}/api/2.0/mlflow/{path}?{urllib.parse.urlencode(query)}",
        data=data,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_a_parallel_sweep_and_a_dvc_queue_all_arrive_on_the_postgresql_server(
    tiny_project, tmp_path
):
    if not (glob.glob("/usr/lib/postgresql/*/bin/postgres") or shutil.which("postgres")):
        pytest.fail("PostgreSQL server not found: install Debian's postgresql (.ci/run does)")
    project = tmp_path / "project"
    shutil.copytree(tiny_project, project, ignore=shutil.ignore_patterns("multirun", "mlflow.db"))
    shutil.rmtree(project / ".dvc" / "tmp", ignore_errors=True)
    data = Path(tempfile.mkdtemp(prefix="ecgpipe-server-", dir="/tmp"))  # reachable by postgres
    data.chmod(0o755)
    port, pg_port = free_port(), free_port()
    ecgpipe = str(Path(sys.executable).parent / "ecgpipe")
    argv = [ecgpipe, "server", "--data", str(data), "--port", str(port), "--pg-port", str(pg_port)]
    url = f"http://127.0.0.1:{port}"
    env = {"MLFLOW_TRACKING_URI": url}
    with service(argv, f"{url}/health", tmp_path / "server.log", cwd=project):
        sh("dvc", "exp", "run", "--queue", "-S", f"train.lr={','.join(QUEUED)}",
           cwd=project, env=env)  # fmt: skip
        sh("dvc", "queue", "start", cwd=project, env=env)
        try:  # the sweep's 4 jobs write while the queue's experiment does
            sh("ecgpipe-sweep", "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=4",
               "hydra.sweep.dir=multirun/team", SWEEP, cwd=project, env=env)  # fmt: skip
            status = wait_for_queue(project)
        finally:
            sh("dvc", "queue", "stop", cwd=project, check=False)
        assert status.count("Success") == len(QUEUED), status

        experiment = api(url, "experiments/get-by-name", experiment_name="ecgpipe")
        runs = api(
            url,
            "runs/search",
            {"experiment_ids": [experiment["experiment"]["experiment_id"]], "max_results": 500},
        )["runs"]
        tags = [{t["key"]: t["value"] for t in r["data"].get("tags", [])} for r in runs]
        children = [r for r, t in zip(runs, tags, strict=True) if t.get("ecgpipe.sweep") == "child"]
        queued = [r for r, t in zip(runs, tags, strict=True) if "dvc.exp_name" in t]
        assert len(children) == 4 and len(queued) == len(QUEUED)
        lrs = sorted(
            next(p["value"] for p in r["data"]["params"] if p["key"] == "train.lr")
            for r in children + queued
        )
        assert lrs == sorted(["0.001", "0.002", "0.004", "0.005", "0.006", "0.007"])
        for run in children + queued:
            info = run["info"]
            assert info["status"] == "FINISHED", info
            history = api(
                url, "metrics/get-history", run_id=info["run_id"], metric_key="val/macro_auroc"
            )["metrics"]
            steps = [m["step"] for m in history]
            assert steps and len(steps) == len(set(steps)), steps  # none lost, none twice
            metrics = {m["key"] for m in run["data"]["metrics"]}
            assert {"best/val/macro_auroc", "test/macro_auroc"} <= metrics
            files = api(url, "artifacts/list", run_id=info["run_id"])["files"]
            folders = {f["path"] for f in files}
            assert {"evaluation", "config", "model_extras"} <= folders, folders
        assert list((data / "artifacts").iterdir()), "the server proxied no artifact"
    assert not listening(port) and not listening(pg_port), "the server did not stop"
