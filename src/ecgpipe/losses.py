"""Losses for imbalanced classes: weighted BCE, sigmoid focal loss, weighted cross-entropy."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


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


def build(
    kind: str, multilabel: bool, counts: torch.Tensor, n: int, weighted: bool, gamma: float
) -> nn.Module:
    """The loss for the task: multilabel -> BCE or focal with ``pos_weight = neg / pos`` from the
    training counts; single-label -> cross-entropy with inverse-frequency class weights."""
    counts = counts.clamp(min=1).float()
    if multilabel:
        pos_weight = (n - counts) / counts if weighted else None
        if kind == "focal":
            return FocalLoss(gamma, pos_weight)
        return nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    weight = n / (len(counts) * counts) if weighted else None
    return nn.CrossEntropyLoss(weight=weight)
