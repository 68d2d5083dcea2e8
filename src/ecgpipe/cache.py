"""The preprocessed cache in ``data/processed``: memory-mapped arrays plus an index.

- ``signals.npy``: (N, leads, T) float32 or float16, opened memory-mapped;
- ``spectrograms.npy``: (N, leads, F, T') log-magnitude STFTs (when enabled);
- ``labels.npy``: (N, C) uint8 for multilabel data, (N,) int64 class ids (-1 = none) otherwise;
- ``index.csv``: row -> record_id, patient_id, fold;
- ``meta.json``: rates, leads, classes, shapes; written last.

The whole folder is built under a temp name and swapped in (:func:`ecgpipe.atomic.directory`),
and :meth:`Cache.open` checks every array against ``meta.json``, so an interrupted run never
leaves something that passes for a complete cache.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe.errors import PipelineError

FILES = ("signals.npy", "labels.npy", "index.csv", "meta.json")


class CacheError(PipelineError):
    """The cache is missing, incomplete or inconsistent."""


@dataclass(frozen=True)
class Cache:
    path: Path
    meta: dict
    index: pd.DataFrame
    signals: np.ndarray
    labels: np.ndarray
    spectrograms: np.ndarray | None

    @property
    def classes(self) -> list[str]:
        return list(self.meta["classes"])

    @property
    def patients(self) -> np.ndarray:
        return self.index["patient_id"].to_numpy()

    @classmethod
    def open(cls, path: str | Path) -> Cache:
        """Open a cache read-only, arrays memory-mapped; raise if it is not complete."""
        path = Path(path)
        hint = "run `dvc repro preprocess` to rebuild it"
        if missing := [f for f in FILES if not (path / f).is_file()]:
            raise CacheError(f"{path}: not a complete preprocessed cache (lacks {missing}); {hint}")
        meta = json.loads((path / "meta.json").read_text())
        index = pd.read_csv(
            path / "index.csv", dtype={"record_id": str, "patient_id": str}, keep_default_na=False
        )
        try:
            signals = np.load(path / "signals.npy", mmap_mode="r")
            labels = np.load(path / "labels.npy")
            spectrograms = (
                np.load(path / "spectrograms.npy", mmap_mode="r")
                if meta["spectrogram"] is not None
                else None
            )
        except ValueError as err:
            raise CacheError(f"{path}: an array is unreadable ({err}); {hint}") from None
        shapes = {"signals": signals.shape, "labels": labels.shape}
        if spectrograms is not None:
            shapes["spectrograms"] = spectrograms.shape
        for name, shape in shapes.items():
            if list(shape) != meta["shapes"][name]:
                raise CacheError(
                    f"{path}: {name}.npy has shape {list(shape)}, meta.json says "
                    f"{meta['shapes'][name]}; {hint}"
                )
        if len(index) != signals.shape[0]:
            raise CacheError(
                f"{path}: index.csv has {len(index)} rows for {signals.shape[0]} records"
            )
        return cls(path, meta, index, signals, labels, spectrograms)
