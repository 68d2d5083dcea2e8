"""The LightningDataModule over the preprocessed cache and the split indices.

Records may have any length. Training takes one random crop of ``train.crop_s`` from anywhere in
a record (``null``: the longest record's length); validation and test score each record from all
of it: windows of ``eval_window_s`` (``null``: the longest record's length) every
``eval_stride_s``, plus one ending at the record's end where the grid stops short, so every sample
is inside some window (:mod:`ecgpipe.processing.windows`, which a served model shares). The model's
outputs over a record's windows are aggregated later (max, as the PTB-XL benchmark, or mean).
A record shorter than a window is zero-padded at the end, and counted
(:meth:`ECGDataModule.n_padded`).

Spectrogram windows come from the cached STFT frames when they start on a frame (a multiple of the
hop, where the grid puts them), and are computed from the window's signal otherwise (a window
ending at the record's end, a padded record): both are the STFT of exactly that window.
Normalisation statistics come from the training rows only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from ecgpipe.config.schema import BEAT_INPUTS, AugmentConfig, TrainConfig
from ecgpipe.core import contract
from ecgpipe.core.paths import load_npy
from ecgpipe.data.splitting import SPLITS
from ecgpipe.models import Input
from ecgpipe.processing import dsp
from ecgpipe.processing.cache import Cache
from ecgpipe.processing.normalization import Normalizer
from ecgpipe.processing.windows import Windowing, crop
from ecgpipe.training import augment

log = logging.getLogger("ecgpipe")


class _Windows(Dataset):
    """Items of one split: a dict with ``target`` and ``signal`` and/or ``spectrogram``.

    Training items hold one crop (leads, T); evaluation items every window of the record,
    stacked (W, leads, T), which :func:`collate_windows` concatenates across records.
    """

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
        if self.kind in BEAT_INPUTS:
            assert self.cache.features is not None
            out["features"] = np.asarray(self.cache.features[row], np.float32)
        raw = crop(self.cache.signal(row), start, self.win.length)
        if self.kind in ("signal", "both", "signal_features"):
            x = raw
            if rng is not None and self.aug is not None:
                if self.aug.scale:
                    x = augment.scale(x, rng, self.aug.scale)
                if self.aug.noise_std_mv:
                    x = augment.gaussian_noise(x, rng, self.aug.noise_std_mv)
                if self.aug.wander_mv:
                    x = augment.baseline_wander(x, rng, self.aug.wander_mv, self.fs)
            out["signal"] = self.norm.signal(x)
        if self.kind in ("spectrogram", "both"):
            out["spectrogram"] = self.norm.spectrogram(self._frames(row, start, raw))
        return out

    def _frames(self, row: int, start: int, raw: np.ndarray) -> np.ndarray:
        """The window's STFT frames: cached where the window starts on a frame and fits."""
        win = self.win
        assert win.hop is not None and win.frames is not None and win.spectrogram is not None
        first = start // win.hop
        if start % win.hop == 0 and start + win.length <= self.cache.lengths[row]:
            return np.asarray(
                self.cache.spectrogram(row)[:, :, first : first + win.frames], np.float32
            )
        s = win.spectrogram
        _, _, spec = dsp.spectrogram(
            raw, self.fs, s["window"], s["overlap"], s["f_min"], s["f_max"]
        )
        return spec.astype(np.float32)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        row = int(self.rows[i])
        target = torch.as_tensor(np.asarray(self.cache.labels[row]))
        if self.train:
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ()).item()))
            shift = self.aug is None or self.aug.shift
            last = max(int(self.cache.lengths[row]) - self.win.length, 0)
            start = int(rng.integers(0, last + 1)) if shift else 0
            if self.win.hop is not None:
                start -= start % self.win.hop  # on a frame: the cached spectrogram serves it
            parts = self._cut(row, start, rng)
            return {k: torch.from_numpy(v) for k, v in parts.items()} | {"target": target}
        cuts = [self._cut(row, s, None) for s in self.win.starts(int(self.cache.lengths[row]))]
        stacked = {k: torch.from_numpy(np.stack([c[k] for c in cuts])) for k in cuts[0]}
        return stacked | {"target": target, "index": torch.tensor(i)}


