"""A small 1D CNN baseline: conv blocks with pooling, then the concat-pool head."""

from __future__ import annotations

import torch
from torch import nn

from ecgpipe.models.heads import ConcatPool1d, conv_bn, head


class CNN1d(nn.Module):
    """Stages of two convolutions, halving the time axis between stages. ``stem_stride`` > 1:
    the first convolution strides (with a kernel that many times longer), so a signal at a
    higher rate (finer QRS and P-wave detail) costs the later layers nothing more."""

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        widths: tuple[int, ...],
        kernel_size: int,
        dropout: float,
        stem_stride: int = 1,
    ):
        super().__init__()
        blocks: list[nn.Module] = []
        c = in_channels
        for i, w in enumerate(widths):
            if i == 0 and stem_stride > 1:
                stem = conv_bn(c, w, kernel_size * stem_stride | 1, stride=stem_stride)
                blocks += [stem, conv_bn(w, w, kernel_size)]
            else:
                blocks += [conv_bn(c, w, kernel_size), conv_bn(w, w, kernel_size)]
            if i < len(widths) - 1:
                blocks.append(nn.MaxPool1d(2))
            c = w
        self.features = nn.Sequential(*blocks)
        self.pool = ConcatPool1d()
        self.head = head(2 * c, n_classes, hidden=128, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.features(x)))
