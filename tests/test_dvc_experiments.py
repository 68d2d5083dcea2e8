"""DVC experiments over the Hydra composition: a run, a queued grid, ``dvc exp show`` (in a
160-column terminal too), ``dvc plots diff`` of learning curves, and each experiment an MLflow run
in the project's store tagged with its DVC name. Slow: about 4 minutes each."""

from __future__ import annotations

import csv
import io
import json
import shutil
import time
from pathlib import Path

import dvc.api
import pytest
from mlflow import MlflowClient

from .conftest import sh

pytestmark = pytest.mark.slow

SHOW = ("--only-changed", "--drop", "Executor|models")
"""docs/sweeps.md's `dvc exp show` of a grid: what changed, less what nobody reads there."""


def wait_for_queue(project: Path, timeout_s: float = 900) -> str:
    """Poll ``dvc queue status`` until nothing is queued or running; returns its last output."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = sh("dvc", "queue", "status", cwd=project).stdout
        if not any(word in status for word in ("Queued", "Running")):
            return status
        time.sleep(5)
    raise AssertionError(f"queue still busy after {timeout_s} s:\n{status}")


def test_queued_grid_runs_and_every_experiment_is_tagged_in_mlflow(tiny_project, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(tiny_project, project, ignore=shutil.ignore_patterns("multirun"))
    shutil.rmtree(project / ".dvc" / "tmp", ignore_errors=True)

    sh("dvc", "exp", "run", "-S", "model=resnet1d_wang", "-n", "single-resnet", cwd=project)
    sh(
        "dvc", "exp", "run", "--queue",
        "-S", "model=cnn1d,resnet1d_wang", "-S", "train.lr=1e-3,3e-3",
        cwd=project,
    )  # fmt: skip
    try:
        sh("dvc", "queue", "start", cwd=project)
        status = wait_for_queue(project)
    finally:
        sh("dvc", "queue", "stop", cwd=project, check=False)
    assert status.count("Success") == 4, status

    table = sh("dvc", "exp", "show", "--csv", cwd=project).stdout
    rows = {r["Experiment"]: r for r in csv.DictReader(io.StringIO(table)) if r["Experiment"]}
    assert len(rows) == 5, table
    assert all(r["test.macro_auroc"] for r in rows.values()), table
    settings = {n: (r["model.name"], float(r["train.lr"])) for n, r in rows.items()}
    assert set(settings.values()) == {
        (m, lr) for m in ("cnn1d", "resnet1d_wang") for lr in (1e-3, 3e-3)
    }

    # Queued experiments ran in copies under .dvc/tmp/exps, yet logged to this project's store.
    # Each experiment names its MLflow run in metrics/eval.json (`mlflow_run_id`), read at the
    # experiment's revision as docs/sweeps.md says (not a metric: it would widen every table).
    # One that DVC answered from its cache trains nothing: the baseline's own settings (cnn1d,
    # 3e-3) reuse the baseline's run, a repeat of single-resnet reuses that one.
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")

    def run_of(name: str):
        evaluated = json.loads(dvc.api.read("metrics/eval.json", repo=str(project), rev=name))
        return client.get_run(evaluated["mlflow_run_id"])

    runs = {n: run_of(n) for n in rows}
    for name, run in runs.items():
        assert run.info.status == "FINISHED"
        assert run.data.metrics["test/macro_auroc"] == pytest.approx(
            float(rows[name]["test.macro_auroc"])
        )
        assert (run.data.params["model.name"], float(run.data.params["train.lr"])) == settings[name]
    trained = {n for n, run in runs.items() if run.data.tags.get("dvc.exp_name") == n}
    assert trained == {"single-resnet"} | {n for n, (_, lr) in settings.items() if lr == 1e-3}
    baseline = next(n for n, s in settings.items() if s == ("cnn1d", 3e-3))
    assert "dvc.exp_name" not in runs[baseline].data.tags  # the run of the plain `dvc repro`
    repeat = next(
        n for n, s in settings.items() if s == ("resnet1d_wang", 3e-3) and n != "single-resnet"
    )
    assert runs[repeat].info.run_id == runs["single-resnet"].info.run_id


def test_a_grid_fits_a_terminal_and_plots_diff_draws_each_learning_curve(tiny_project, tmp_path):
    """`dvc exp show` of a 4-experiment grid, with the column filter docs/sweeps.md gives, fits
    160 columns uncompressed; `dvc plots diff` draws the learning curves of two experiments."""
    project = tmp_path / "project"
    shutil.copytree(tiny_project, project, ignore=shutil.ignore_patterns("multirun"))
    shutil.rmtree(project / ".dvc" / "tmp", ignore_errors=True)
    sh(
        "dvc", "exp", "run", "--queue", "-S", "train.lr=1e-3,3e-3", "-S", "train.seed=0,1",
        cwd=project,
    )  # fmt: skip
    sh("dvc", "exp", "run", "--run-all", cwd=project, timeout=1200)

    table = sh("dvc", "exp", "show", "--csv", cwd=project).stdout
    rows = [r for r in csv.DictReader(io.StringIO(table)) if r["Experiment"]]
    assert len(rows) == 4 and all(r["State"] == "Success" for r in rows), table
    wide = {"COLUMNS": "1000"}  # room for every column at its full width: nothing compressed
    shown = sh("dvc", "exp", "show", *SHOW, "--no-pager", cwd=project, env=wide).stdout
    assert all(len(line) <= 160 for line in shown.splitlines()), shown
    for column in ("test.macro_auroc", "test.macro_auroc_lo", "train.lr", "train.seed"):
        assert column in shown, shown

    names = [r["Experiment"] for r in rows][:2]
    diff = json.loads(sh("dvc", "plots", "diff", *names, "--json", cwd=project).stdout)
    assert not diff.get("errors"), diff["errors"]
    for plot in ("Learning curves, loss", "Learning curves, validation"):
        values = diff["data"][plot][0]["content"]["data"]["values"]
        assert {v["rev"] for v in values} == set(names), plot
