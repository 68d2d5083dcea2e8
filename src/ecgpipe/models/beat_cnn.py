"""A heartbeat classifier: the beat's waveform through a 1D CNN, fused with its RR features.

The waveform says what a beat looks like (a wide ventricular QRS, a missing P wave); the RR
intervals say when it came (a supraventricular beat is premature, and often looks normal), so
the two are embedded separately and concatenated before the head, the project's hybrid idea
applied to beats. ``features`` are :data:`ecgpipe.processing.beats.FEATURES`, already in units
of the record's mean RR; ``rr_width=0`` makes it a waveform-only CNN (for comparison).
"""

from __future__ import annotations

import torch
from torch import nn

from ecgpipe.models.cnn1d import CNN1d
from ecgpipe.models.heads import head


class BeatCNN(nn.Module):
    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        n_features: int,
        widths: tuple[int, ...],
        kernel_size: int,
        dropout: float,
        rr_width: int,
    ):
        super().__init__()
        self.cnn = CNN1d(in_channels, n_classes, widths, kernel_size, dropout)
        self.rr_width = rr_width
        self.rr_embed = (
            nn.Sequential(
                nn.BatchNorm1d(n_features),
                nn.Linear(n_features, rr_width),
                nn.ReLU(inplace=True),
                nn.Linear(rr_width, rr_width),
                nn.ReLU(inplace=True),
            )
            if rr_width
            else None
        )
        self.head = head(2 * widths[-1] + rr_width, n_classes, hidden=64, dropout=dropout)

    def forward(self, x: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """``x`` (B, leads, T) beat windows, ``features`` (B, K) their RR features."""
        parts = [self.cnn.pool(self.cnn.features(x))]
        if self.rr_embed is not None:
            parts.append(self.rr_embed(features))
        return self.head(torch.cat(parts, dim=1))
