"""``ecgpipe-sweep``: Hydra multirun on the tiny DVC project, with MLflow queried afterwards.

Slow (about six minutes: every job a training): run by ``make test-slow`` / ``.ci/run``; the
sweeper's own parts (search space, study, pruning) are tested quickly in ``tests/tuning``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hydra import compose, initialize_config_dir
from mlflow import MlflowClient

from ecgpipe.config.parse import load_params
from ecgpipe.processing.cache import Cache
from ecgpipe.stages import data_state

from .conftest import PROJECT, make_dvc_project, noise, sh

pytestmark = pytest.mark.slow


def sweep(project: Path, name: str, *overrides: str, check: bool = True):
    """Run a sweep into ``multirun/<name>``; returns (process, parent run, child runs)."""
    proc = sh(
        "ecgpipe-sweep", "-m", f"hydra.sweep.dir=multirun/{name}", *overrides,
        cwd=project, check=check,
    )  # fmt: skip
    parent_file = project / "multirun" / name / "mlflow_parent.json"
    if not parent_file.is_file():
        return proc, None, []
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    parent = client.get_run(json.loads(parent_file.read_text())["run_id"])
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    return proc, parent, children


def test_grid_sweep_nests_one_run_per_combination_under_a_parent(tiny_project: Path):
    models_before = sorted(p.name for p in (tiny_project / "models").iterdir())
    lock_before = (tiny_project / "dvc.lock").read_text()
    grid = ("model=cnn1d,resnet1d_wang", "train.lr=1e-3,3e-3")
    proc, parent, children = sweep(tiny_project, "grid", *grid)
    assert not noise(proc.stderr), noise(proc.stderr)  # quiet, as `dvc repro` is

    assert parent.info.status == "FINISHED"
    assert parent.data.tags["sweep.overrides"] == " ".join(grid)
    assert parent.data.tags["ecgpipe.sweep"] == "parent"
    names = sorted(r.info.run_name for r in children)
    assert names == [
        "model=cnn1d,train.lr=0.001",
        "model=cnn1d,train.lr=0.003",
        "model=resnet1d_wang,train.lr=0.001",
        "model=resnet1d_wang,train.lr=0.003",
    ]
    for run in children:
        assert run.info.status == "FINISHED"
        assert {"best/val/macro_auroc", "test/macro_auroc"} <= set(run.data.metrics)
        assert "system/cpu_utilization_percentage" in run.data.metrics  # sampled (debug=tiny: 1 s)
        assert run.data.params["model.name"] in run.info.run_name
    best = max(children, key=lambda r: r.data.metrics["best/val/macro_auroc"])
    assert parent.data.tags["best_run_id"] == best.info.run_id
    assert parent.data.metrics["best/val/macro_auroc"] == best.data.metrics["best/val/macro_auroc"]
    assert parent.data.metrics["n_runs"] == 4

    # each job wrote into its own directory; the DAG's outputs are as dvc repro left them
    for job in range(4):
        assert (tiny_project / f"multirun/grid/{job}/metrics/eval.json").is_file()
        assert (tiny_project / f"multirun/grid/{job}/plots/training.csv").is_file()
    assert sorted(p.name for p in (tiny_project / "models").iterdir()) == models_before
    assert (tiny_project / "dvc.lock").read_text() == lock_before
    registered = {v.run_id for v in versions(tiny_project)}
    assert not registered & {r.info.run_id for r in children}  # sweeps register nothing


def versions(project: Path) -> list:
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    return client.search_model_versions("name = 'ecgpipe-synthetic-superdiagnostic'")


def test_register_best_registers_the_best_child_only(tiny_project: Path):
    before = {v.run_id for v in versions(tiny_project)}
    grid = ("train.lr=1e-3,3e-3", "+register_best=true")
    _, parent, children = sweep(tiny_project, "register", *grid)
    new = [v for v in versions(tiny_project) if v.run_id not in before]
    assert [v.run_id for v in new] == [parent.data.tags["best_run_id"]]
    assert len(children) == 2
    assert parent.data.tags["registered"].endswith(f"version {new[0].version}")
    assert new[0].description.startswith("# Model card: ecgpipe-synthetic-superdiagnostic")


def test_a_diverging_job_is_recorded_failed_and_the_sweep_goes_on(tiny_project: Path):
    _, parent, children = sweep(tiny_project, "diverge", "train.lr=1e9,3e-3")
    by_lr = {r.data.params.get("train.lr", r.info.run_name): r for r in children}
    failed = next(r for r in children if r.info.status == "FAILED")
    finished = next(r for r in children if r.info.status == "FINISHED")
    assert len(by_lr) == 2
    assert "diverged" in failed.data.tags["error"]
    assert "lower train.lr" in failed.data.tags["error"]
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["best_run_id"] == finished.info.run_id
    assert parent.data.metrics["n_failed"] == 1


def test_a_job_whose_configuration_is_refused_is_recorded_failed(tiny_project: Path):
    _, parent, children = sweep(tiny_project, "bad-option", "model.options.kernel_size=0,5")
    assert sorted(r.info.status for r in children) == ["FAILED", "FINISHED"]
    failed = next(r for r in children if r.info.status == "FAILED")
    assert failed.info.run_name == "model.options.kernel_size=0"
    assert (
        "model.options.kernel_size: Input should be greater than or equal to 1"
        in (failed.data.tags["error"])
    )
    assert parent.info.status == "FINISHED" and parent.data.metrics["n_failed"] == 1


def test_the_sweep_exits_non_zero_only_when_every_job_failed(tiny_project: Path):
    """One job of two failing leaves the exit status 0 (the tests above); both failing, 1."""
    proc, parent, children = sweep(
        tiny_project, "all-fail", "model.options.kernel_size=0,-1", check=False
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "no run finished: 2 failed" in proc.stdout + proc.stderr
    assert sorted(r.info.status for r in children) == ["FAILED", "FAILED"]
    assert parent.info.status == "FAILED" and parent.data.metrics["n_failed"] == 2
    proc, _, _ = sweep(tiny_project, "one-fails", "model.options.kernel_size=0,5", check=False)
    assert proc.returncode == 0


def test_optuna_search_runs_n_trials_and_maximises_validation_auroc(tiny_project: Path):
    _, parent, children = sweep(
        tiny_project,
        "optuna",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=3",
        "hydra.sweeper.study_name=optuna-3",  # the tiny project's optuna.db is shared
    )
    assert len(children) == 3
    assert all(r.info.status == "FINISHED" for r in children)
    assert parent.data.tags["sweep.sweeper"] == "OptunaSweeper"
    assert "train.lr" in json.loads(parent.data.tags["sweep.search_space"])
    best_value = max(r.data.metrics["best/val/macro_auroc"] for r in children)
    # Optuna's own report of the study agrees with MLflow's best child
    report = yaml.safe_load(
        (tiny_project / "multirun/optuna/optimization_results.yaml").read_text()
    )
    assert report["best_value"] == pytest.approx(best_value)
    lrs = {r.data.params["train.lr"] for r in children}
    assert len(lrs) == 3  # sampled, not the default 0.003


def test_a_sweep_over_data_settings_is_refused_before_any_job(tiny_project: Path):
    proc, parent, _ = sweep(tiny_project, "refused", "data.n_records=100,200", check=False)
    assert proc.returncode == 1
    assert "the sweep varies data.n_records" in proc.stderr
    assert "dvc repro split" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert parent is None


def test_a_sweep_on_other_data_than_prepared_is_refused(tiny_project: Path):
    proc, parent, _ = sweep(tiny_project, "other-data", "~debug", "train.lr=1e-3", check=False)
    assert proc.returncode == 1
    assert "data.n_records: 3000 here, 240 in the data" in proc.stderr
    assert parent is None


def test_stale_data_names_the_stage_and_the_command(tiny_project: Path, tmp_path: Path):
    copy = tmp_path / "p"
    shutil.copytree(tiny_project, copy, ignore=shutil.ignore_patterns("multirun", "mlflow.db"))
    data_state.check_current(copy)  # as dvc repro left it
    params = copy / "params.yaml"
    params.write_text(params.read_text().replace("chunk_size: 64", "chunk_size: 32"))
    with pytest.raises(data_state.StaleDataError, match=r"preprocess .*dvc repro split"):
        data_state.check_current(copy)
    (copy / "dvc.lock").unlink()
    with pytest.raises(data_state.StaleDataError, match=r"dvc\.lock: not found"):
        data_state.check_matches(load_params(params), copy)


@pytest.mark.parametrize(
    ("override", "target", "key", "value"),
    [
        ("hydra/launcher=joblib", "JoblibLauncher", "n_jobs", -1),
        ("hydra/launcher=slurm", "SlurmLauncher", "gpus_per_node", 1),
        ("hparams_search=optuna", "OptunaSweeper", "n_trials", 8),
    ],
)
def test_launcher_and_sweeper_configs_compose(override, target, key, value):
    with initialize_config_dir(str(PROJECT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=[override], return_hydra_config=True)
    node = cfg.hydra.sweeper if "Sweeper" in target else cfg.hydra.launcher
    assert node._target_.endswith(target)
    assert node[key] == value


@pytest.fixture(scope="module")
def kfold_project(tmp_path_factory) -> Path:
    """The tiny project split into 5 patient-disjoint folds (``dvc repro`` on fold 0)."""
    return make_dvc_project(tmp_path_factory.mktemp("kfold"), "split.strategy=kfold")


def test_a_kfold_sweep_pools_every_record_out_of_fold_into_one_report(kfold_project: Path):
    folds = ("split.strategy=kfold", "split.fold=range(5)")
    _, parent, children = sweep(kfold_project, "cv", *folds)
    assert parent.info.status == "FINISHED" and len(children) == 5
    assert sorted(r.data.tags["split.fold"] for r in children) == list("01234")

    out = kfold_project / "multirun/cv/crossval"
    result = json.loads((out / "eval.json").read_text())
    labelled = np.flatnonzero(Cache.open(kfold_project / "data/processed").labels.any(axis=1))
    pooled = pd.read_csv(out / "predictions.csv", dtype={"patient_id": str})
    assert sorted(pooled["row"]) == sorted(labelled)  # every labelled record, once
    assert pooled.groupby("patient_id")["fold"].nunique().max() == 1  # patients kept whole
    assert result["cv"]["n_records"] == len(pooled) and result["k"] == 5
    assert [f["fold"] for f in result["per_fold"]] == list(range(5))
    assert {f["run_id"] for f in result["per_fold"]} == {r.info.run_id for r in children}
    report = (out / "eval.md").read_text()
    assert "5-fold cross-validation" in report and "## Per fold" in report
    assert "## Per patient" in report

    low, high = result["cv"]["macro_auroc_ci"]
    assert parent.data.metrics["cv/macro_auroc"] == pytest.approx(result["cv"]["macro_auroc"])
    assert parent.data.metrics["cv/macro_auroc_lo"] == pytest.approx(low)
    assert parent.data.metrics["cv/macro_auroc_hi"] == pytest.approx(high)
    client = MlflowClient(f"sqlite:///{kfold_project / 'mlflow.db'}")
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "crossval")}
    assert {"crossval/eval.md", "crossval/eval.json", "crossval/predictions.csv"} <= logged


def test_folds_that_are_missing_or_mixed_up_are_not_pooled(kfold_project: Path, tmp_path: Path):
    from ecgpipe.evaluation import crossval

    jobs = kfold_project / "multirun/cv"
    if not (jobs / "crossval").is_dir():
        sweep(kfold_project, "cv", "split.strategy=kfold", "split.fold=range(5)")
    folds = [crossval.Fold(f, jobs / str(f)) for f in range(5)]
    with pytest.raises(crossval.CrossValidationError, match="one finished run of each fold"):
        crossval.pool(kfold_project, folds[:4], 5, 10, 0, tmp_path)
    swapped = [crossval.Fold(1, jobs / "0"), crossval.Fold(0, jobs / "1"), *folds[2:]]
    with pytest.raises(crossval.CrossValidationError, match="not of its test records"):
        crossval.pool(kfold_project, swapped, 5, 10, 0, tmp_path)


def test_sweeping_the_fold_of_a_split_that_is_not_kfold_says_what_to_set(tiny_project: Path):
    proc, parent, _ = sweep(tiny_project, "nofold", "split.fold=0,1", check=False)
    assert proc.returncode != 0 and parent is None
    assert "split.fold, the fold of a k-fold cross-validation, but split.strategy is" in (
        proc.stderr + proc.stdout
    )


def test_a_sweep_folder_it_cannot_create_is_one_line(tiny_project: Path):
    """A file where the sweep's folder should be: one line naming it, before any job."""
    (tiny_project / "not-a-folder").write_text("x")
    argv = ("ecgpipe-sweep", "-m", "hydra.sweep.dir=not-a-folder/sweep", "train.lr=1e-3")
    proc = sh(*argv, cwd=tiny_project, check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, proc.stderr[-2000:]
    assert f"ecgpipe-sweep: error: {tiny_project / 'not-a-folder'}" in errors[0]  # Hydra's log
    assert "a file where a folder should be" in errors[0]
