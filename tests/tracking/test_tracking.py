import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient

from ecgpipe import tracking
from ecgpipe.config.schema import MlflowConfig
from tests.conftest import conf


def test_relative_sqlite_store_lives_at_the_project_root(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert (
        tracking.tracking_uri(MlflowConfig(**conf("mlflow")), tmp_path)
        == f"sqlite:///{tmp_path / 'mlflow.db'}"
    )


def test_environment_overrides_the_config(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////elsewhere/runs.db")
    assert (
        tracking.tracking_uri(MlflowConfig(**conf("mlflow")), tmp_path)
        == "sqlite:////elsewhere/runs.db"
    )


@pytest.mark.parametrize("before", [None, "sqlite:////users/own.db"])
def test_store_restores_the_environment(tmp_path: Path, monkeypatch, before):
    if before is None:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", before)
    cfg = MlflowConfig(**conf("mlflow", tracking_uri="sqlite:///a.db"))
    with tracking.store(cfg, tmp_path) as uri:
        assert uri == (before or f"sqlite:///{tmp_path / 'a.db'}")
    assert os.environ.get("MLFLOW_TRACKING_URI") == before


def test_experiment_is_created_once_with_its_artifact_location(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = MlflowConfig(**conf("mlflow", experiment="e1"))
    with tracking.store(cfg, tmp_path):
        first = tracking.experiment_id(cfg, tmp_path)
        assert tracking.experiment_id(cfg, tmp_path) == first
        assert mlflow.get_experiment(first).artifact_location == (tmp_path / "mlartifacts").as_uri()


def test_flatten_and_hash(tmp_path: Path):
    assert tracking.flatten({"a": {"b": 1, "c": {"d": [2]}}, "e": None}) == {
        "a.b": 1,
        "a.c.d": [2],
        "e": None,
    }
    for name in ("meta.json", "index.csv", "labels.npy", "signals.npy"):
        (tmp_path / name).write_bytes(b"x")
    h = tracking.data_hash(tmp_path)
    (tmp_path / "signals.npy").write_bytes(b"y")
    assert tracking.data_hash(tmp_path) != h
    assert tracking.git_commit(tmp_path) == "unknown"


def test_inside_a_dvc_experiment_runs_are_named_and_tagged_after_it(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    monkeypatch.setenv("DVC_EXP_NAME", "famed-pier")
    monkeypatch.setenv("DVC_EXP_BASELINE_REV", "abc123")
    cfg = MlflowConfig(**conf("mlflow", experiment="e2"))
    run_id = tracking.new_run(cfg, tmp_path, tags={"extra": "1"})
    run = MlflowClient(tracking.tracking_uri(cfg, tmp_path)).get_run(run_id)
    assert run.info.run_name == "famed-pier"
    assert run.data.tags["dvc.exp_name"] == "famed-pier"
    assert run.data.tags["dvc.baseline_rev"] == "abc123"
    assert run.data.tags["extra"] == "1"
    assert run.info.status == "RUNNING"


def test_outside_dvc_experiments_there_are_no_dvc_tags(monkeypatch):
    for var in ("DVC_EXP_NAME", "DVC_EXP_BASELINE_REV"):
        monkeypatch.delenv(var, raising=False)
    assert tracking.dvc_experiment_tags() == {}


def test_a_queued_experiment_logs_to_the_store_of_the_repo_it_was_queued_from(
    tmp_path: Path, monkeypatch
):
    """DVC runs queued experiments in a copy under .dvc/tmp/exps and sets DVC_ROOT to the repo."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    copy = tmp_path / ".dvc" / "tmp" / "exps" / "tmpabc"
    monkeypatch.setenv("DVC_ROOT", str(tmp_path))
    cfg = MlflowConfig(**conf("mlflow", experiment="e3"))
    assert tracking.tracking_uri(cfg, copy) == f"sqlite:///{tmp_path / 'mlflow.db'}"
    with tracking.store(cfg, copy):
        experiment = mlflow.get_experiment(tracking.experiment_id(cfg, copy))
    assert experiment.artifact_location == (tmp_path / "mlartifacts").as_uri()


def test_mlflow_is_touched_from_one_module():
    """Runs, metrics, artifacts, models and the registry go through the ``ecgpipe.tracking``
    package; the served model's class only subclasses MLflow's ``PythonModel``."""
    import ast

    src = Path(__file__).resolve().parents[2] / "src/ecgpipe"
    users = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "mlflow" or n.startswith("mlflow.") for n in names):
                users.add(str(path.relative_to(src)))
    assert "serving/pyfunc.py" in users and "tracking/runs.py" in users
    assert {u for u in users if not u.startswith("tracking/")} == {"serving/pyfunc.py"}


def test_the_runs_view_gathers_metric_columns_in_the_uis_saved_view_envelope(
    tmp_path: Path, monkeypatch
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg = MlflowConfig(**conf("mlflow"))
    with tracking.store(cfg, tmp_path):
        experiment = tracking.experiment_id(cfg, tmp_path)
        tracking.show_in_runs_table(experiment, ["best/val/loss"], ascending=True)
        tracking.show_in_runs_table(experiment, ["test/macro_auroc", "best/val/loss"])
        tag = (
            MlflowClient()
            .get_experiment(experiment)
            .tags[f"mlflow.sharedViewState.{tracking.RUNS_VIEW}"]
        )
    view = json.loads(tag)  # what the UI checks before it lists a saved view
    assert isinstance(view["name"], str) and isinstance(view["createdAt"], int)
    state = json.loads(view["state"])
    metrics = ["metrics.`best/val/loss`", "metrics.`test/macro_auroc`"]
    assert state["selectedColumns"][-2:] == metrics and state["columnOrder"][:2] == metrics
    assert "attributes.`Dataset`" in state["selectedColumns"]
    assert (state["orderByKey"], state["orderByAsc"]) == ("metrics.`best/val/loss`", True)


def test_a_run_whose_process_died_is_marked_killed_by_the_next(tmp_path: Path, monkeypatch, caplog):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    script = f"""
import os, signal
from pathlib import Path
from ecgpipe import tracking
from ecgpipe.config.schema import MlflowConfig
cfg = MlflowConfig(**{conf("mlflow")!r})
print(tracking.new_run(cfg, Path({str(tmp_path)!r}), name="doomed"), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    doomed = proc.stdout.split()[-1]
    cfg = MlflowConfig(**conf("mlflow"))
    client = MlflowClient(tracking.tracking_uri(cfg, tmp_path))
    assert client.get_run(doomed).info.status == "RUNNING"
    mine = tracking.new_run(cfg, tmp_path, name="alive")  # this process runs: stays RUNNING
    assert client.get_run(doomed).info.status == "KILLED"
    assert f"MLflow run {doomed} (doomed) was RUNNING, but its process" in caplog.text
    tracking.new_run(cfg, tmp_path, name="next")
    assert client.get_run(mine).info.status == "RUNNING"


@pytest.mark.parametrize("enabled", [True, False])
def test_a_training_run_samples_system_metrics_and_stops_when_it_ends(
    tmp_path: Path, monkeypatch, enabled: bool
):
    """CPU and memory use every ``interval_s`` while the block runs; the sampler is gone, and the
    run FINISHED, when it ends; nothing is sampled when disabled."""
    import threading
    import time

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL", raising=False)
    sampling = {"enabled": enabled, "interval_s": 0.2}
    cfg = MlflowConfig(**conf("mlflow", system_metrics=sampling))
    with tracking.training_run(cfg, tmp_path, name="sampled") as logger:
        time.sleep(1.5)
    assert not [t for t in threading.enumerate() if t.name == "SystemMetricsMonitor"]
    run = MlflowClient(tracking.tracking_uri(cfg, tmp_path)).get_run(logger.run_id)
    assert run.info.status == "FINISHED"
    system = {k for k in run.data.metrics if k.startswith("system/")}
    expected = {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"}
    assert expected <= system if enabled else not system
