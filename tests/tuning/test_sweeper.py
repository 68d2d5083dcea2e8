"""``ecgpipe-sweep -m hparams_search=optuna`` on the tiny DVC project: a pruned search in a
real SQLite study with its trials as MLflow child runs, a resume after Ctrl-C, and settings
refused in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import optuna
import pytest
import yaml
from mlflow import MlflowClient
from optuna.trial import TrialState

from ecgpipe.tuning import study as studies

from ..conftest import sh, tool_env

PRUNE_EARLY = (  # a trial worse than the completed one after its first epoch is pruned
    "hydra.sweeper.pruner.median.n_startup_trials=1",
    "hydra.sweeper.pruner.median.n_warmup_steps=0",
)


def command(name: str, *overrides: str) -> list[str]:
    return [
        "ecgpipe-sweep", "-m", f"hydra.sweep.dir=multirun/{name}", "hparams_search=optuna",
        f"hydra.sweeper.study_name={name}", *overrides,
    ]  # fmt: skip


def trials(project: Path, name: str) -> list[optuna.trial.FrozenTrial]:
    url = f"sqlite:///{project / 'optuna.db'}"
    return optuna.load_study(study_name=name, storage=url).get_trials()


def runs_of(project: Path, name: str) -> list:
    """The MLflow runs of the study's trials (the children of every sweep of it)."""
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(experiments, f"tags.`optuna.study` = '{name}'")


def parent_of(project: Path, name: str):
    client = MlflowClient(f"sqlite:///{project / 'mlflow.db'}")
    parent_file = project / "multirun" / name / "mlflow_parent.json"
    return client.get_run(json.loads(parent_file.read_text())["run_id"])


def test_a_pruned_search_records_its_pruned_trials_in_optuna_and_mlflow(tiny_project: Path):
    sh(*command("pruned", "hydra.sweeper.n_trials=3", *PRUNE_EARLY), cwd=tiny_project)

    found = trials(tiny_project, "pruned")
    states = [t.state for t in found]
    assert len(found) == 3 and TrialState.COMPLETE in states and TrialState.PRUNED in states
    for t in found:  # each trial reported its validation value per epoch, from its job
        assert t.intermediate_values and min(t.intermediate_values) == 1
        if t.state == TrialState.PRUNED:
            assert t.user_attrs[studies.PRUNED_AT] == max(t.intermediate_values) == 1
        else:
            assert sorted(t.intermediate_values) == [1, 2]  # train.max_epochs: 2 (debug=tiny)

    runs = {int(r.data.tags["optuna.trial"]): r for r in runs_of(tiny_project, "pruned")}
    assert sorted(runs) == [t.number for t in found]
    for t in found:
        run = runs[t.number]
        assert run.data.tags["optuna.state"] == t.state.name
        assert t.user_attrs[studies.MLFLOW_RUN] == run.info.run_id
        assert "optuna_trial" not in run.info.run_name + json.dumps(run.data.params)
        if t.state == TrialState.PRUNED:  # stopped early: no test-set evaluation
            assert run.info.status == "KILLED"
            assert run.data.tags["optuna.pruned_at_epoch"] == "1"
            assert not [m for m in run.data.metrics if m.startswith("test/")]
        else:
            assert run.info.status == "FINISHED" and "test/macro_auroc" in run.data.metrics

    parent = parent_of(tiny_project, "pruned")
    assert parent.data.tags["sweep.study"] == "pruned"
    n_pruned = states.count(TrialState.PRUNED)
    assert parent.data.metrics["n_pruned"] == n_pruned and parent.data.metrics["n_runs"] == 3
    best = max((t for t in found if t.state == TrialState.COMPLETE), key=lambda t: t.value)
    assert parent.data.tags["best_run_id"] == runs[best.number].info.run_id
    report = yaml.safe_load(
        (tiny_project / "multirun/pruned/optimization_results.yaml").read_text()
    )
    assert report["best_value"] == pytest.approx(best.value)
    assert report["n_trials"] == {"complete": 3 - n_pruned, "pruned": n_pruned}


