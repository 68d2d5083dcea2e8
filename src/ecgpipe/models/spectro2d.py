"""A 2D CNN on log-magnitude spectrograms: leads as channels, (frequency, time) as the image."""

from __future__ import annotations

import torch
from torch import nn

from ecgpipe.models.heads import conv_bn, head


class Spectro2d(nn.Module):
    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        widths: tuple[int, ...],
        dropout: float,
    ):
        super().__init__()
        blocks: list[nn.Module] = []
        c = in_channels
        for w in widths:
            blocks += [
                conv_bn(c, w, 3, dims=2),
                conv_bn(w, w, 3, dims=2),
                nn.MaxPool2d(2, ceil_mode=True),
            ]
            c = w
        self.features = nn.Sequential(*blocks)
        self.out_features = 2 * c
        self.head = head(self.out_features, n_classes, dropout=dropout)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, leads, F, T) -> (B, 2C): average and max over frequency and time."""
        f = self.features(x).flatten(2)
        return torch.cat([f.mean(dim=-1), f.amax(dim=-1)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))
