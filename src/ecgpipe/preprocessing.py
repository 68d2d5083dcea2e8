"""Turn kept records into fixed-size arrays: filter, resample, fix length, spectrogram.

:func:`transform` is the per-record recipe (NumPy/SciPy, see :mod:`ecgpipe.signal`);
:func:`build_cache` runs it over a manifest in parallel chunks and streams the results into
memory-mapped arrays: each worker writes its rows straight into the files, so memory holds a
few records per worker, never the dataset, and nothing is copied back through the parent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from ecgpipe import atomic, signal
from ecgpipe.config import PreprocessConfig
from ecgpipe.errors import PipelineError
from ecgpipe.manifest import DatasetInfo, decode_labels
from ecgpipe.parallel import imap
from ecgpipe.progress import track


class PreprocessError(PipelineError):
    """A record cannot be preprocessed as configured."""


@dataclass(frozen=True)
class Layout:
    """Output shapes fixed by the configuration and the dataset's leads."""

    leads: tuple[str, ...]
    n_samples: int
    spectrogram: tuple[int, int] | None

    @classmethod
    def of(cls, cfg: PreprocessConfig, dataset_leads: tuple[str, ...]) -> Layout:
        leads = tuple(cfg.leads) if cfg.leads else dataset_leads
        n = round(cfg.duration_s * cfg.fs)
        s = cfg.spectrogram
        shape = (
            signal.spectrogram_shape(n, cfg.fs, s.window, s.overlap, s.f_min, s.f_max)
            if s.enabled
            else None
        )
        return cls(leads, n, shape)


def transform(
    x: np.ndarray, fs: float, names: list[str], cfg: PreprocessConfig, layout: Layout
) -> tuple[np.ndarray, np.ndarray | None]:
    """One record (leads, samples) in mV at ``fs`` -> (signal, spectrogram) at ``cfg.fs``."""
    x = signal.select_leads(x, names, layout.leads)
    if cfg.bandpass.enabled:
        b = cfg.bandpass
        x = signal.bandpass(x, fs, b.low_hz, b.high_hz, b.order)
    if cfg.notch.enabled:
        x = signal.notch(x, fs, cfg.notch.freq_hz, cfg.notch.quality)
    x = signal.resample(x, fs, cfg.fs)
    x = signal.fix_length(x, layout.n_samples, mode="start")
    spec = None
    if layout.spectrogram is not None:
        s = cfg.spectrogram
        _, _, spec = signal.spectrogram(x, cfg.fs, s.window, s.overlap, s.f_min, s.f_max)
    return x, spec


def load_record(path: Path) -> tuple[np.ndarray, float, list[str]]:
    """A WFDB record as (leads, samples) float64 in mV, its rate and lead names."""
    record = wfdb.rdrecord(str(path))
    return record.p_signal.T, float(record.fs), list(record.sig_name)


@dataclass(frozen=True)
class _Chunk:
    """A run of records and where their rows go in the memory-mapped outputs."""

    start: int
    items: list[tuple[str, Path]]
    signals: Path
    spectrograms: Path | None
    cfg: PreprocessConfig
    layout: Layout


def _process_chunk(chunk: _Chunk) -> int:
    """Transform a chunk's records and write them straight into the memmaps (no copy back)."""
    sigs = np.load(chunk.signals, mmap_mode="r+")
    specs = np.load(chunk.spectrograms, mmap_mode="r+") if chunk.spectrograms else None
    for k, (record_id, path) in enumerate(chunk.items, start=chunk.start):
        try:
            x, fs, names = load_record(path)
            if not np.isfinite(x).all():
                raise ValueError("it holds NaN or infinite samples (was it validated?)")
            sig, spec = transform(x, fs, names, chunk.cfg, chunk.layout)
        except (OSError, ValueError) as err:
            raise PreprocessError(f"record {record_id} ({path}): {err}") from None
        sigs[k] = sig
        if specs is not None:
            specs[k] = spec
    sigs.flush()
    if specs is not None:
        specs.flush()
    return len(chunk.items)


def label_array(labels: pd.Series, info: DatasetInfo) -> np.ndarray:
    """(N, C) uint8 indicators for multilabel data, (N,) int64 class ids (-1 = none) else."""
    position = {c: i for i, c in enumerate(info.classes)}
    decoded = [decode_labels(x) for x in labels]
    if info.label_kind == "multilabel":
        y = np.zeros((len(decoded), len(info.classes)), np.uint8)
        for i, names in enumerate(decoded):
            y[i, [position[n] for n in names]] = 1
        return y
    return np.array([position[n[0]] if n else -1 for n in decoded], np.int64)


def build_cache(
    df: pd.DataFrame, info: DatasetInfo, root: Path, cfg: PreprocessConfig, out: Path
) -> dict:
    """Preprocess every manifest row into the cache at ``out`` (see :mod:`ecgpipe.cache`)."""
    layout = Layout.of(cfg, info.leads)
    items = [(r.record_id, root / r.path) for r in df.itertuples(index=False)]
    n, dtype = len(items), np.dtype(cfg.dtype)
    shapes = {"signals": [n, len(layout.leads), layout.n_samples]}
    if layout.spectrogram:
        shapes["spectrograms"] = [n, len(layout.leads), *layout.spectrogram]
    y = label_array(df["labels"], info)
    shapes["labels"] = list(y.shape)

    with atomic.directory(out) as tmp:
        targets = {name: tmp / f"{name}.npy" for name in shapes if name != "labels"}
        for name, target in targets.items():
            np.lib.format.open_memmap(target, "w+", dtype, tuple(shapes[name])).flush()
        chunks = [
            _Chunk(
                i,
                items[i : i + cfg.chunk_size],
                targets["signals"],
                targets.get("spectrograms"),
                cfg,
                layout,
            )
            for i in range(0, n, cfg.chunk_size)
        ]
        done = imap(_process_chunk, chunks, cfg.workers)
        for _ in track(done, len(chunks), f"preprocess ({cfg.chunk_size} records per step)"):
            pass
        np.save(tmp / "labels.npy", y)
        index = df[["record_id", "patient_id", "fold"]].reset_index(drop=True)
        index.insert(0, "row", np.arange(n))
        index.to_csv(tmp / "index.csv", index=False, lineterminator="\n")
        meta = {
            "dataset": info.name,
            "task": info.task,
            "label_kind": info.label_kind,
            "classes": list(info.classes),
            "fs": cfg.fs,
            "leads": list(layout.leads),
            "n_samples": layout.n_samples,
            "dtype": cfg.dtype,
            "spectrogram": cfg.spectrogram.model_dump() if layout.spectrogram else None,
            "shapes": shapes,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta
