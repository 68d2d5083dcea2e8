"""The study of an Optuna search on a real SQLite database: its settings' errors, and what a
resumed study does with a trial an interrupted sweep left RUNNING."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from ecgpipe.core.errors import PipelineError
from ecgpipe.tuning import space, study
from ecgpipe.tuning.trial import TrialLink

DIMS = {"train.lr": "tag(log, interval(1e-4, 1e-2))", "train.loss": "choice(bce, focal)"}


def open_study(url: str, name: str = "s") -> study.Study:
    rdb = study.storage(url)
    sampler = optuna.samplers.TPESampler(seed=0)
    return study.open_study(name, rdb, url, "maximize", sampler, optuna.pruners.NopPruner())


@pytest.mark.parametrize(
    ("storage", "message"),
    [
        ("optuna.db", "hydra.sweeper.storage: 'optuna.db' is not a database URL"),
        ("nosuchdb://host/x", "hydra.sweeper.storage: 'nosuchdb://host/x' is not a database URL"),
        (None, "hydra.sweeper.storage: a database is needed"),
        ("sqlite://", "hydra.sweeper.storage: an in-memory SQLite database cannot be shared"),
        (
            "sqlite:///no/such/optuna.db",
            "hydra.sweeper.storage: sqlite:///no/such/optuna.db: the folder {root}/no/such does "
            "not exist; create it",
        ),
    ],
)
def test_a_bad_storage_is_refused_in_one_line(tmp_path: Path, storage, message):
    with pytest.raises(PipelineError) as err:
        study.storage_url(storage, tmp_path)
    assert str(err.value).startswith(message.format(root=tmp_path))
    assert "\n" not in str(err.value)


def test_storage_urls_are_made_absolute_and_hide_no_password_from_jobs(tmp_path: Path):
    assert study.storage_url("sqlite:///optuna.db", tmp_path) == f"sqlite:///{tmp_path}/optuna.db"
    absolute = f"sqlite:///{tmp_path.parent}/o.db"  # stays where it is
    assert study.storage_url(absolute, tmp_path) == absolute
    url = study.storage_url("postgresql://me:secret@db.example/optuna", tmp_path)
    assert url.endswith("://me:secret@db.example/optuna")  # the jobs need to log in
    assert study.masked(url).endswith("://me:***@db.example/optuna")  # what the logs show


def test_an_unreachable_database_is_one_line(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/no/such/folder/optuna.db"
    with pytest.raises(PipelineError, match=r"^hydra\.sweeper\.storage: cannot open sqlite:///"):
        study.storage(url)


@pytest.mark.parametrize(
    ("pruner", "message"),
    [
        ({"name": "asha"}, "hydra.sweeper.pruner.name: unknown pruner 'asha' (one of median, "),
        (
            {"name": "median", "median": {"n_warmup_epochs": 1}},
            "hydra.sweeper.pruner.median: unknown option n_warmup_epochs (options: ",
        ),
    ],
)
def test_a_bad_pruner_is_refused_in_one_line(pruner, message):
    with pytest.raises(PipelineError) as err:
        study.make_pruner(pruner, max_epochs=5)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_pruners_by_name_and_hyperband_spans_the_epochs():
    median = study.make_pruner({"name": "median", "median": {"n_startup_trials": 1}}, 5)
    assert isinstance(median, optuna.pruners.MedianPruner)
    hyperband = study.make_pruner({"name": "hyperband"}, max_epochs=7)
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner)
    assert hyperband._max_resource == 7
    assert isinstance(study.make_pruner({"name": "none"}, 5), optuna.pruners.NopPruner)
    assert study.direction(None, "val/loss") == "minimize"
    assert study.direction(None, "val/macro_auroc") == "maximize"
    with pytest.raises(PipelineError, match=r"hydra\.sweeper\.direction: 'up': minimize or"):
        study.direction("up", "val/loss")


def test_the_search_space_in_hydra_sweep_syntax():
    parsed = space.parse(DIMS | {"model.options.depth": "range(2, 8, 2)"}, ["model=resnet1d_wang"])
    d = parsed.distributions
    assert d["train.lr"] == optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)
    assert d["train.loss"] == optuna.distributions.CategoricalDistribution(["bce", "focal"])
    assert d["model.options.depth"] == optuna.distributions.IntDistribution(2, 6, step=2)
    assert parsed.fixed == ["model=resnet1d_wang"]
    assert parsed.overrides({"train.lr": 0.001}) == ["train.lr=0.001", "model=resnet1d_wang"]
    with pytest.raises(PipelineError, match="the search space is empty"):
        space.parse({}, ["model=cnn1d"])


def test_the_trial_override_round_trips_through_hydras_parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    link = TrialLink("it's", "sqlite:////a b\\/optuna.db", 7)
    override = OverridesParser.create().parse_overrides([link.override()])[0]
    assert override.value() == {
        "study": "it's",
        "storage": "sqlite:////a b\\/optuna.db",
        "number": 7,
    }


ASK_AND_DIE = """
import os, sys
import optuna
from ecgpipe.tuning import space, study
url = sys.argv[1]
s = study.open_study("s", study.storage(url), url, "maximize", optuna.samplers.TPESampler(seed=0),
                     optuna.pruners.NopPruner())
trial = s.study.ask(space.parse({DIMS!r}, []).distributions)
s.claim(trial)
os._exit(0)  # killed mid-trial: no tell
"""


def test_a_trial_left_running_by_a_killed_sweeper_is_failed_and_run_again(tmp_path: Path):
    url = f"sqlite:///{tmp_path}/optuna.db"
    script = ASK_AND_DIE.replace("{DIMS!r}", repr(DIMS))
    subprocess.run([sys.executable, "-c", script, url], check=True, timeout=120)
    s = open_study(url)
    [orphan] = s.study.get_trials(states=(TrialState.RUNNING,))
    # a trial of a sweeper that still runs (here: a live process) is left alone
    with subprocess.Popen(["sleep", "60"]) as live:
        other = s.study.ask(space.parse(DIMS, []).distributions)
        s.claim(other)
        s.set_user_attr(other.number, study.PID, live.pid)
        assert s.recover() == [orphan.number]
        live.kill()
    after = {t.number: t for t in s.study.get_trials()}
    assert after[orphan.number].state == TrialState.FAIL
    assert after[orphan.number].user_attrs[study.INTERRUPTED] is True
    assert after[other.number].state == TrialState.RUNNING
    [waiting] = [t for t in after.values() if t.state == TrialState.WAITING]
    assert waiting.user_attrs[study.RETRY_OF] == orphan.number
    assert s.n_counted() == 1  # the live one; the interrupted trial does not count
    # the next trial asked for is the interrupted configuration again
    retry = s.study.ask(space.parse(DIMS, []).distributions)
    assert retry.number == waiting.number and retry.params == orphan.params
    live.wait()
    assert s.recover() == [other.number]  # its sweeper gone now, the other trial is recovered
