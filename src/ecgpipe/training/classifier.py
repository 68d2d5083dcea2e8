"""The LightningModule: a network from the zoo, its loss, AdamW with a one-cycle schedule, and
per-epoch validation metrics on window-aggregated record scores.

Device- and rank-correct: validation scores are gathered from every process by a torchmetrics
state (:class:`RecordScores`), once per record, before any metric is computed, so AUROC and the
tuned-threshold metrics over DDP ranks equal those of one process; scoring goes through
``Trainer.predict`` (:func:`predict`), on whatever device the trainer is given.
"""

from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytorch_lightning as pl
import torch
from torchmetrics import MeanMetric, Metric
from torchmetrics.utilities import dim_zero_cat

from ecgpipe import models
from ecgpipe.config.schema import Config
from ecgpipe.core.errors import TrainingDiverged
from ecgpipe.core.paths import STAGE, Origin
from ecgpipe.evaluation import metrics
from ecgpipe.models import lead_order
from ecgpipe.training import losses

if TYPE_CHECKING:
    from ecgpipe.training.datamodule import ECGDataModule

INPUT_KEYS = ("signal", "spectrogram", "features")
ARGUMENTS = {
    "signal": ("signal",),
    "spectrogram": ("spectrogram",),
    "both": ("signal", "spectrogram"),
    "signal_features": ("signal", "features"),
}
"""What the network of each input kind is called with, in order."""


@dataclass(frozen=True)
class Network:
    """The network: a model of the zoo by name with its options, sized for the data."""

    model: str
    options: dict[str, Any]
    n_leads: int
    n_classes: int
    fs: float
    members: int
    """A deep ensemble of that many networks, each trained on its own loss, their probabilities
    averaged."""
    n_features: int
    """Per-row features beside the signal (a beat's RR features); 0: none."""
    leads: tuple[str, ...] | None = None
    """The input's leads, in order (None in checkpoints saved before they were recorded)."""
    lead_order: tuple[int, ...] | None = None
    """The order the weights read the input's leads in, where a fine-tuning started from a
    network trained on them in another order (see :mod:`ecgpipe.models.lead_order`); None: the
    input's."""


@dataclass(frozen=True)
class Objective:
    """The loss and the training class balance it weighs against (see
    :func:`ecgpipe.training.losses.build`)."""

    loss: str
    class_counts: tuple[int, ...]
    n_train: int
    class_weight: str
    focal_gamma: float


@dataclass(frozen=True)
class Optimiser:
    """AdamW with a one-cycle schedule peaking at ``lr``."""

    lr: float
    weight_decay: float


@dataclass(frozen=True)
class Labels:
    """What the outputs mean: the classes, multilabel or single-label, how window scores make a
    record's (``aggregate``), and how single-label records are decided."""

    classes: tuple[str, ...]
    multilabel: bool
    aggregate: str
    dataset: str
    decision_factors: tuple[float, ...] | None
    """Single-label data is predicted as the argmax of the probabilities times these (see
    :func:`ecgpipe.evaluation.metrics.prior_correction`); none: 1."""


GROUPS = {"network": Network, "objective": Objective, "optimiser": Optimiser, "labels": Labels}
"""The classifier's arguments, each group a frozen dataclass (a plain dict in a checkpoint)."""


def _group(cls: type, value: Any) -> Any:
    """``value`` as a ``cls``: itself, or built from the dict a checkpoint holds."""
    if isinstance(value, cls):
        return value
    names = {f.name for f in fields(cls)}
    return cls(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in value.items() if k in names}
    )


