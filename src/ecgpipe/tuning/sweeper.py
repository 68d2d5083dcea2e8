"""The Optuna search as a Hydra sweeper: ask the study for ``n_jobs`` trials, have Hydra's
launcher run them (each job trains one configuration and reports to its trial, see
:mod:`~ecgpipe.tuning.trial`), tell the study how each ended, until the study holds
``n_trials`` trials; then write ``optimization_results.yaml`` into the sweep directory.

A trial ends COMPLETE with the job's value, PRUNED when its job recorded the epoch the pruner
stopped it at, FAIL when the job failed (a NaN value). Interrupted (Ctrl-C), the sweep marks
its running trials FAIL and enqueues their parameters again (see :mod:`~ecgpipe.tuning.study`).
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from ecgpipe.config.parse import parse_config
from ecgpipe.config.schema import Config
from ecgpipe.core.errors import PipelineError
from ecgpipe.tuning import space as spaces
from ecgpipe.tuning import study as studies
from ecgpipe.tuning.trial import TrialLink

log = logging.getLogger("ecgpipe")
RESULTS = "optimization_results.yaml"


class OptunaSearch:
    """The sweeper's work (the Hydra plugin class delegates here); settings as in
    :class:`~ecgpipe.tuning.config.OptunaSweeperConf`."""

    def __init__(
        self,
        *,
        study_name: str,
        storage: str | None,
        direction: str | None,
        n_trials: int,
        n_jobs: int,
        sampler: Any,
        pruner: Any,
        params: Any,
    ) -> None:
        self.settings = {
            "study_name": study_name,
            "storage": storage,
            "direction": direction,
            "n_trials": n_trials,
            "n_jobs": n_jobs,
        }
        self.sampler_conf, self.pruner_conf, self.params = sampler, pruner, params
        self.study: studies.Study | None = None
        self.job_idx = 0

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        """Check the settings and open the study (a configuration error: one line, exit 1)."""
        try:
            self._setup(config)
        except PipelineError as err:
            log.error("ecgpipe-sweep: error: %s", err)
            sys.exit(1)
        self.launcher = Plugins.instance().instantiate_launcher(
            config=config, hydra_context=hydra_context, task_function=task_function
        )

    def _setup(self, config: DictConfig) -> None:
        s = self.settings
        for key in ("n_trials", "n_jobs"):
            if s[key] < 1:
                raise PipelineError(f"hydra.sweeper.{key}: {s[key]}, should be 1 or more")
        self.config = config
        cfg = _ecgpipe_config(config)
        self.root = Path(config.hydra.runtime.cwd)
        self.url = studies.storage_url(s["storage"], self.root)
        pruner = studies.make_pruner(_plain(self.pruner_conf), cfg.train.max_epochs)
        want = studies.direction(s["direction"], cfg.monitor)
        self.space = spaces.parse(_plain(self.params), [])  # checked now; the CLI's added later
        rdb = studies.storage(self.url)
        sampler = self._sampler(studies.n_trials(rdb, s["study_name"]))
        self.study = studies.open_study(s["study_name"], rdb, self.url, want, sampler, pruner)
        log.info(
            "optuna: study %s in %s (%s %s; %s, pruner %s)",
            s["study_name"],
            studies.masked(self.url),
            want,
            cfg.monitor,
            type(sampler).__name__,
            type(pruner).__name__,
        )

    def _sampler(self, n_before: int) -> optuna.samplers.BaseSampler:
        """``hydra.sweeper.sampler``; resuming a study of ``n_before`` trials, its seed is moved
        on by as many, lest it draw the first sweep's configurations again."""
        conf = _plain(self.sampler_conf)
        if isinstance(conf, optuna.samplers.BaseSampler):  # instantiated by Hydra already
            return conf
        if not conf:
            return optuna.samplers.TPESampler()
        if n_before and isinstance(conf.get("seed"), int):
            conf["seed"] += n_before
        try:
            sampler = instantiate(conf)
        except HydraException as err:
            raise PipelineError(f"hydra.sweeper.sampler: {str(err).splitlines()[0]}") from None
        if not isinstance(sampler, optuna.samplers.BaseSampler):
            raise PipelineError(f"hydra.sweeper.sampler: {conf.get('_target_')} is no sampler")
        return sampler

    def sweep(self, arguments: list[str]) -> None:
        assert self.study is not None
        try:
            space = spaces.parse(_plain(self.params), arguments)
        except PipelineError as err:
            log.error("ecgpipe-sweep: error: %s", err)
            sys.exit(1)
        study, n_trials = self.study, self.settings["n_trials"]
        if recovered := study.recover():
            log.info("optuna: resumed; trials %s were interrupted", recovered)
        done = study.n_counted()
        # job directories go on from the study's trials: a resumed sweep into the same
        # directory overwrites none
        self.job_idx = len(study.study.get_trials(deepcopy=False))
        if done:
            log.info("optuna: study %s already holds %d of %d trials", study.name, done, n_trials)
        while (todo := n_trials - study.n_counted()) > 0:
            batch: list[optuna.Trial] = []
            try:
                for _ in range(min(todo, self.n_jobs)):
                    batch.append(study.study.ask(space.distributions))
                    study.claim(batch[-1])
                returns = self._launch(space, batch)
            except BaseException:  # Ctrl-C (Lightning turns it into SystemExit), a crash
                for trial in batch:
                    study.interrupt(trial.number)
                raise
            for trial, ret in zip(batch, returns, strict=True):
                self._tell(trial, ret)
        self._results()

    @property
    def n_jobs(self) -> int:
        return self.settings["n_jobs"]

    def _launch(self, space: spaces.SearchSpace, batch: Sequence[optuna.Trial]) -> list[JobReturn]:
        assert self.study is not None
        overrides = [
            (
                *space.overrides(trial.params),
                TrialLink(self.study.name, self.url, trial.number).override(),
            )
            for trial in batch
        ]
        returns = list(self.launcher.launch(overrides, initial_job_idx=self.job_idx))
        self.job_idx += len(returns)
        return returns

    def _tell(self, trial: optuna.Trial, ret: JobReturn) -> None:
        assert self.study is not None
        value = math.nan
        if ret.status == JobStatus.COMPLETED:
            value = studies.value_of(ret.return_value)
        else:
            log.error("optuna: trial %d failed: %s", trial.number, ret._return_value)
        pruned_at = self.study.frozen(trial.number).user_attrs.get(studies.PRUNED_AT)
        if pruned_at is not None:
            self.study.study.tell(trial, state=TrialState.PRUNED)
        elif math.isfinite(value):
            self.study.study.tell(trial, value)
        else:
            self.study.study.tell(trial, state=TrialState.FAIL)

    def _results(self) -> None:
        """``optimization_results.yaml``: the study's best trial (of all its sweeps), and counts."""
        assert self.study is not None
        trials = self.study.study.get_trials(deepcopy=False)
        states = {s.name.lower(): sum(t.state == s for t in trials) for s in TrialState}
        results: dict[str, Any] = {
            "name": "optuna",
            "study": self.study.name,
            "n_trials": {k: v for k, v in states.items() if v},
        }
        try:
            best = self.study.study.best_trial
        except ValueError:  # no trial completed
            log.warning("optuna: no trial of study %s completed", self.study.name)
        else:
            results |= {"best_trial": best.number, "best_params": best.params}
            results["best_value"] = best.value
            log.info("optuna: best trial %d, value %.4f: %s", best.number, best.value, best.params)
        sweep_dir = Path(self.config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        OmegaConf.save(OmegaConf.create(results), sweep_dir / RESULTS)


def _ecgpipe_config(config: DictConfig) -> Config:
    """The sweep's ecgpipe configuration (its monitored metric, its epochs), validated."""
    keys = {f.alias or name for name, f in Config.model_fields.items()}
    ours = OmegaConf.masked_copy(config, [k for k in config if k in keys])
    return parse_config(OmegaConf.to_container(ours, resolve=True), origin="sweep configuration")


def _plain(node: Any) -> Any:
    """A config node as plain containers (resolved); plain values as they are."""
    if isinstance(node, DictConfig):
        return OmegaConf.to_container(node, resolve=True)
    return node
