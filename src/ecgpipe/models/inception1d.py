"""InceptionTime-style 1D network, as the PTB-XL benchmark's ``inception1d``.

Six inception modules (a 1x1 bottleneck, then parallel convolutions of kernels 39, 19 and 9 and a
max-pool branch, concatenated), a residual shortcut every three modules, concat-pool head.
"""

from __future__ import annotations

import torch
from torch import nn

from ecgpipe.models.heads import ConcatPool1d, conv_bn, head


class InceptionModule1d(nn.Module):
    def __init__(self, c_in: int, filters: int, kernels: tuple[int, ...], bottleneck: int):
        super().__init__()
        self.bottleneck = nn.Conv1d(c_in, bottleneck, 1, bias=False) if c_in > 1 else nn.Identity()
        width = bottleneck if c_in > 1 else c_in
        self.convs = nn.ModuleList(
            nn.Conv1d(width, filters, k, padding=k // 2, bias=False) for k in kernels
        )
        self.pool_branch = nn.Sequential(
            nn.MaxPool1d(3, stride=1, padding=1), nn.Conv1d(c_in, filters, 1, bias=False)
        )
        self.out = nn.Sequential(
            nn.BatchNorm1d(filters * (len(kernels) + 1)), nn.ReLU(inplace=True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bottleneck(x)
        return self.out(torch.cat([*(conv(b) for conv in self.convs), self.pool_branch(x)], dim=1))


class Inception1d(nn.Module):
    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        depth: int,
        filters: int,
        kernels: tuple[int, ...],
        bottleneck: int,
        dropout: float,
    ):
        super().__init__()
        width = filters * (len(kernels) + 1)
        self.modules_ = nn.ModuleList()
        self.shortcuts = nn.ModuleList()
        c, res_c = in_channels, in_channels
        for d in range(depth):
            self.modules_.append(InceptionModule1d(c, filters, kernels, bottleneck))
            c = width
            if d % 3 == 2:
                self.shortcuts.append(conv_bn(res_c, width, 1, act=False))
                res_c = width
        self.act = nn.ReLU(inplace=True)
        self.pool = ConcatPool1d()
        self.head = head(2 * width, n_classes, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x
        for d, module in enumerate(self.modules_):
            x = module(x)
            if d % 3 == 2:
                x = self.act(x + self.shortcuts[d // 3](res))
                res = x
        return self.head(self.pool(x))
