"""Heart-rhythm features inside the model: R peaks found in each window, RR-interval statistics.

Atrial fibrillation is an irregularly irregular rhythm, and a convolution sees a few beats at a
time; the RR intervals of the whole window say it directly. :class:`RRFeatures` finds R peaks as
a QRS detector does (squared slope, smoothed over 0.12 s, local maxima at least 0.2 s apart
above a share of the window's peak energy) and summarises the intervals between them: rate,
variability (CV, normalised RMSSD, pNN50, Poincare SD1/SD2), the shortest and longest interval,
the share of irregular successive pairs. It runs on the window in the network itself (no gradient
flows through the detection), so training, evaluation and the served model compute the same
thing from the same input. :class:`CNN1dRR` fuses them with a :class:`CNN1d`'s features.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ecgpipe.models.cnn1d import CNN1d
from ecgpipe.models.heads import head

N_FEATURES = 11


class RRFeatures(nn.Module):
    """(B, leads, T) signal -> (B, leads * 11) RR-interval features per lead (any scale)."""

    def __init__(self, fs: float, refractory_s: float = 0.2, share: float = 0.3):
        super().__init__()
        self.fs, self.share = float(fs), share
        self.radius = max(1, round(refractory_s * fs))
        half = max(1, round(0.06 * fs))  # a triangle 0.12 s wide: one peak per QRS, at its centre
        kernel = 1 - torch.arange(-half, half + 1).abs() / (half + 1)
        self.register_buffer("integrate", (kernel / kernel.sum())[None, None])

    @torch.no_grad()
    def peaks(self, x: torch.Tensor) -> torch.Tensor:
        """(N, T) signals -> (N, T) boolean mask of R peaks."""
        slope = F.pad(x[:, 2:] - x[:, :-2], (1, 1))
        energy = F.conv1d((slope**2)[:, None], self.integrate, padding="same")[:, 0]
        window = F.max_pool1d(energy[:, None], 2 * self.radius + 1, 1, self.radius)[:, 0]
        level = self.share * torch.quantile(energy, 0.99, dim=-1, keepdim=True)
        mask = (energy == window) & (energy > level) & (energy > 0)
        return mask & (_since_previous(mask) > self.radius)  # a flat top counts once

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, leads, t = x.shape
        mask = self.peaks(x.reshape(b * leads, t).float())
        feats = intervals(mask, self.fs)
        return feats.reshape(b, leads * N_FEATURES)


def _previous(mask: torch.Tensor) -> torch.Tensor:
    """(N, T) index of the last ``True`` strictly before each sample (-1 where none)."""
    index = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    last = torch.where(mask, index, torch.full_like(index, -1)).cummax(dim=1).values
    return F.pad(last[:, :-1], (1, 0), value=-1)


def _since_previous(mask: torch.Tensor) -> torch.Tensor:
    """(N, T) samples since the previous ``True`` (more than T where none)."""
    index = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    before = _previous(mask)
    return torch.where(before >= 0, index - before, torch.full_like(index, 2 * mask.shape[1]))


def intervals(mask: torch.Tensor, fs: float) -> torch.Tensor:
    """(N, T) peak masks -> (N, 11) statistics of the intervals between successive peaks."""
    index = torch.arange(mask.shape[1], device=mask.device).expand_as(mask)
    before = _previous(mask)
    rr = (index - before).float() / fs
    valid = mask & (before >= 0)
    prev_rr = rr.gather(1, before.clamp(min=0))
    prev_valid = valid.gather(1, before.clamp(min=0)) & (before >= 0)
    pair = valid & prev_valid
    diff = rr - prev_rr

    def mean(v: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        return (v * m).sum(1) / m.sum(1).clamp(min=1)

    count, pairs = valid.sum(1).float(), pair.sum(1).float()
    mean_rr = mean(rr, valid)
    sd = mean((rr - mean_rr[:, None]) ** 2, valid).sqrt()
    rmssd = mean(diff**2, pair).sqrt()
    sd1 = rmssd / 2**0.5
    sd2 = (2 * sd**2 - sd1**2).clamp(min=0).sqrt()
    scale = mean_rr.clamp(min=1e-3)
    inf = torch.full_like(rr, float("inf"))
    shortest = torch.where(valid, rr, inf).amin(1)
    longest = torch.where(valid, rr, -inf).amax(1)
    enough = (count >= 2).float()
    feats = torch.stack(
        [
            torch.log1p(count),  # beats in the window
            60.0 / scale * enough,  # heart rate, bpm
            sd / scale,  # coefficient of variation
            rmssd / scale,  # normalised RMSSD
            mean((diff.abs() > 0.05).float(), pair),  # pNN50
            mean((diff.abs() / scale[:, None] > 0.1).float(), pair),  # irregular pairs
            torch.where(count > 0, shortest, torch.zeros_like(shortest)) / scale,
            torch.where(count > 0, longest, torch.zeros_like(longest)) / scale,
            sd1 / (sd2 + 1e-3) * (pairs > 0).float(),  # Poincare SD1 / SD2
            (pairs / count.clamp(min=1)),  # share of intervals with a successor
            enough,  # enough beats for any of this
        ],
        dim=1,
    )
    return feats * (count > 0).float()[:, None]


class CNN1dRR(nn.Module):
    """:class:`CNN1d`'s pooled features and the window's RR features, fused before the head."""

    def __init__(
        self,
        in_channels: int,
        n_classes: int,
        fs: float,
        widths: tuple[int, ...],
        kernel_size: int,
        dropout: float,
        rr_width: int,
    ):
        super().__init__()
        self.cnn = CNN1d(in_channels, n_classes, widths, kernel_size, dropout)
        self.rr = RRFeatures(fs)
        self.rr_embed = nn.Sequential(
            nn.BatchNorm1d(in_channels * N_FEATURES),
            nn.Linear(in_channels * N_FEATURES, rr_width),
            nn.ReLU(inplace=True),
        )
        self.head = head(2 * widths[-1] + rr_width, n_classes, hidden=128, dropout=dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x``: the z-scored window. Its peaks are the raw window's: z-scoring scales every
        slope alike, and the detection threshold is relative to the window's own energy."""
        pooled = self.cnn.pool(self.cnn.features(x))
        rhythm = self.rr_embed(self.rr(x))
        return self.head(torch.cat([pooled, rhythm], dim=1))
