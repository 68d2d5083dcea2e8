"""A sweep job's side of an Optuna trial.

The sweeper hands each job its trial as one override, ``+optuna_trial={study: ..., storage:
..., number: ...}`` (not part of the ecgpipe configuration, nor of the run's name); a job in any
process (joblib, SLURM) opens the study from that storage. :class:`TrialPruning` reports the
monitored validation value to the trial after every validation epoch (step = epochs trained so
far) and, when the pruner says so, stops the training and records the epoch
(``ecgpipe.pruned_at_epoch``), which tells the sweeper to record the trial PRUNED.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.utilities import rank_zero_only

from ecgpipe.tuning import study as studies
from ecgpipe.tuning.config import TRIAL_KEY as KEY

log = logging.getLogger("ecgpipe")

TAG_TRIAL, TAG_STUDY, TAG_STATE, TAG_PRUNED_AT = (
    "optuna.trial",
    "optuna.study",
    "optuna.state",
    "optuna.pruned_at_epoch",
)


@dataclass(frozen=True)
class TrialLink:
    """Which trial of which study (in which storage) a job runs."""

    study: str
    storage: str
    number: int

    def override(self) -> str:
        """The job's override (Hydra's grammar; the quoted strings escaped)."""
        fields = f"study:{_quote(self.study)},storage:{_quote(self.storage)},number:{self.number}"
        return f"+{KEY}={{{fields}}}"

    @classmethod
    def of(cls, cfg: DictConfig) -> TrialLink | None:
        """The trial of a job's configuration; None outside an Optuna search."""
        node = cfg.get(KEY)
        if node is None:
            return None
        d = OmegaConf.to_container(node, resolve=True)
        return cls(str(d["study"]), str(d["storage"]), int(d["number"]))

    def tags(self) -> dict[str, str]:
        """The MLflow tags of the trial's run while it runs."""
        return {TAG_TRIAL: str(self.number), TAG_STUDY: self.study, TAG_STATE: "RUNNING"}

    def pruning(self, pruner: Any, monitor: str, max_epochs: int, run_id: str) -> TrialPruning:
        """The Lightning callback that reports to this trial (``pruner``: the sweeper's
        ``hydra.sweeper.pruner``); the trial records its MLflow run ``run_id``."""
        conf = OmegaConf.to_container(pruner, resolve=True) if pruner is not None else {}
        study = studies.load_study(
            self.study, self.storage, studies.make_pruner(conf or {"name": "none"}, max_epochs)
        )
        study.set_user_attr(self.number, studies.MLFLOW_RUN, run_id)
        return TrialPruning(study, self.number, monitor)

    def state_tags(self, value: float, pruning: TrialPruning | None = None) -> dict[str, str]:
        """The MLflow tags of the trial's finished run: the state the sweeper tells the study
        (PRUNED, with the epoch; COMPLETE; FAIL for a NaN value)."""
        if pruning is not None and pruning.pruned_at is not None:
            return {TAG_STATE: "PRUNED", TAG_PRUNED_AT: str(pruning.pruned_at)}
        return {TAG_STATE: "COMPLETE" if math.isfinite(value) else "FAIL"}


def _quote(text: str) -> str:
    """``text`` as a quoted string of Hydra's grammar: backslashes doubled where they precede a
    quote or the end, quotes escaped."""
    escaped = re.sub(r"(\\*)('|$)", lambda m: m[1] * 2 + ("\\'" if m[2] else ""), text)
    return f"'{escaped}'"


class TrialPruning(pl.Callback):
    """Reports ``monitor`` to the trial after each validation epoch; stops a pruned trial."""

    def __init__(self, study: studies.Study, number: int, monitor: str) -> None:
        self.study = study
        self.monitor = monitor
        self.number = number
        self.trial = studies.optuna.trial.Trial(study.study, study.trial_id(number))
        self.pruned_at: int | None = None
        self.ended = False  # the trial ended elsewhere (its sweep interrupted): report no more

    @rank_zero_only
    def on_validation_end(self, trainer: pl.Trainer, _: pl.LightningModule) -> None:
        if trainer.sanity_checking or self.ended or self.pruned_at is not None:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None or not math.isfinite(value := float(value)):
            return  # a diverging training stops on its own, and fails
        epoch = trainer.current_epoch + 1  # epochs trained so far: the trial's step
        try:
            self.trial.report(value, epoch)
            prune = self.trial.should_prune()
        except RuntimeError as err:  # the trial was ended meanwhile (its sweep interrupted)
            log.warning("optuna: trial %d: %s; no more reports", self.number, err)
            self.ended = True
            return
        if prune:
            self.pruned_at = epoch
            self.study.set_user_attr(self.number, studies.PRUNED_AT, epoch)
            trainer.should_stop = True
            log.info(
                "optuna: trial %d pruned after epoch %d (%s %.4f)",
                self.number,
                epoch,
                self.monitor,
                value,
            )
