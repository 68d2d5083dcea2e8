"""Losses for imbalanced classes: weighted BCE, weighted cross-entropy, and focal losses of both."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ecgpipe.config.schema import Config
from ecgpipe.evaluation import metrics


class FocalLoss(nn.Module):
    """Sigmoid focal loss (Lin et al. 2017), with optional per-class positive weights."""

    def __init__(self, gamma: float = 2.0, pos_weight: torch.Tensor | None = None):
        super().__init__()
        self.gamma = gamma
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        bce = F.binary_cross_entropy_with_logits(
            logits, target, pos_weight=self.pos_weight, reduction="none"
        )
        p = torch.sigmoid(logits)
        p_t = p * target + (1 - p) * (1 - target)
        return ((1 - p_t) ** self.gamma * bce).mean()


class SoftmaxFocalLoss(nn.Module):
    """Focal loss on softmax outputs for single-label data, with optional class weights."""

    def __init__(self, gamma: float = 2.0, weight: torch.Tensor | None = None):
        super().__init__()
        self.gamma = gamma
        self.register_buffer("weight", weight)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        log_p = F.log_softmax(logits, dim=-1).gather(1, target[:, None])[:, 0]
        loss = -((1 - log_p.exp()) ** self.gamma) * log_p
        if self.weight is None:
            return loss.mean()
        w = self.weight[target]
        return (w * loss).sum() / w.sum()


CLASS_WEIGHT_POWER = {"inverse": 1.0, "sqrt_inverse": 0.5, "none": 0.0}
"""``train.class_weight``: the power of the inverse class frequency the loss weighs classes by.
``inverse`` balances the classes fully (a rare class of 400 beats beside 45,000 N weighs ~100x);
``sqrt_inverse`` halfway on a log scale (~10x), so the majority is not drowned; ``none``: 1."""


def decision_factors(cfg: Config, counts: np.ndarray) -> tuple[float, ...] | None:
    """Single-label data: the class factors of ``train.decision`` that undo these weights (see
    ``metrics.prior_correction``); none for multilabel data or the plain argmax."""
    if cfg.data.label_kind == "multilabel" or cfg.train.decision == "argmax":
        return None
    power = CLASS_WEIGHT_POWER[cfg.train.class_weight]
    return tuple(metrics.prior_correction(counts, power, cfg.train.weighted_sampler).tolist())


def build(
    kind: str, multilabel: bool, counts: torch.Tensor, n: int, class_weight: str, gamma: float
) -> nn.Module:
    """The loss: ``bce`` / ``focal`` (multilabel, ``pos_weight = (neg / pos) ** power`` from the
    training counts) or ``ce`` / ``focal`` (single-label, class weights ``(n / (C * count)) **
    power``), ``power`` as :data:`CLASS_WEIGHT_POWER` gives it for ``class_weight``."""
    counts = counts.clamp(min=1).float()
    power = CLASS_WEIGHT_POWER[class_weight]
    if multilabel:
        pos_weight = ((n - counts) / counts) ** power if power else None
        if kind == "focal":
            return FocalLoss(gamma, pos_weight)
        return nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    weight = (n / (len(counts) * counts)) ** power if power else None
    if kind == "focal":
        return SoftmaxFocalLoss(gamma, weight)
    return nn.CrossEntropyLoss(weight=weight)
