"""The preprocessed cache in ``data/processed``: records of any length, memory-mapped.

Rows are records, or (``meta["unit"] == "beat"``,
:func:`ecgpipe.processing.preprocessing.build_beat_cache`) heartbeats: one fixed-length window per
annotated beat, ``record_id`` naming the record it is from. Rows are stored one after another in
flat arrays, never padded to the longest:

- ``signals.npy``: 1-D float32 or float16. Record ``i`` is the block of ``leads * n_i`` values
  starting at ``leads * offsets[i]``, shaped (leads, n_i): :meth:`Cache.signal` returns it as a
  view, without a copy;
- ``spectrograms.npy`` (when enabled): 1-D, likewise; record ``i`` is (leads, F, frames_i), the
  log-magnitude STFT frames that fit in the record (:meth:`Cache.spectrogram`);
- ``labels.npy``: (N, C) uint8 for multilabel data, (N,) int64 class ids (-1 = none) otherwise;
- ``features.npy`` (beat data): (N, K) float32, the RR features named in ``meta.json``;
- ``index.csv``: row -> record_id, patient_id, fold, n_samples (at the cache's rate); for beat
  data also the beat's ``sample`` and ``record_fs`` (the record's own rate) and ``symbol``;
- ``meta.json``: rates, leads, classes, the spectrogram's settings, array sizes; written last.

The whole folder is built under a temp name and swapped in (:func:`ecgpipe.core.atomic.directory`),
and :meth:`Cache.open` checks every array against ``meta.json`` and ``index.csv``, so an
interrupted run never leaves something that passes for a complete cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import read_json
from ecgpipe.processing import dsp

FILES = ("signals.npy", "labels.npy", "index.csv", "meta.json")


class CacheError(PipelineError):
    """The cache is missing, incomplete or inconsistent."""


def spectrogram_frames(n_samples: np.ndarray | int, spec: dict) -> np.ndarray:
    """Whole STFT frames in records of ``n_samples`` (0 for a record shorter than the window)."""
    n = np.asarray(n_samples, dtype=np.int64)
    hop = dsp.spectrogram_hop(spec["window"], spec["overlap"])
    return np.where(n >= spec["window"], 1 + (n - spec["window"]) // hop, 0)


def offsets(lengths: np.ndarray) -> np.ndarray:
    """(N + 1,) start of each record in a flat array of records ``lengths`` long, and the end."""
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])


@dataclass(frozen=True)
class Cache:
    path: Path
    meta: dict
    index: pd.DataFrame
    signals: np.ndarray
    """The flat signal array (see the module docstring); use :meth:`signal` for a record."""
    labels: np.ndarray
    spectrograms: np.ndarray | None
    features: np.ndarray | None = None
    """(N, K) per-row features (beat data), else ``None``."""
    lengths: np.ndarray = field(init=False)
    """(N,) samples per record."""
    frames: np.ndarray | None = field(init=False)
    """(N,) spectrogram frames per record."""
    _offsets: np.ndarray = field(init=False, repr=False)
    _frame_offsets: np.ndarray | None = field(init=False, repr=False)

    def __post_init__(self) -> None:  # derived from index.csv and meta.json, never stored
        lengths = self.index["n_samples"].to_numpy(np.int64)
        spec = self.meta["spectrogram"]
        frames = None if spec is None else spectrogram_frames(lengths, spec)
        object.__setattr__(self, "lengths", lengths)
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "_offsets", offsets(lengths))
        object.__setattr__(self, "_frame_offsets", None if frames is None else offsets(frames))

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def patients(self) -> np.ndarray:
        return self.index["patient_id"].to_numpy()

    @property
    def unit(self) -> str:
        """What a row is: ``record`` or ``beat``."""
        return self.meta.get("unit", "record")

    @property
    def n_leads(self) -> int:
        return len(self.meta["leads"])

    @property
    def n_freqs(self) -> int | None:
        return self.meta.get("n_freqs")

    def signal(self, row: int) -> np.ndarray:
        """Record ``row`` as a (leads, n) view into the memory map."""
        start, end = self._offsets[row], self._offsets[row + 1]
        return self.signals[self.n_leads * start : self.n_leads * end].reshape(self.n_leads, -1)

    def spectrogram(self, row: int) -> np.ndarray:
        """Record ``row``'s STFT frames as a (leads, F, frames) view into the memory map."""
        if self._frame_offsets is None or self.spectrograms is None or self.n_freqs is None:
            raise CacheError(f"{self.path}: holds no spectrograms (preprocess.spectrogram.enabled)")
        start, end = self._frame_offsets[row], self._frame_offsets[row + 1]
        size = self.n_leads * self.n_freqs
        return self.spectrograms[size * start : size * end].reshape(self.n_leads, self.n_freqs, -1)

    @classmethod
    def open(cls, path: str | Path) -> Cache:
        """Open a cache read-only, arrays memory-mapped; raise if it is not complete."""
        path = Path(path)
        hint = "run `dvc repro preprocess` to rebuild it"
        if missing := [f for f in FILES if not (path / f).is_file()]:
            raise CacheError(f"{path}: not a complete preprocessed cache (lacks {missing}); {hint}")
        meta = read_json(path / "meta.json", ("shapes", "spectrogram"))
        index = pd.read_csv(
            path / "index.csv", dtype={"record_id": str, "patient_id": str}, keep_default_na=False
        )
        try:
            # a plain ndarray over the mapping: slicing an np.memmap costs a subclass per view
            signals = np.load(path / "signals.npy", mmap_mode="r").view(np.ndarray)
            labels = np.load(path / "labels.npy")
            spectrograms = (
                np.load(path / "spectrograms.npy", mmap_mode="r").view(np.ndarray)
                if meta["spectrogram"] is not None
                else None
            )
            features = np.load(path / "features.npy") if meta.get("features") else None
        except (OSError, ValueError) as err:
            raise CacheError(f"{path}: an array is unreadable ({err}); {hint}") from None
        shapes = {"signals": signals.shape, "labels": labels.shape}
        if spectrograms is not None:
            shapes["spectrograms"] = spectrograms.shape
        if features is not None:
            shapes["features"] = features.shape
        for name, shape in shapes.items():
            if list(shape) != meta["shapes"][name]:
                raise CacheError(
                    f"{path}: {name}.npy has shape {list(shape)}, meta.json says "
                    f"{meta['shapes'][name]}; {hint}"
                )
        if len(index) != len(labels):
            raise CacheError(f"{path}: index.csv has {len(index)} rows for {len(labels)} labels")
        cache = cls(path, meta, index, signals, labels, spectrograms, features)
        if cache._offsets[-1] * cache.n_leads != signals.size:
            raise CacheError(
                f"{path}: index.csv's lengths add up to {cache._offsets[-1]} samples per lead, "
                f"signals.npy holds {signals.size // max(cache.n_leads, 1)}; {hint}"
            )
        return cache
