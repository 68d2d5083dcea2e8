"""Pooling and classification heads shared by the models."""

from __future__ import annotations

import torch
from torch import nn


class ConcatPool1d(nn.Module):
    """Adaptive average and max pooling over time, concatenated: (B, C, T) -> (B, 2C)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=1)


def head(
    in_features: int, n_classes: int, hidden: int = 128, dropout: float = 0.5
) -> nn.Sequential:
    """The PTB-XL benchmark's head: BN, dropout, linear, ReLU, BN, dropout, linear."""
    return nn.Sequential(
        nn.BatchNorm1d(in_features),
        nn.Dropout(dropout / 2),
        nn.Linear(in_features, hidden),
        nn.ReLU(inplace=True),
        nn.BatchNorm1d(hidden),
        nn.Dropout(dropout),
        nn.Linear(hidden, n_classes),
    )


def conv_bn(
    c_in: int, c_out: int, kernel: int, stride: int = 1, act: bool = True, dims: int = 1
) -> nn.Sequential:
    """Convolution (same padding, no bias), batch norm and optionally ReLU, in 1 or 2 dims."""
    conv, bn = (nn.Conv1d, nn.BatchNorm1d) if dims == 1 else (nn.Conv2d, nn.BatchNorm2d)
    layers: list[nn.Module] = [
        conv(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
        bn(c_out),
    ]
    if act:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)
