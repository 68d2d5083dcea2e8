"""The LightningDataModule over the preprocessed cache and the split indices.

Training takes random crops (``train.crop_s``, or the full record); validation and test cut each
record into windows of ``eval_window_s`` at ``eval_stride_s`` (the model's outputs over a record's
windows are aggregated later, by max as the PTB-XL benchmark does). Windows on spectrograms start
at multiples of the STFT hop so that a window's frames are exactly the cached ones.
Normalisation statistics come from the training rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from ecgpipe import augment, signal
from ecgpipe.cache import Cache
from ecgpipe.config import AugmentConfig, TrainConfig
from ecgpipe.models import Input
from ecgpipe.normalization import Normalizer
from ecgpipe.splitting import SPLITS


@dataclass(frozen=True)
class Windowing:
    """Window length and start positions, in samples, and the matching spectrogram frames."""

    length: int
    starts: tuple[int, ...]
    hop: int | None
    frames: int | None

    @classmethod
    def of(
        cls,
        n_samples: int,
        length_s: float | None,
        stride_s: float,
        fs: float,
        spectrogram: dict | None,
    ) -> Windowing:
        length = n_samples if length_s is None else min(round(length_s * fs), n_samples)
        stride = max(1, round(stride_s * fs))
        hop = frames = None
        if spectrogram is not None:
            hop = signal.spectrogram_hop(spectrogram["window"], spectrogram["overlap"])
            stride = max(hop, stride // hop * hop)
            frames = 1 + (length - spectrogram["window"]) // hop
            if frames < 1:
                raise ValueError(f"a {length}-sample window is shorter than the STFT window")
        starts = tuple(range(0, n_samples - length + 1, stride))
        return cls(length, starts, hop, frames)

    def frame(self, start: int) -> int:
        assert self.hop is not None
        return start // self.hop


class _Windows(Dataset):
    """Items of one split: a dict with ``target`` and ``signal`` and/or ``spectrogram``."""

    def __init__(
        self,
        cache: Cache,
        rows: np.ndarray,
        kind: Input,
        win: Windowing,
        norm: Normalizer,
        train: bool,
        aug: AugmentConfig | None = None,
    ):
        self.cache, self.rows, self.kind, self.win, self.norm = cache, rows, kind, win, norm
        self.train, self.aug = train, aug
        self.fs = float(cache.meta["fs"])

    def __len__(self) -> int:
        return len(self.rows)

    def _cut(self, row: int, start: int, rng: np.random.Generator | None) -> dict[str, np.ndarray]:
        out = {}
        if self.kind in ("signal", "both"):
            x = np.asarray(self.cache.signals[row, :, start : start + self.win.length], np.float32)
            if rng is not None and self.aug is not None:
                if self.aug.scale:
                    x = augment.scale(x, rng, self.aug.scale)
                if self.aug.noise_std_mv:
                    x = augment.gaussian_noise(x, rng, self.aug.noise_std_mv)
                if self.aug.wander_mv:
                    x = augment.baseline_wander(x, rng, self.aug.wander_mv, self.fs)
            out["signal"] = self.norm.signal(x)
        if self.kind in ("spectrogram", "both"):
            assert self.cache.spectrograms is not None and self.win.frames is not None
            f = self.win.frame(start)
            s = np.asarray(self.cache.spectrograms[row, :, :, f : f + self.win.frames], np.float32)
            out["spectrogram"] = self.norm.spectrogram(s)
        return out

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        row = int(self.rows[i])
        target = torch.as_tensor(np.asarray(self.cache.labels[row]))
        if self.train:
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))
            shift = self.aug is None or self.aug.shift
            start = int(rng.choice(self.win.starts)) if shift else 0
            parts = self._cut(row, start, rng)
            return {k: torch.from_numpy(v) for k, v in parts.items()} | {"target": target}
        cuts = [self._cut(row, s, None) for s in self.win.starts]
        stacked = {k: torch.from_numpy(np.stack([c[k] for c in cuts])) for k in cuts[0]}
        return stacked | {"target": target}


class ECGDataModule(pl.LightningDataModule):
    """Loaders for ``train`` (random crops), ``val`` and ``test`` (all windows per record)."""

    def __init__(
        self,
        cache_dir: Path,
        split_dir: Path,
        kind: Input,
        cfg: TrainConfig,
        normalizer: Normalizer | None = None,
    ):
        """``normalizer``: statistics saved by an earlier training; fitted on train when None."""
        super().__init__()
        self.cache_dir, self.split_dir, self.kind, self.cfg = cache_dir, split_dir, kind, cfg
        self.cache = Cache.open(cache_dir)
        self.rows = {name: np.load(split_dir / f"{name}.npy") for name in SPLITS}
        meta = self.cache.meta
        spec = meta["spectrogram"] if kind != "signal" else None
        if kind != "signal" and spec is None:
            raise ValueError("this model reads spectrograms; set preprocess.spectrogram.enabled")
        n, fs = meta["n_samples"], float(meta["fs"])
        # Training windows start at any multiple of the hop (or sample), evaluation at the stride.
        self.train_windows = Windowing.of(n, cfg.crop_s, 1 / fs, fs, spec)
        self.eval_windows = Windowing.of(n, cfg.eval_window_s, cfg.eval_stride_s, fs, spec)
        if normalizer is not None:
            self.normalizer = normalizer
        elif cfg.normalize == "per_lead":
            self.normalizer = Normalizer.fit(
                self.cache.signals,
                self.rows["train"],
                self.cache.spectrograms if kind != "signal" else None,
            )
        else:
            freqs = None if spec is None else self.cache.spectrograms.shape[2]
            self.normalizer = Normalizer.identity(self.cache.signals.shape[1], freqs)

    @property
    def multilabel(self) -> bool:
        return self.cache.meta["label_kind"] == "multilabel"

    @property
    def n_classes(self) -> int:
        return len(self.cache.classes)

    @property
    def n_leads(self) -> int:
        return int(self.cache.signals.shape[1])

    def class_counts(self) -> np.ndarray:
        """Positives per class in the training split."""
        y = self.cache.labels[self.rows["train"]]
        return y.sum(axis=0) if y.ndim == 2 else np.bincount(y, minlength=self.n_classes)

    def dataset(self, split: str) -> _Windows:
        train = split == "train"
        win = self.train_windows if train else self.eval_windows
        return _Windows(
            self.cache,
            self.rows[split],
            self.kind,
            win,
            self.normalizer,
            train,
            self.cfg.augment if train else None,
        )

    def _loader(self, split: str, **kw) -> DataLoader:
        return DataLoader(
            self.dataset(split),
            batch_size=self.cfg.batch_size,
            num_workers=self.cfg.num_workers,
            persistent_workers=self.cfg.num_workers > 0,
            **kw,
        )

    def train_dataloader(self) -> DataLoader:
        if not self.cfg.weighted_sampler:
            return self._loader(
                "train", shuffle=True, drop_last=len(self.rows["train"]) > self.cfg.batch_size
            )
        y = self.cache.labels[self.rows["train"]]
        freq = np.maximum(self.class_counts(), 1) / len(y)
        weights = (y / freq).max(axis=1) if y.ndim == 2 else 1 / freq[y]
        weights = np.where(weights > 0, weights, 1.0)
        sampler = WeightedRandomSampler(torch.as_tensor(weights, dtype=torch.double), len(y))
        return self._loader("train", sampler=sampler)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        return self._loader("test")