class ECGClassifier(pl.LightningModule):
    """A network of the zoo with its loss, optimiser and labels: trains on window batches,
    scores records by aggregating their windows."""

    def __init__(
        self,
        network: Network | dict,
        objective: Objective | dict,
        optimiser: Optimiser | dict,
        labels: Labels | dict,
    ):
        super().__init__()
        self.network = _group(Network, network)
        self.objective = _group(Objective, objective)
        self.optimiser = _group(Optimiser, optimiser)
        self.labels = _group(Labels, labels)
        self.save_hyperparameters(
            {name: dataclasses.asdict(getattr(self, name)) for name in GROUPS}
        )
        n, o = self.network, self.objective
        self.net = models.build(
            n.model, n.n_leads, n.n_classes, n.fs, n.members, n.n_features, **n.options
        )
        lead_order.reorder(self.net, n.lead_order)
        self.kind = models.INPUTS[n.model]
        self.loss = losses.build(
            o.loss,
            self.labels.multilabel,
            torch.tensor(o.class_counts),
            o.n_train,
            o.class_weight,
            o.focal_gamma,
        )
        self.val_scores = RecordScores()
        self.train_loss = MeanMetric()
        """The epoch's training loss so far, logged with the validation metrics (see
        :meth:`on_validation_epoch_end`)."""

    def read_leads(self, order: tuple[int, ...] | None) -> None:
        """The network reads the input's lead ``order[j]`` as its lead ``j`` (a fine-tuning's
        mapping by name), and its checkpoints say so."""
        self.network = dataclasses.replace(self.network, lead_order=order)
        self.hparams["network"] = dataclasses.asdict(self.network)
        lead_order.reorder(self.net, order)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """(members, B, classes) logits."""
        return models.member_logits(self.net, *(batch[k] for k in ARGUMENTS[self.kind]))

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """(members, ..., classes) logits -> the members' mean probabilities (..., classes)."""
        each = torch.sigmoid(logits) if self.labels.multilabel else torch.softmax(logits, -1)
        return each.mean(dim=0)

    def member_loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The mean over members of each member's loss: they learn independently."""
        return torch.stack([self.loss(member, target) for member in logits]).mean()

    def _target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        t = batch["target"]
        return t.float() if self.labels.multilabel else t.long()

    def training_step(self, batch: dict[str, torch.Tensor], _: int) -> torch.Tensor:
        loss = self.member_loss(self(batch), self._target(batch))
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"training diverged: loss {loss.item()} at epoch {self.current_epoch}, step "
                f"{self.global_step} (lr {self.optimiser.lr:g}); lower train.lr"
            )
        self.train_loss.update(loss.detach(), len(batch["target"]))
        return loss

    def on_train_epoch_start(self) -> None:
        self.train_loss.reset()

    def record_scores(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Records' windows (see :func:`ecgpipe.training.datamodule.collate_windows`) -> per-record
        aggregated probabilities (B, C) and each member's mean window logits (members, B, C)."""
        counts = batch["n_windows"]
        logits = self({k: v for k, v in batch.items() if k in INPUT_KEYS})
        probs = self.probabilities(logits)
        record = torch.repeat_interleave(torch.arange(len(counts), device=counts.device), counts)
        k, b, c = logits.shape[0], len(counts), logits.shape[-1]
        if self.labels.aggregate == "max":
            at = record[:, None].expand(-1, c)
            agg = probs.new_zeros(b, c).scatter_reduce(0, at, probs, "amax", include_self=False)
        else:
            agg = probs.new_zeros(b, c).index_add(0, record, probs) / counts[:, None]
        mean_logits = logits.new_zeros(k, b, c).index_add(1, record, logits) / counts[:, None]
        return agg, mean_logits

    def validation_step(self, batch: dict[str, torch.Tensor], _: int) -> None:
        probs, logits = self.record_scores(batch)
        self.log(
            "val/loss",
            self.member_loss(logits, self._target(batch)),
            on_epoch=True,
            batch_size=len(batch["target"]),
            sync_dist=True,
        )
        self.val_scores.update(batch["index"], probs.detach().float(), batch["target"])

    def on_validation_epoch_end(self) -> None:
        """The epoch's metrics, its training loss among them: logged here, at its validation's
        end, they are in the store before the epoch's checkpoint is written (Lightning logs
        ``on_epoch`` training metrics after it), so a training killed after the checkpoint and
        resumed from it has every epoch's curve."""
        if not self.trainer.sanity_checking and self.train_loss.update_called:
            self.log("train/loss", self.train_loss.compute(), prog_bar=True)  # synced by compute
        if not self.val_scores.update_called:
            return
        y, p = self.val_scores.compute()
        self.val_scores.reset()
        if not np.isfinite(p).all():
            raise TrainingDiverged(
                f"training diverged: non-finite validation outputs at epoch {self.current_epoch} "
                f"(lr {self.optimiser.lr:g}); lower train.lr"
            )
        h, classes = self.labels, list(self.labels.classes)
        if h.multilabel:
            values = epoch_metrics(metrics.indicator(y, p.shape[1]), p, classes)
        else:
            factors = None if h.decision_factors is None else np.asarray(h.decision_factors)
            values = epoch_metrics_multiclass(y, p, classes, factors, h.dataset)
        for name, value in values.items():  # the same on every rank: their mean is the value
            self.log(
                metrics.metric_name(name), value, prog_bar=name == "val/macro_auroc", sync_dist=True
            )

    def predict_step(self, batch: dict[str, torch.Tensor], _: int) -> dict[str, torch.Tensor]:
        """Records' windows -> their aggregated probabilities, targets and dataset indices."""
        probs, _ = self.record_scores(batch)
        return {
            "probs": probs.float().cpu(),
            "target": batch["target"].cpu(),
            "index": batch["index"].cpu(),
        }

    def configure_optimizers(self):
        opt = torch.optim.AdamW(
            self.parameters(), lr=self.optimiser.lr, weight_decay=self.optimiser.weight_decay
        )
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.optimiser.lr, total_steps=int(self.trainer.estimated_stepping_batches)
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def _mean(values: np.ndarray) -> float:
    """Mean of the finite values; 0 where there is none (a metric to log must be a number)."""
    return float(np.nanmean(values)) if np.isfinite(values).any() else 0.0


def _areas(y: np.ndarray, p: np.ndarray, classes: list[str]) -> dict[str, float]:
    auc = metrics.auroc(y, p)
    out = {"val/macro_auroc": _mean(auc), "val/macro_auprc": _mean(metrics.auprc(y, p))}
    for c, name in enumerate(classes):
        if np.isfinite(auc[c]):
            out[f"val/auroc/{name}"] = float(auc[c])
    return out


def epoch_metrics(y: np.ndarray, p: np.ndarray, classes: list[str]) -> dict[str, float]:
    """Multilabel validation metrics logged every epoch: AUROC/AUPRC, and precision/recall/F1
    both at a fixed 0.5 threshold and at per-class thresholds tuned on these scores (macro)."""
    out = _areas(y, p, classes)
    for tag, thr in (
        ("at05", np.full(len(classes), 0.5)),
        ("tuned", metrics.tune_thresholds(y, p)),
    ):
        m = metrics.at_thresholds(y, p, thr)
        for key in ("precision", "recall", "f1"):
            out[f"val/{key}_{tag}"] = _mean(m[key])
    return out


def epoch_metrics_multiclass(
    y: np.ndarray, p: np.ndarray, classes: list[str], factors: np.ndarray | None, dataset: str
) -> dict[str, float]:
    """Single-label validation metrics: one-vs-rest AUROC/AUPRC, and accuracy, macro and
    per-class F1 of the predicted class (and the dataset's challenge score, if it has one)."""
    out = _areas(metrics.indicator(y, p.shape[1]), p, classes)
    cm = metrics.confusion(y, metrics.predict_classes(p, factors), len(classes))
    r = metrics.confusion_rates(cm)
    out["val/accuracy"] = float(r["accuracy"])
    out["val/macro_f1"] = _mean(r["f1"])
    for c, name in enumerate(classes):
        if np.isfinite(r["f1"][c]):
            out[f"val/f1/{name}"] = float(r["f1"][c])
    for key, value in metrics.challenge_f1(dataset, classes, np.nan_to_num(r["f1"])).items():
        out[f"val/{key}"] = float(value)
    return out


class RecordScores(Metric):
    """Each validation record's aggregated probabilities and target, from every rank: the states
    are concatenated across processes when computed, and a record that DDP's sampler gave to two
    ranks (it repeats records to even them out) is kept once."""

    full_state_update = False

    def __init__(self) -> None:
        super().__init__()
        for name in ("index", "probs", "target"):
            self.add_state(name, default=[], dist_reduce_fx="cat")

    def update(self, index: torch.Tensor, probs: torch.Tensor, target: torch.Tensor) -> None:
        self.index.append(index)
        self.probs.append(probs)
        self.target.append(target)

    def compute(self) -> tuple[np.ndarray, np.ndarray]:
        """Targets and probabilities in dataset order, one row per record."""
        index = dim_zero_cat(self.index).cpu().numpy()
        _, first = np.unique(index, return_index=True)
        return (
            dim_zero_cat(self.target).cpu().numpy()[first],
            dim_zero_cat(self.probs).cpu().numpy()[first],
        )


def build(cfg: Config, dm: ECGDataModule) -> ECGClassifier:
    """The classifier ``cfg`` asks for, sized to the data ``dm`` serves."""
    t = cfg.train
    counts = dm.class_counts()
    return ECGClassifier(
        network=Network(
            model=cfg.model.name,
            options=dict(cfg.model.options),
            n_leads=dm.n_leads,
            n_classes=dm.n_classes,
            fs=float(dm.cache.meta["fs"]),
            members=t.ensemble,
            n_features=0 if dm.cache.features is None else dm.cache.features.shape[1],
            leads=tuple(dm.cache.meta["leads"]),
        ),
        objective=Objective(
            loss=cfg.loss,
            class_counts=tuple(int(c) for c in counts),
            n_train=len(dm.rows["train"]),
            class_weight=t.class_weight,
            focal_gamma=t.focal_gamma,
        ),
        optimiser=Optimiser(lr=t.lr, weight_decay=t.weight_decay),
        labels=Labels(
            classes=tuple(dm.cache.classes),
            multilabel=dm.multilabel,
            aggregate=t.aggregate,
            dataset=dm.cache.meta["dataset"],
            decision_factors=losses.decision_factors(cfg, counts),
        ),
    )


def predict(
    module: ECGClassifier, loader, accelerator: str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """Record-level targets (as given: indicators or class ids) and aggregated probabilities over
    a windowed loader, in dataset order, scored by ``Trainer.predict`` on one ``accelerator``
    device in full precision (as the served model scores)."""
    trainer = pl.Trainer(
        accelerator=accelerator,
        devices=1,
        precision="32-true",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        enable_checkpointing=False,
    )
    out = trainer.predict(module, dataloaders=loader)
    order = np.argsort(torch.cat([o["index"] for o in out]).numpy(), kind="stable")
    y = torch.cat([o["target"] for o in out]).numpy()[order]
    return y, torch.cat([o["probs"] for o in out]).numpy()[order]


CHECKPOINT = "not a checkpoint ecgpipe can read (truncated, or another program's file)"
"""What a damaged checkpoint is, whoever made it."""
DAMAGED = (
    RuntimeError,  # torch's zip reader: truncated, or not a zip archive
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,  # a pickle of classes that are not there
    ImportError,
    UnicodeDecodeError,
    pickle.UnpicklingError,
)
"""What ``torch.load`` raises on a damaged or foreign file (an ``OSError`` is the disk's or the
user's access: the CLI says which)."""


def read_checkpoint(path: Path, origin: Origin = STAGE, keys: tuple[str, ...] = ()) -> dict:
    """The checkpoint file at ``path`` as saved (a mapping holding ``keys``, on the CPU), or a
    :class:`~ecgpipe.core.paths.BrokenOutputError` naming it and what to do (as ``origin``,
    who made it, says): the one way ecgpipe opens a checkpoint."""
    if not Path(path).is_file():
        raise origin.error(path, "missing")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except DAMAGED:
        raise origin.error(path, CHECKPOINT) from None
    if not isinstance(saved, dict) or any(k not in saved for k in keys):
        raise origin.error(path, CHECKPOINT)
    return saved


def load_checkpoint(path: Path, origin: Origin = STAGE) -> ECGClassifier:
    """The classifier saved at ``path`` (on the CPU), read by :func:`read_checkpoint`: a
    missing, truncated or foreign checkpoint is one line saying what to do, not a traceback."""
    saved = read_checkpoint(path, origin, ("state_dict",))
    try:
        groups = legacy_groups(saved.get("hyper_parameters", {}))
        return ECGClassifier.load_from_checkpoint(
            path, map_location="cpu", weights_only=False, **groups
        )
    except (RuntimeError, EOFError, OSError, KeyError, TypeError, pickle.UnpicklingError) as err:
        raise origin.error(
            path, f"not a checkpoint of an ecgpipe network ({type(err).__name__}: {err})"
        ) from None


def legacy_groups(hparams: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The grouped arguments of a checkpoint saved before they were grouped (ecgpipe before
    issue 21 saved the classifier's arguments flat); none for a current checkpoint."""
    if "network" in hparams:
        return {}
    flat = {"dataset": "", "decision_factors": None, "n_features": 0, "leads": None}
    flat = flat | {"lead_order": None} | dict(hparams)
    if "pos_weight" in flat:  # a bool then: class weights from inverse frequencies, or none
        flat["class_weight"] = "inverse" if flat.pop("pos_weight") else "none"
    return {name: {f.name: flat[f.name] for f in fields(cls)} for name, cls in GROUPS.items()}
