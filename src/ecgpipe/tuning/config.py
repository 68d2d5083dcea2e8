"""The Optuna sweeper's settings, ``hydra.sweeper.*``: a structured config Hydra checks (an
unknown key is refused) and ``conf/hparams_search/optuna.yaml`` sets.

Kept free of Optuna imports: Hydra imports the plugin that registers it on every start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TARGET = "hydra_plugins.ecgpipe_optuna_sweeper.optuna_sweeper.OptunaSweeper"


def _sampler() -> dict[str, Any]:
    return {"_target_": "optuna.samplers.TPESampler", "seed": 42}


def _pruner() -> dict[str, Any]:
    return {
        "name": "median",
        "median": {"n_startup_trials": 4, "n_warmup_steps": 1},
        "hyperband": {"min_resource": 1, "reduction_factor": 3},
    }


@dataclass
class OptunaSweeperConf:
    """``hydra/sweeper=ecgpipe_optuna``.

    - ``study_name``, ``storage``: the study, in a database (``sqlite:///optuna.db``: in the
      project root; or a URL such as ``postgresql+psycopg://USER@HOST/optuna``); rerunning the
      same command resumes it.
    - ``direction``: ``minimize`` or ``maximize``; null: minimise ``val/loss``, else maximise
      the monitored metric (``train.monitor``).
    - ``n_trials``: of the whole study (a resumed study runs the rest); ``n_jobs``: trials asked
      at once, run in parallel by a parallel launcher.
    - ``sampler``: instantiated (``_target_``); ``pruner.name``: ``median``, ``hyperband`` or
      ``none``, with the options of that pruner under ``pruner.<name>``.
    - ``params``: the search space in Hydra's sweep syntax (``tag(log, interval(1e-4, 1e-2))``,
      ``choice(a, b)``, ``range(1, 5)``).
    """

    _target_: str = TARGET
    _recursive_: bool = False  # the sweeper instantiates the sampler (its seed, on resuming)
    study_name: str = "ecgpipe"
    storage: str | None = "sqlite:///optuna.db"
    direction: str | None = None
    n_trials: int = 20
    n_jobs: int = 1
    sampler: dict[str, Any] = field(default_factory=_sampler)
    pruner: dict[str, Any] = field(default_factory=_pruner)
    params: dict[str, Any] | None = None


TRIAL_KEY = "optuna_trial"
"""The override that hands a sweep job its trial (:mod:`ecgpipe.tuning.trial`); masked out of
the ecgpipe configuration and of the run's name."""