@pytest.mark.parametrize(
    ("override", "line"),
    [
        (
            "hydra.sweeper.pruner.name=asha",
            "ecgpipe-sweep: error: hydra.sweeper.pruner.name: unknown pruner 'asha' (one of "
            "median, hyperband, none)",
        ),
        (
            "hydra.sweeper.storage=optuna.db",
            "ecgpipe-sweep: error: hydra.sweeper.storage: 'optuna.db' is not a database URL",
        ),
        (
            "hydra.sweeper.storage=sqlite:///studies/optuna.db",
            "ecgpipe-sweep: error: hydra.sweeper.storage: sqlite:///studies/optuna.db: the folder "
            "{root}/studies does not exist",
        ),
    ],
)
def test_a_bad_sweeper_setting_stops_the_sweep_in_one_line(tiny_project: Path, override, line):
    """One line, and nothing left behind: no sweep folder, no empty parent run."""
    client = MlflowClient(f"sqlite:///{tiny_project / 'mlflow.db'}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    before = {r.info.run_id for r in client.search_runs(experiments)}
    proc = sh(*command("bad-setting", override), cwd=tiny_project, check=False)
    assert proc.returncode == 1
    errors = [x for x in proc.stderr.splitlines() if "error:" in x]
    assert len(errors) == 1 and line.format(root=tiny_project) in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tiny_project / "multirun/bad-setting").exists()
    assert {r.info.run_id for r in client.search_runs(experiments)} == before


@pytest.mark.slow
def test_a_search_interrupted_by_ctrl_c_resumes_where_it_stopped(tiny_project: Path):
    name, n_trials = "resumed", 3
    argv = command(name, f"hydra.sweeper.n_trials={n_trials}", "hydra.sweeper.pruner.name=none")
    log = tiny_project / "interrupted.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, cwd=tiny_project, env=tool_env(), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C: SIGINT to the whole process group
        )  # fmt: skip
        try:
            # after the first trial is told, wait for the second to run, then Ctrl-C
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    found = trials(tiny_project, name)
                except KeyError:  # the study is not created yet
                    found = []
                if len(found) == 2 and found[1].state == TrialState.RUNNING:
                    time.sleep(3)  # into its training
                    break
                time.sleep(0.2)
            assert proc.poll() is None, log.read_text()
            os.killpg(proc.pid, signal.SIGINT)
            assert proc.wait(timeout=120) != 0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    before = trials(tiny_project, name)
    interrupted = [t for t in before if t.user_attrs.get(studies.INTERRUPTED)]
    assert [t.number for t in interrupted] == [1], log.read_text()
    assert interrupted[0].state == TrialState.FAIL
    assert not [t for t in before if t.state == TrialState.RUNNING]

    proc = sh(*argv, cwd=tiny_project)  # the same command again
    assert f"study {name} already holds 1 of {n_trials} trials" in proc.stderr

    after = trials(tiny_project, name)
    done = [t for t in after if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == n_trials  # exactly n_trials counted: the interrupted one is not
    assert [t.number for t in after if t.state == TrialState.FAIL] == [1]
    assert not [t for t in after if t.state in (TrialState.RUNNING, TrialState.WAITING)]
    [retry] = [t for t in after if t.user_attrs.get(studies.RETRY_OF) == 1]
    assert retry.params == interrupted[0].params and retry.state == TrialState.COMPLETE
    distinct = {tuple(sorted(t.params.items())) for t in done}
    assert len(distinct) == n_trials  # the resumed sampler draws no configuration twice

    runs = runs_of(tiny_project, name)
    by_trial: dict[int, list] = {}
    for run in runs:
        by_trial.setdefault(int(run.data.tags["optuna.trial"]), []).append(run)
    assert sorted(by_trial) == sorted(t.number for t in after)  # one run per trial
    assert all(len(v) == 1 for v in by_trial.values())
    [killed] = by_trial[1]  # Ctrl-C during its training
    assert killed.info.status == "KILLED"
    assert killed.data.tags["optuna.state"] == "FAIL"
    assert killed.data.tags["optuna.interrupted"] == "true"
    for t in done:
        assert by_trial[t.number][0].data.tags["optuna.state"] == t.state.name
        assert by_trial[t.number][0].info.status == "FINISHED"
    # the job directories of the interrupted sweep are kept: the resumed one went on from them
    assert (tiny_project / "multirun" / name / "0" / "metrics" / "eval.json").is_file()


@pytest.mark.slow
def test_parallel_jobs_of_the_joblib_launcher_share_one_study(tiny_project: Path):
    """Trials asked two at a time and run in two processes report into one SQLite study."""
    sh(
        *command(
            "parallel", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2",
            "hydra.sweeper.n_jobs=2", "hydra.sweeper.n_trials=4", *PRUNE_EARLY,
        ),
        cwd=tiny_project,
    )  # fmt: skip
    found = trials(tiny_project, "parallel")
    assert len(found) == 4
    assert all(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in found)
    assert all(t.intermediate_values for t in found)  # each job reported from its own process
    runs = runs_of(tiny_project, "parallel")
    assert sorted(int(r.data.tags["optuna.trial"]) for r in runs) == [0, 1, 2, 3]
    assert len({r.data.tags["ecgpipe.pid"] for r in runs}) == 2  # two worker processes
