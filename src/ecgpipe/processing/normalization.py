"""Z-scoring: per lead with statistics from the training split only, or per window.

``per_window`` scales each window of each lead by its own mean and standard deviation (floored at
:data:`WINDOW_STD_FLOOR` mV, so a flat stretch is not blown up into noise): what a single-lead
device whose gain and contact vary from recording to recording calls for. Spectrograms are always
z-scored with training statistics.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ecgpipe.core import atomic
from ecgpipe.core.paths import broken, read_json

WINDOW_STD_FLOOR = 0.01
"""mV: a window flatter than this is centred, not scaled up (``per_window``)."""


@dataclass(frozen=True)
class Normalizer:
    """``(x - mean) / std`` per lead (signal) and per lead and frequency (spectrogram)."""

    signal_mean: np.ndarray  # (leads,)
    signal_std: np.ndarray
    spectrogram_mean: np.ndarray | None = None  # (leads, F)
    spectrogram_std: np.ndarray | None = None
    per_window: bool = False
    """Signals: each window by its own statistics (``signal_mean`` 0, ``signal_std`` 1)."""

    @classmethod
    def identity(cls, leads: int, freqs: int | None) -> Normalizer:
        """No change: mean 0, std 1."""
        zeros, ones = np.zeros(leads, np.float32), np.ones(leads, np.float32)
        if freqs is None:
            return cls(zeros, ones)
        shape = (leads, freqs)
        return cls(zeros, ones, np.zeros(shape, np.float32), np.ones(shape, np.float32))

    @classmethod
    def fit(
        cls,
        signals: Iterable[np.ndarray],
        spectrograms: Iterable[np.ndarray] | None = None,
        *,
        per_window: bool = False,
        leads: int | None = None,
    ) -> Normalizer:
        """Statistics over records of any length: (leads, T) signals, (leads, F, T') spectrograms.

        Accumulated record by record in float64 (records may be memory-mapped views). With
        ``per_window`` the signals need no statistics (give ``leads`` instead of ``signals``).
        """
        if per_window:
            assert leads is not None
            sig = np.zeros(leads, np.float32), np.ones(leads, np.float32)
        else:
            sig = _moments(signals)
        spec = _moments(spectrograms) if spectrograms is not None else (None, None)
        return cls(*sig, *spec, per_window=per_window)

    def signal(self, x: np.ndarray) -> np.ndarray:
        """Normalise (..., leads, T)."""
        if self.per_window:
            std = np.maximum(x.std(axis=-1, keepdims=True), WINDOW_STD_FLOOR)
            return ((x - x.mean(axis=-1, keepdims=True)) / std).astype(np.float32)
        return ((x - self.signal_mean[:, None]) / self.signal_std[:, None]).astype(np.float32)

    def spectrogram(self, s: np.ndarray) -> np.ndarray:
        """Normalise (..., leads, F, T')."""
        assert self.spectrogram_mean is not None and self.spectrogram_std is not None
        mean, std = self.spectrogram_mean[..., None], self.spectrogram_std[..., None]
        return ((s - mean) / std).astype(np.float32)

    def to_dict(self) -> dict:
        return {
            k: v if v is None or isinstance(v, bool) else np.asarray(v).tolist()
            for k, v in self.__dict__.items()
        }

    def save(self, path: Path) -> None:
        atomic.write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: Path) -> Normalizer:
        """What :meth:`save` wrote, or one line naming the file: a per-lead mean and std (lists
        of finite numbers of one length), the spectrogram's (tables of one shape) or none."""
        raw = read_json(path, ("signal_mean", "signal_std"))
        if not isinstance(per_window := raw.get("per_window", False), bool):
            raise broken(path, f"its per_window is {json.dumps(per_window)}, not true or false")
        if unknown := set(raw) - {f.name for f in fields(cls)}:
            raise broken(path, f"not a normalisation ecgpipe wrote (it has {sorted(unknown)})")
        arrays = {}
        for key in ("signal_mean", "signal_std", "spectrogram_mean", "spectrogram_std"):
            if raw.get(key) is None and key.startswith("spectrogram"):
                continue
            try:
                arrays[key] = np.asarray(raw[key], np.float32)
            except (ValueError, TypeError):
                arrays[key] = None
            ndim = 1 if key.startswith("signal") else 2
            a = arrays[key]
            if a is None or a.ndim != ndim or not a.size or not np.isfinite(a).all():
                what = "a list" if ndim == 1 else "a table (a list of lists)"
                raise broken(path, f"its {key} is not {what} of finite numbers")
        pairs = [("signal_mean", "signal_std"), ("spectrogram_mean", "spectrogram_std")]
        for mean, std in pairs:
            shapes = [arrays[k].shape if k in arrays else None for k in (mean, std)]
            if shapes[0] != shapes[1]:
                raise broken(
                    path, f"its {mean} and {std} differ in shape ({shapes[0]}, {shapes[1]})"
                )
        return cls(**arrays, per_window=per_window)


def _moments(records: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std over every record's last (time) axis, per position of the others."""
    total = sq = None
    count = 0
    for record in records:
        x = np.asarray(record, dtype=np.float64)
        s, q = x.sum(axis=-1), np.einsum("...t,...t->...", x, x)
        total, sq = (s, q) if total is None else (total + s, sq + q)
        count += x.shape[-1]
    if total is None or count == 0:
        raise ValueError("normalisation statistics need at least one sample")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 0.0))
    return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)
