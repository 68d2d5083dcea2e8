"""``hydra/sweeper=ecgpipe_optuna``: :class:`OptunaSweeper`, which delegates to
:class:`ecgpipe.tuning.sweeper.OptunaSearch`, and its structured config.

Hydra imports this module on every start to look for plugins: it imports no Optuna itself.
"""

from __future__ import annotations

from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from ecgpipe.tuning.config import OptunaSweeperConf

ConfigStore.instance().store(
    group="hydra/sweeper", name="ecgpipe_optuna", node=OptunaSweeperConf, provider="ecgpipe"
)


class OptunaSweeper(Sweeper):
    """An Optuna search (ask/tell) over a study in a database, with pruning."""

    def __init__(self, **settings: Any) -> None:
        from ecgpipe.tuning.sweeper import OptunaSearch

        self.search = OptunaSearch(**settings)

    def setup(
        self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig
    ) -> None:
        self.search.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def sweep(self, arguments: list[str]) -> Any:
        return self.search.sweep(arguments)
