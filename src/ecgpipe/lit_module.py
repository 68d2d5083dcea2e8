"""The LightningModule: a network from the zoo, its loss, AdamW with a one-cycle schedule, and
per-epoch validation metrics on window-aggregated record scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

from ecgpipe import losses, metrics, models
from ecgpipe.errors import TrainingDiverged


class ECGClassifier(pl.LightningModule):
    def __init__(
        self,
        model: str,
        options: dict[str, Any],
        n_leads: int,
        n_classes: int,
        classes: list[str],
        multilabel: bool,
        class_counts: list[int],
        n_train: int,
        loss: str = "bce",
        pos_weight: bool = True,
        focal_gamma: float = 2.0,
        lr: float = 3e-3,
        weight_decay: float = 1e-2,
        aggregate: str = "max",
    ):
        super().__init__()
        self.save_hyperparameters()
        self.net = models.build(model, n_leads, n_classes, **options)
        self.kind = models.INPUTS[model]
        self.loss = losses.build(
            loss, multilabel, torch.tensor(class_counts), n_train, pos_weight, focal_gamma
        )
        self._val: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.kind == "both":
            return self.net(batch["signal"], batch["spectrogram"])
        return self.net(batch[self.kind])

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits) if self.hparams.multilabel else torch.softmax(logits, -1)

    def _target(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        t = batch["target"]
        return t.float() if self.hparams.multilabel else t.long()

    def training_step(self, batch: dict[str, torch.Tensor], _: int) -> torch.Tensor:
        loss = self.loss(self(batch), self._target(batch))
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"training diverged: loss {loss.item()} at epoch {self.current_epoch}, step "
                f"{self.global_step} (lr {self.hparams.lr:g}); lower train.lr"
            )
        self.log(
            "train_loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=True,
            batch_size=len(batch["target"]),
        )
        return loss

    def record_scores(self, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """Windowed batch (B, W, ...) -> per-record probabilities and the mean window logits."""
        b, w = batch["target"].shape[0], next(v for k, v in batch.items() if k != "target").shape[1]
        flat = {k: v.flatten(0, 1) for k, v in batch.items() if k != "target"}
        logits = self(flat).view(b, w, -1)
        probs = self.probabilities(logits)
        agg = probs.amax(dim=1) if self.hparams.aggregate == "max" else probs.mean(dim=1)
        return agg, logits.mean(dim=1)

    def validation_step(self, batch: dict[str, torch.Tensor], _: int) -> None:
        probs, logits = self.record_scores(batch)
        self.log(
            "val_loss",
            self.loss(logits, self._target(batch)),
            on_epoch=True,
            batch_size=len(batch["target"]),
        )
        self._val.append((probs.detach().cpu(), batch["target"].cpu()))

    def on_validation_epoch_end(self) -> None:
        if not self._val:
            return
        p = torch.cat([v[0] for v in self._val]).float().numpy()
        y = metrics.indicator(torch.cat([v[1] for v in self._val]).numpy(), p.shape[1])
        self._val.clear()
        if not np.isfinite(p).all():
            raise TrainingDiverged(
                f"training diverged: non-finite validation outputs at epoch {self.current_epoch} "
                f"(lr {self.hparams.lr:g}); lower train.lr"
            )
        for name, value in epoch_metrics(y, p, self.hparams.classes).items():
            self.log(name, value, prog_bar=name == "val_macro_auroc")

    def configure_optimizers(self):
        opt = torch.optim.AdamW(
            self.parameters(), lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=self.hparams.lr, total_steps=int(self.trainer.estimated_stepping_batches)
        )
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def epoch_metrics(y: np.ndarray, p: np.ndarray, classes: list[str]) -> dict[str, float]:
    """Validation metrics logged every epoch: AUROC/AUPRC, and precision/recall/F1 both at a
    fixed 0.5 threshold and at per-class thresholds tuned on these scores (macro averages)."""
    auc, ap = metrics.auroc(y, p), metrics.auprc(y, p)
    out = {
        "val_macro_auroc": float(np.nanmean(auc)) if np.isfinite(auc).any() else 0.0,
        "val_macro_auprc": float(np.nanmean(ap)) if np.isfinite(ap).any() else 0.0,
    }
    for c, name in enumerate(classes):
        if np.isfinite(auc[c]):
            out[f"val_auroc_{name}"] = float(auc[c])
    for tag, thr in (
        ("at05", np.full(len(classes), 0.5)),
        ("tuned", metrics.tune_thresholds(y, p)),
    ):
        m = metrics.at_thresholds(y, p, thr)
        for key in ("precision", "recall", "f1"):
            out[f"val_{key}_{tag}"] = (
                float(np.nanmean(m[key])) if np.isfinite(m[key]).any() else 0.0
            )
    return out


@torch.no_grad()
def predict(module: ECGClassifier, loader) -> tuple[np.ndarray, np.ndarray]:
    """Record-level targets (as indicators) and aggregated probabilities over a windowed loader."""
    module.eval()
    ys, ps = [], []
    for batch in loader:
        probs, _ = module.record_scores(batch)
        ps.append(probs.float().cpu())
        ys.append(batch["target"])
    p = torch.cat(ps).numpy()
    return metrics.indicator(torch.cat(ys).numpy(), p.shape[1]), p
