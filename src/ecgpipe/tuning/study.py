"""The Optuna study of a search, in a database: its storage URL, sampler and pruner; opening
(or resuming) it; and what happens to a trial whose sweep was interrupted.

Resume policy: a trial left RUNNING by an interrupted sweep (Ctrl-C, a killed process, a lost
machine) is marked FAIL, with the user attribute ``ecgpipe.interrupted``, and its parameters
are enqueued again (``ecgpipe.retry_of`` names the trial it retries), so the resumed study runs
that configuration first and never counts an interrupted trial among its ``n_trials``. On
Ctrl-C the sweeper does this at once; after a hard kill, the next sweep of the study does it
for the RUNNING trials whose sweeper process (on this machine) is gone. RUNNING trials of a
sweeper on another machine are left alone: they may still run.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from ecgpipe.core.errors import PipelineError
from ecgpipe.core.parallel import alive

log = logging.getLogger("ecgpipe")

HOST, PID = "ecgpipe.host", "ecgpipe.pid"  # the sweeper that asked for a trial
INTERRUPTED, RETRY_OF = "ecgpipe.interrupted", "ecgpipe.retry_of"
MLFLOW_RUN = "mlflow.run_id"  # the trial's MLflow run (a child of the sweep's parent run)
PRUNED_AT = "ecgpipe.pruned_at_epoch"  # set by the job whose trial the pruner stopped

PRUNERS: dict[str, type[optuna.pruners.BasePruner]] = {
    "median": optuna.pruners.MedianPruner,
    "hyperband": optuna.pruners.HyperbandPruner,
    "none": optuna.pruners.NopPruner,
}
URL_EXAMPLES = "sqlite:///optuna.db, or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE"


def storage_url(storage: str | None, root: Path) -> str:
    """``hydra.sweeper.storage`` as a URL every job can open: a relative SQLite path is made
    absolute under the project root ``root``; ``postgresql://`` gets the installed psycopg 3."""
    if not storage:
        raise PipelineError(
            f"hydra.sweeper.storage: a database is needed ({URL_EXAMPLES}): the jobs report "
            "their trial's progress through it"
        )
    try:
        url = make_url(storage)
        url.get_dialect()  # the backend and its driver are known
    except (ArgumentError, NoSuchModuleError, ValueError):
        raise PipelineError(
            f"hydra.sweeper.storage: {masked(storage)!r} is not a database URL SQLAlchemy "
            f"can use (e.g. {URL_EXAMPLES})"
        ) from None
    except ImportError as err:
        raise PipelineError(
            f"hydra.sweeper.storage: the driver of {url.drivername} is not installed ({err})"
        ) from None
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise PipelineError(
                "hydra.sweeper.storage: an in-memory SQLite database cannot be shared with the "
                "jobs nor resumed: give a file, e.g. sqlite:///optuna.db"
            )
        file = root / Path(url.database)  # an absolute path stays
        if not file.parent.is_dir():
            raise PipelineError(
                f"hydra.sweeper.storage: {masked(storage)}: the folder {file.parent} does not "
                "exist; create it or give a database file in a folder that does"
            )
        url = url.set(database=str(file))
    elif url.drivername == "postgresql" and not _importable("psycopg2"):
        url = url.set(drivername="postgresql+psycopg")  # the `server` extra's psycopg 3
    return url.render_as_string(hide_password=False)


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def masked(url: str | URL) -> str:
    """A URL to show: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return str(url)


def make_pruner(conf: Mapping[str, Any], max_epochs: int) -> optuna.pruners.BasePruner:
    """``hydra.sweeper.pruner``: ``name`` (median, hyperband, none) and that pruner's options
    under its name. Steps are epochs: Hyperband's ``max_resource`` is ``train.max_epochs``
    unless given."""
    name = str(conf.get("name"))
    if name not in PRUNERS:
        raise PipelineError(
            f"hydra.sweeper.pruner.name: unknown pruner {name!r} (one of {', '.join(PRUNERS)})"
        )
    options = dict(conf.get(name) or {})
    if name == "hyperband":
        options.setdefault("max_resource", max_epochs)
    cls = PRUNERS[name]
    known = set(inspect.signature(cls).parameters)
    if unknown := sorted(set(options) - known):
        raise PipelineError(
            f"hydra.sweeper.pruner.{name}: unknown option {', '.join(unknown)} (options: "
            f"{', '.join(sorted(known)) or 'none'})"
        )
    try:
        return cls(**options)
    except (TypeError, ValueError) as err:
        raise PipelineError(f"hydra.sweeper.pruner.{name}: {err}") from None


def direction(explicit: str | None, monitor: str) -> str:
    """``hydra.sweeper.direction``, else minimise ``val/loss`` and maximise any other metric."""
    if explicit is None:
        return "minimize" if monitor == "val/loss" else "maximize"
    if explicit not in ("minimize", "maximize"):
        raise PipelineError(
            f"hydra.sweeper.direction: {explicit!r}: minimize or maximize (or null: from "
            f"train.monitor, here {monitor})"
        )
    return explicit


@dataclass
class Study:
    """An Optuna study and its storage (whose public methods reach a trial by number)."""

    study: optuna.Study
    storage: optuna.storages.BaseStorage
    url: str

    @property
    def name(self) -> str:
        return self.study.study_name

    def trial_id(self, number: int) -> int:
        study_id = self.storage.get_study_id_from_name(self.name)
        return self.storage.get_trial_id_from_study_id_trial_number(study_id, number)

    def frozen(self, number: int) -> FrozenTrial:
        return self.storage.get_trial(self.trial_id(number))

    def set_user_attr(self, number: int, key: str, value: Any) -> None:
        self.storage.set_trial_user_attr(self.trial_id(number), key, value)

    def n_counted(self) -> int:
        """The trials that count towards ``n_trials``: finished (complete, pruned or failed but
        not interrupted) or running."""
        return sum(counts(t) for t in self.study.get_trials(deepcopy=False))

    def claim(self, trial: optuna.Trial) -> None:
        """Mark ``trial`` as this sweeper process's (for :meth:`recover`)."""
        trial.set_user_attr(HOST, socket.gethostname())
        trial.set_user_attr(PID, os.getpid())

    def interrupt(self, number: int) -> bool:
        """A RUNNING trial whose sweep was interrupted: FAIL, and its parameters enqueued
        again; whether it was still running."""
        trial = self.frozen(number)
        if trial.state != TrialState.RUNNING:
            return False
        self.set_user_attr(number, INTERRUPTED, True)
        self.study.tell(number, state=TrialState.FAIL, skip_if_finished=True)
        self.study.enqueue_trial(trial.params, user_attrs={RETRY_OF: number})
        log.warning(
            "optuna: trial %d interrupted: marked FAIL; its parameters run again first", number
        )
        return True

    def recover(self) -> list[int]:
        """Interrupt (:meth:`interrupt`) the RUNNING trials of sweepers that are gone from
        this machine; their numbers."""
        host = socket.gethostname()
        stale = [
            t.number
            for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.user_attrs.get(HOST) == host
            and isinstance(pid := t.user_attrs.get(PID), int)
            and (pid == os.getpid() or not alive(pid))
        ]
        return [n for n in stale if self.interrupt(n)]


