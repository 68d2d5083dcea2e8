"""Hybrid: a 1D ResNet branch on the signal and a 2D CNN branch on the spectrogram, fused."""

from __future__ import annotations

import torch
from torch import nn

from ecgpipe.models.heads import ConcatPool1d, conv_bn, head
from ecgpipe.models.resnet1d import BasicBlock1d
from ecgpipe.models.spectro2d import Spectro2d


class Hybrid(nn.Module):
    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        width_1d: int,
        widths_2d: tuple[int, ...],
        dropout: float,
    ):
        super().__init__()
        self.signal_branch = nn.Sequential(
            conv_bn(in_channels, width_1d, 7),
            BasicBlock1d(width_1d, width_1d, (5, 3)),
            BasicBlock1d(width_1d, width_1d, (5, 3)),
            ConcatPool1d(),
        )
        self.spectro_branch = Spectro2d(in_channels, n_classes, widths_2d, dropout)
        self.head = head(
            2 * width_1d + self.spectro_branch.out_features, n_classes, dropout=dropout
        )

    def forward(self, signal: torch.Tensor, spectrogram: torch.Tensor) -> torch.Tensor:
        fused = torch.cat(
            [self.signal_branch(signal), self.spectro_branch.embed(spectrogram)], dim=1
        )
        return self.head(fused)
