"""``ecgpipe ui``: the address of the runs table, in the view of key metrics and model-training
mode; a served UI that stops on Ctrl-C; every bad input one line. (A real browser opening the
address: the slow ``test_mlflow_ui``.)"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ecgpipe import tracking
from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.tracking import ui

from ..conftest import PROJECT, tool_env

ADDRESS = "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning"


def test_the_address_names_the_runs_tab_the_training_mode_and_the_view():
    base = "http://127.0.0.1:5000"
    assert ui.Experiment("3", None).address(base) == ADDRESS
    view = ui.Experiment("3", "ecgpipe: key metrics").address(f"{base}/")
    assert view == f"{ADDRESS}&viewStateShareKey={tracking.RUNS_VIEW}"


@pytest.fixture
def store(project: Path, monkeypatch) -> Path:
    """A project whose store holds the experiment and its saved view, as ``train`` leaves it."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["--root", str(project), "compose"]) == 0
    cfg = load_params(project / "params.yaml").mlflow
    with tracking.store(cfg, project):
        tracking.show_in_runs_table(tracking.experiment_id(cfg, project), ["best/val/macro_auroc"])
    return project


def test_the_experiment_is_read_with_its_saved_view(store: Path):
    cfg = load_params(store / "params.yaml").mlflow
    found = ui.experiment(cfg, tracking.tracking_uri(cfg, store))
    assert found.view == "ecgpipe: key metrics" and found.id != "0"


def test_a_tracking_server_store_gets_the_address_on_the_server(store, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    monkeypatch.setattr(ui, "experiment", lambda cfg, uri: ui.Experiment("3", None))
    assert main(["--root", str(store), "ui", "--no-browser"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == ADDRESS.replace(
        "127.0.0.1", "tracking.example"
    )


def test_ui_serves_the_address_it_prints_until_ctrl_c(store: Path, tmp_path: Path):
    out = tmp_path / "ui.out"
    with out.open("w") as stdout:
        proc = subprocess.Popen(
            ["ecgpipe", "ui", "--no-browser", "--port", "0"],
            cwd=store, env=tool_env(), stdout=stdout, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (found := [x for x in out.read_text().splitlines() if x.startswith("http")]):
            assert proc.poll() is None and time.monotonic() < deadline, out.read_text()
            time.sleep(0.5)
        base, _, page = found[0].partition("/#/")
        assert page.endswith("/runs?workflowType=machine_learning&viewStateShareKey=ecgpipe")
        with urllib.request.urlopen(f"{base}/health", timeout=10) as response:
            assert response.status == 200
    finally:
        proc.send_signal(signal.SIGINT)  # Ctrl-C
        code = proc.wait(timeout=60)
    assert code == 0 and out.read_text().splitlines()[-1] == "ui: stopped", out.read_text()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", int(base.rpartition(":")[2]))) != 0, "still serving"


def _one_error_line(caplog) -> str:
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1, errors
    return errors[0]


def test_every_bad_input_is_one_line(store: Path, tmp_path: Path, caplog):
    root = ["--root", str(store), "ui", "--no-browser"]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = {
            ("--port", "70000"): "--port 70000: a port is a number from 0 to 65535",
            ("--host", "nowhere.invalid"): "cannot serve on nowhere.invalid:5000",
            ("--port", port): f"port {port} on 127.0.0.1 is taken (another `ecgpipe ui`",
        }
        for argv, says in cases.items():
            caplog.clear()
            assert main([*root, *argv]) == 1
            assert _one_error_line(caplog).startswith(f"ecgpipe ui: error: {says}")

    fresh = tmp_path / "fresh"  # a project that has not trained yet
    shutil.copytree(PROJECT / "conf", fresh / "conf")
    (tmp_path / "empty").mkdir()
    cases = [
        (fresh, "no MLflow store yet; train first (`dvc repro`)"),
        (tmp_path / "empty", "is not an ecgpipe project (no params.yaml or conf/)"),
    ]
    params = store / "params.yaml"
    other = tmp_path / "other.yaml"  # the same store, another experiment
    other.write_text(params.read_text().replace("experiment: ecgpipe", "experiment: other"))
    for root, says in cases:
        caplog.clear()
        assert main(["--root", str(root), "ui"]) == 1
        assert says in _one_error_line(caplog)
    caplog.clear()
    assert main(["--root", str(store), "--params", str(other), "ui"]) == 1
    assert "no experiment 'other' in sqlite:///" in _one_error_line(caplog)
    (store / "mlflow.db").write_bytes(b"not a database")
    caplog.clear()
    assert main(["--root", str(store), "ui"]) == 1
    assert "cannot read the MLflow store sqlite:///" in _one_error_line(caplog)