def counts(trial: FrozenTrial) -> bool:
    """Whether ``trial`` counts towards ``n_trials`` (see :meth:`Study.n_counted`)."""
    if trial.state == TrialState.FAIL:
        return not trial.user_attrs.get(INTERRUPTED, False)
    return trial.state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING)


def storage(url: str) -> optuna.storages.RDBStorage:
    """The RDB storage at ``url`` (tables created on first use); SQLite waits up to a minute
    for a lock, as parallel jobs write to it."""
    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    try:
        return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
    except (SQLAlchemyError, RuntimeError, ValueError) as err:
        raise PipelineError(
            f"hydra.sweeper.storage: cannot open {masked(url)}: {_first(err)}"
        ) from None


def n_trials(rdb: optuna.storages.BaseStorage, name: str) -> int:
    """How many trials the study ``name`` holds (0 if there is no such study)."""
    try:
        study_id = rdb.get_study_id_from_name(name)
    except KeyError:
        return 0
    return len(rdb.get_all_trials(study_id, deepcopy=False))


def _first(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


def open_study(
    name: str,
    rdb: optuna.storages.RDBStorage,
    url: str,
    want: str,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> Study:
    """Create the study ``name`` in ``rdb`` (at ``url``), or load it to resume it (its direction
    must be ``want``)."""
    try:
        study = optuna.create_study(
            storage=rdb,
            study_name=name,
            direction=want,
            sampler=sampler,
            pruner=pruner,
            load_if_exists=True,
        )
    except SQLAlchemyError as err:
        raise PipelineError(f"hydra.sweeper.storage: {masked(url)}: {_first(err)}") from None
    if study.direction.name.lower() != want:
        raise PipelineError(
            f"optuna study {name!r} in {masked(url)} is to {study.direction.name.lower()}, but "
            f"this sweep would {want}: give another hydra.sweeper.study_name"
        )
    return Study(study, rdb, url)


def load_study(name: str, url: str, pruner: optuna.pruners.BasePruner) -> Study:
    """The study of a job's trial (it reports to it; it never samples)."""
    rdb = storage(url)
    study = optuna.load_study(
        study_name=name, storage=rdb, pruner=pruner, sampler=optuna.samplers.RandomSampler()
    )
    return Study(study, rdb, url)


def value_of(result: Any) -> float:
    """A job's return value as the trial's objective; NaN when it has none."""
    try:
        value = float(result)
    except (TypeError, ValueError):
        return math.nan
    return value