def collate_windows(items: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Records' windows, concatenated: (sum W, ...) inputs, (B,) ``n_windows``, (B, ...) targets,
    (B,) ``index`` (each record's place in the split)."""
    per_record = ("target", "index")
    inputs = [k for k in items[0] if k not in per_record]
    batch = {k: torch.cat([item[k] for item in items]) for k in inputs}
    batch["n_windows"] = torch.tensor([len(item[inputs[0]]) for item in items])
    for k in per_record:
        batch[k] = torch.stack([item[k] for item in items])
    return batch


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
        self.rows = {name: load_npy(split_dir / f"{name}.npy") for name in SPLITS}
        meta = self.cache.meta
        spec = meta["spectrogram"] if kind != "signal" else None
        if kind in BEAT_INPUTS:
            spec = None
            if self.cache.features is None:
                raise ValueError(
                    "this model reads per-row features (RR intervals of beats), which only beat "
                    "data has (data=mitdb); pick another model"
                )
        elif kind != "signal" and spec is None:
            raise ValueError("this model reads spectrograms; set preprocess.spectrogram.enabled")
        fs = float(meta["fs"])
        longest = int(self.cache.lengths.max()) / fs
        crop_s = cfg.crop_s if cfg.crop_s is not None else longest
        window_s = cfg.eval_window_s if cfg.eval_window_s is not None else longest
        self.train_windows = Windowing.of(crop_s, 1 / fs, fs, spec)
        self.eval_windows = Windowing.of(window_s, cfg.eval_stride_s, fs, spec)
        if normalizer is not None:
            self.normalizer = normalizer
        elif cfg.normalize != "none":
            train = self.rows["train"]
            self.normalizer = Normalizer.fit(
                (self.cache.signal(r) for r in train),
                (self.cache.spectrogram(r) for r in train) if spec is not None else None,
                per_window=cfg.normalize == "per_window",
                leads=self.cache.n_leads,
            )
        else:
            self.normalizer = Normalizer.identity(
                self.cache.n_leads, None if spec is None else self.cache.n_freqs
            )

    @property
    def multilabel(self) -> bool:
        return self.cache.meta["label_kind"] == "multilabel"

    @property
    def n_classes(self) -> int:
        return len(self.cache.classes)

    @property
    def n_leads(self) -> int:
        return self.cache.n_leads

    def reads(self) -> contract.Reads:
        """What the data holds, to check a model against (:func:`ecgpipe.core.contract.check`)."""
        meta = self.cache.meta
        return contract.Reads.of(meta["leads"], meta["fs"], self.cache.classes)

    def class_counts(self) -> np.ndarray:
        """Positives per class in the training split."""
        y = self.cache.labels[self.rows["train"]]
        return y.sum(axis=0) if y.ndim == 2 else np.bincount(y, minlength=self.n_classes)

    def n_padded(self, split: str) -> int:
        """Records of ``split`` shorter than its crop (train) or window (val, test): zero-padded."""
        win = self.train_windows if split == "train" else self.eval_windows
        return int((self.cache.lengths[self.rows[split]] < win.length).sum())

    def log_padding(self) -> None:
        """A line for each of training and validation with records shorter than its windows."""
        for split, win in (("train", self.train_windows), ("val", self.eval_windows)):
            if n := self.n_padded(split):
                log.info(
                    "train: %d %s records are shorter than %.2f s; zero-padded at the end",
                    n,
                    split,
                    win.length / float(self.cache.meta["fs"]),
                )

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
        # a last batch of one would break batch norm: drop the remainder where there is a batch
        drop_last = len(self.rows["train"]) > self.cfg.batch_size
        if not self.cfg.weighted_sampler:
            return self._loader("train", shuffle=True, drop_last=drop_last)
        y = self.cache.labels[self.rows["train"]]
        freq = np.maximum(self.class_counts(), 1) / len(y)
        weights = (y / freq).max(axis=1) if y.ndim == 2 else 1 / freq[y]
        weights = np.where(weights > 0, weights, 1.0)
        sampler = WeightedRandomSampler(torch.as_tensor(weights, dtype=torch.double), len(y))
        return self._loader("train", sampler=sampler, drop_last=drop_last)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", collate_fn=collate_windows)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", collate_fn=collate_windows)
