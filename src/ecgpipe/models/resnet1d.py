"""1D ResNets of the PTB-XL benchmark (Strodthoff et al. 2020).

- ``resnet1d_wang``: Wang et al. 2017's time-series ResNet as the benchmark configures it: a
  kernel-7 stem, three basic blocks of 128 channels with kernels (5, 3), concat-pool head.
- ``xresnet1d50`` / ``xresnet1d101``: the "bag of tricks" ResNet (He et al. 2019) in 1D: a
  three-convolution stem, bottleneck blocks with an average-pool shortcut, layers (3, 4, 6, 3)
  or (3, 4, 23, 3), kernel 5, zero-initialised last batch norm of each block.
"""

from __future__ import annotations

import torch
from torch import nn

from ecgpipe.models.heads import ConcatPool1d, conv_bn, head


class BasicBlock1d(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernels: tuple[int, int], stride: int = 1):
        super().__init__()
        self.body = nn.Sequential(
            conv_bn(c_in, c_out, kernels[0], stride), conv_bn(c_out, c_out, kernels[1], act=False)
        )
        self.shortcut = (
            nn.Identity()
            if c_in == c_out and stride == 1
            else conv_bn(c_in, c_out, 1, stride, act=False)
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class ResNet1dWang(nn.Module):
    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        width: int,
        blocks: int,
        kernels: tuple[int, int],
        stem_kernel: int,
        dropout: float,
    ):
        super().__init__()
        self.stem = conv_bn(in_channels, width, stem_kernel)
        self.blocks = nn.Sequential(*(BasicBlock1d(width, width, kernels) for _ in range(blocks)))
        self.pool = ConcatPool1d()
        self.head = head(2 * width, n_classes, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.blocks(self.stem(x))))


class Bottleneck1d(nn.Module):
    expansion = 4

    def __init__(self, c_in: int, width: int, kernel: int, stride: int = 1):
        super().__init__()
        c_out = width * self.expansion
        last = conv_bn(width, c_out, 1, act=False)
        nn.init.zeros_(last[1].weight)  # each block starts as the identity
        self.body = nn.Sequential(
            conv_bn(c_in, width, 1), conv_bn(width, width, kernel, stride), last
        )
        shortcut: list[nn.Module] = []
        if stride != 1:
            shortcut.append(nn.AvgPool1d(stride, ceil_mode=True))
        if c_in != c_out:
            shortcut.append(conv_bn(c_in, c_out, 1, act=False))
        self.shortcut = nn.Sequential(*shortcut)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class XResNet1d(nn.Module):
    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        layers: tuple[int, ...],
        widths: tuple[int, ...],
        kernel: int,
        dropout: float,
    ):
        super().__init__()
        stem = (32, 32, widths[0])
        self.stem = nn.Sequential(
            conv_bn(in_channels, stem[0], kernel, stride=2),
            conv_bn(stem[0], stem[1], kernel),
            conv_bn(stem[1], stem[2], kernel),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages: list[nn.Module] = []
        c = stem[2]
        for i, (n, w) in enumerate(zip(layers, widths, strict=True)):
            for j in range(n):
                stages.append(Bottleneck1d(c, w, kernel, stride=2 if i > 0 and j == 0 else 1))
                c = w * Bottleneck1d.expansion
        self.stages = nn.Sequential(*stages)
        self.pool = ConcatPool1d()
        self.head = head(2 * c, n_classes, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.stages(self.stem(x))))
