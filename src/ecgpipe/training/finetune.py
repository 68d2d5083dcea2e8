"""Fine-tuning: a training that starts from another trained network (``train.init_from``).

The source is a checkpoint file, a run's model (``runs:/ID/model``) or a registered one
(``models:/NAME@ALIAS``). Its weights go into the new network where the two agree: the same model
of the zoo, the same leads, the same sampling rate (each checked, with a clear error). Leads in
another order are mapped by name (:func:`ecgpipe.core.contract.check`, as ``predict`` maps a
record's): the network reads the data's leads in the order its weights were trained on
(:mod:`ecgpipe.models.lead_order`), and its contract keeps the data's order. With the same
classes the whole network is kept; with others the head (every parameter under a ``head``
module) starts afresh and the rest is kept. ``train.freeze_epochs`` keeps all but the head
frozen for the first epochs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytorch_lightning as pl
import torch

from ecgpipe.core import contract
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import ModelDir, Origin, read_json
from ecgpipe.models import lead_order

if TYPE_CHECKING:
    from ecgpipe.training.classifier import ECGClassifier
    from ecgpipe.training.datamodule import ECGDataModule

log = logging.getLogger("ecgpipe")

HEAD = "head"
"""The name of the module every model of the zoo classifies with (see ``models.heads``)."""


class FineTuneError(PipelineError):
    """The starting model cannot start this training."""


@dataclass(frozen=True)
class Source:
    """A trained network to start from, and what it was trained for."""

    ref: str
    model: str
    n_leads: int
    leads: tuple[str, ...] | None
    """Lead names in the order its weights read them, where the source records them (a logged
    model does, and so does a checkpoint saved since lead names were; an older one only knows
    how many)."""
    fs: float
    classes: tuple[str, ...]
    state: dict[str, torch.Tensor]
    run_id: str | None

    @property
    def reads(self) -> contract.Reads:
        return contract.Reads(self.n_leads, self.leads, self.fs, self.classes)


GIVEN = Origin(
    hint="give a checkpoint `ecgpipe train` wrote (models/best.ckpt), runs:/ID/model or "
    "models:/NAME@ALIAS",
    key="train.init_from",
)
"""A file the user named in ``train.init_from``: damaged, another one is needed."""


def from_checkpoint(ref: str, root: Path) -> Source:
    """The network of the checkpoint ``ref`` names (a ``.ckpt`` file or a project's ``models/``
    folder, absolute or from ``root``); its run from the ``run.json`` beside it, if any."""
    path = Path(ref) if Path(ref).is_absolute() else root / ref
    if path.is_dir() and ModelDir(path).checkpoint.is_file():
        path = ModelDir(path).checkpoint
    if not path.is_file():
        raise FineTuneError(
            f"train.init_from={ref}: no such checkpoint; give a .ckpt file, runs:/ID/model or "
            "models:/NAME@ALIAS"
        )
    from ecgpipe.training.classifier import load_checkpoint

    module = load_checkpoint(path, GIVEN)
    network, run_file = module.network, ModelDir(path.parent).run
    leads = network.leads
    if leads is not None:
        leads = lead_order.weights_leads(module.net, leads)
    run_id = None
    if run_file.is_file():
        run_id = read_json(run_file, ("run_id",), GIVEN, {"run_id": str})["run_id"]
    return Source(
        ref=ref,
        model=network.model,
        n_leads=network.n_leads,
        leads=leads,
        fs=float(network.fs),
        classes=tuple(module.labels.classes),
        state=module.net.state_dict(),
        run_id=run_id,
    )


def is_mlflow_uri(ref: str) -> bool:
    """Whether ``ref`` names a logged model (``runs:/...``, ``models:/...``, a URI)."""
    return ref.startswith(("runs:", "models:")) or "://" in ref


def is_head(key: str) -> bool:
    """Whether a parameter (or buffer) belongs to a classification head."""
    return HEAD in key.split(".")


def start_from(
    source: Source,
    net: torch.nn.Module,
    model: str,
    leads: tuple[str, ...],
    fs: float,
    classes: tuple[str, ...],
) -> tuple[bool, tuple[int, ...] | None]:
    """Load ``source``'s weights into ``net`` (a ``model`` for ``leads`` at ``fs`` Hz, scoring
    ``classes``); returns whether the head was kept (the same classes) or starts afresh, and
    the order the network must read ``leads`` in (:func:`ecgpipe.core.contract.check`: the same
    leads by name, the same rate; a source that does not name its leads is taken to read them in
    the data's order)."""
    where = f"train.init_from={source.ref}"
    if source.model != model:
        raise FineTuneError(f"{where} is a {source.model}; this training's model is {model}")
    try:
        order = contract.check(source.reads, contract.Reads.of(leads, fs), where)
    except contract.ContractError as err:
        raise FineTuneError(str(err)) from None
    keep_head = source.classes == classes
    wanted = net.state_dict()
    state = {k: v for k, v in source.state.items() if keep_head or not is_head(k)}
    if odd := [k for k in wanted if not is_head(k) and k not in state]:
        raise FineTuneError(f"{where} lacks {len(odd)} weights of this network, e.g. {odd[0]}")
    if odd := [k for k, v in state.items() if k not in wanted or wanted[k].shape != v.shape]:
        raise FineTuneError(
            f"{where} has weights this network does not (or of another shape), e.g. {odd[0]}: "
            "were the model's options changed?"
        )
    net.load_state_dict(state, strict=keep_head)
    return keep_head, order


def start(source: Source, module: ECGClassifier, model: str, dm: ECGDataModule) -> None:
    """:func:`start_from` for the classifier of a training on ``dm``'s data, said in the log; a
    source trained on the data's leads in another order reads them in its own."""
    data = dm.reads()
    kept, order = start_from(source, module.net, model, data.leads, data.fs, data.classes)
    module.read_leads(order)
    log.info(
        "train: starting from %s (%s; %s%s)",
        source.ref,
        source.model,
        "its head kept" if kept else f"a new head for {', '.join(dm.cache.classes)}",
        f"; the data's leads read in its order, {', '.join(source.leads or ())}" if order else "",
    )


class FreezeBackbone(pl.Callback):
    """All but the head frozen for the first ``epochs`` epochs, then everything trains."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        frozen = trainer.current_epoch < self.epochs
        for name, parameter in pl_module.named_parameters():
            parameter.requires_grad_(is_head(name) or not frozen)
