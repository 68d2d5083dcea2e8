"""Picking up an interrupted training (``train.resume=true``).

While ``train`` runs, ``checkpoints/`` holds ``last.ckpt`` (every epoch: weights, optimiser,
schedule, early-stopping and best-checkpoint state, and the random generators), ``best.ckpt``,
and ``run.json``: the MLflow run and the configuration it trains. A killed training leaves them
behind; resumed, it goes on from the last epoch into the same run, with the same weights as an
uninterrupted one wherever it was killed, bit for bit where the training is (one CPU thread; see
docs/stages.md). A finished training removes them.
"""

from __future__ import annotations

import logging
import random
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from ecgpipe.core import atomic, contract
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import Origin, read_json
from ecgpipe.training.classifier import CHECKPOINT, read_checkpoint

log = logging.getLogger("ecgpipe")

LAST = "last.ckpt"
RUN = "run.json"
IGNORED = ("resume",)
"""Settings of ``train`` a resumed training may change."""


INTERRUPTED = Origin(hint="set train.resume=false to start afresh")
"""An interrupted training's files: damaged, they cannot be resumed from."""


class ResumeError(PipelineError):
    """The interrupted training cannot be resumed as asked."""


@dataclass(frozen=True)
class Interrupted:
    """A training that stopped before its end: its last checkpoint and MLflow run."""

    checkpoint: Path
    run_id: str
    epoch: int
    lead_order: tuple[int, ...] | None = None
    """The order its network reads the data's leads in (a fine-tuning's, see
    :meth:`ecgpipe.training.classifier.ECGClassifier.read_leads`)."""
    reads: contract.Reads | None = None
    """The data it was training on (None in a checkpoint that does not say)."""

    def check(self, data: contract.Reads) -> None:
        """Refuse to go on with data that is not what the interrupted training read (the same
        leads in the same order, rate and classes: the same configuration can still find other
        data), in one line."""
        if self.reads is None:
            return
        try:
            order = contract.check(self.reads, data, str(self.checkpoint), same_classes=True)
        except contract.ContractError as err:
            raise ResumeError(f"{err}; {INTERRUPTED.hint}") from None
        if order is not None:
            raise ResumeError(
                f"{self.checkpoint} was trained on {self.reads.describe_leads()}; this data has "
                f"them in another order ({data.describe_leads()}); {INTERRUPTED.hint}"
            )


def _trained(config: dict[str, Any]) -> dict[str, Any]:
    """What the checkpoints depend on: the configuration less the settings in ``IGNORED``."""
    train = config.get("train")
    if not isinstance(train, dict):
        return config
    return {**config, "train": {k: v for k, v in train.items() if k not in IGNORED}}


def find(
    where: Path, config: dict[str, Any], resume: bool, sweep_job: bool = False
) -> Interrupted | None:
    """The interrupted training in ``where`` to resume (``resume``), or none; without
    ``resume`` any left there is removed, since this training starts afresh. A sweep job
    (``sweep_job``, given its run) cannot resume."""
    if resume and sweep_job:
        raise ResumeError(
            "train.resume continues a training of `ecgpipe train` (or `dvc repro`), not a "
            "sweep job: a sweep starts its jobs afresh"
        )
    last, run = where / LAST, where / RUN
    if not resume:
        if where.exists():
            log.info("train: %s holds an interrupted training; starting afresh", where)
            shutil.rmtree(where)
        return None
    if not (last.is_file() and run.is_file()):
        log.info("train: train.resume=true, but no interrupted training in %s; starting", where)
        return None
    saved = read_json(run, ("run_id", "config"), INTERRUPTED, {"run_id": str, "config": dict})
    checkpoint = read_checkpoint(last, INTERRUPTED, ("epoch", "state_dict"))
    if isinstance(checkpoint["epoch"], bool) or not isinstance(checkpoint["epoch"], int):
        raise INTERRUPTED.error(last, CHECKPOINT)
    if _trained(saved["config"]) != _trained(config):
        raise ResumeError(
            f"{where}: the interrupted training had another configuration"
            f"{_differences(saved['config'], config)}; resume it with that one, or set "
            "train.resume=false to start afresh"
        )
    epoch, reads, order = checkpoint["epoch"], *_network(checkpoint, last)
    log.info(
        "train: resuming after epoch %d from %s into MLflow run %s", epoch, last, saved["run_id"]
    )
    return Interrupted(last, saved["run_id"], epoch, order, reads)


def _network(
    checkpoint: dict[str, Any], path: Path
) -> tuple[contract.Reads | None, tuple[int, ...] | None]:
    """What the checkpoint's network reads, and in which order (see :attr:`Interrupted`)."""
    hparams = checkpoint.get("hyper_parameters") or {}
    network, labels = hparams.get("network"), hparams.get("labels")
    if not isinstance(network, dict):
        return None, None
    try:
        order = network.get("lead_order")
        reads = contract.Reads.of(
            network.get("leads"),
            network["fs"],
            labels.get("classes") if isinstance(labels, dict) else None,
            n_leads=network["n_leads"],
        )
        return reads, None if order is None else tuple(int(i) for i in order)
    except (KeyError, TypeError, ValueError):
        raise INTERRUPTED.error(path, CHECKPOINT) from None


def _differences(before: dict[str, Any], now: dict[str, Any], prefix: str = "") -> str:
    """``: a.b 1 -> 2, ...`` for the settings that differ (``IGNORED`` left out)."""
    out = []
    for key in sorted(before.keys() | now.keys()):
        a, b = before.get(key), now.get(key)
        name = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict):
            inner = _differences(a, b, f"{name}.")
            out += [inner.removeprefix(": ")] if inner else []
        elif a != b and not (prefix == "train." and key in IGNORED):
            out.append(f"{name} {a!r} -> {b!r}")
    return f": {', '.join(out)}" if out else ""


def record(where: Path, run_id: str, config: dict[str, Any]) -> None:
    """Note the run and configuration the checkpoints in ``where`` belong to."""
    atomic.write_json(where / RUN, {"run_id": run_id, "config": config})


def finished(where: Path) -> None:
    """The training ended: its checkpoints are no longer needed."""
    shutil.rmtree(where, ignore_errors=True)


class RandomState(pl.Callback):
    """Saves the random generators with each checkpoint and restores them as the checkpoint is
    loaded, so a resumed training draws the crops and shuffles it would have drawn (the project
    draws from torch's generator; NumPy generators are seeded from it). Exact where nothing
    draws between loading and the first batch: the resumed trainer skips its sanity check."""

    def state_dict(self) -> dict[str, Any]:
        state = {"torch": torch.get_rng_state(), "python": random.getstate()}
        if torch.cuda.is_available():
            state["cuda"] = torch.cuda.get_rng_state_all()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        torch.set_rng_state(state_dict["torch"])
        random.setstate(state_dict["python"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])
