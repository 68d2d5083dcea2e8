"""Turn kept records into the cache: filter, resample, (optionally) fix length, spectrogram.

:func:`transform` is the per-record recipe (NumPy/SciPy, see :mod:`ecgpipe.processing.dsp`);
:func:`build_cache` runs it over a manifest in parallel chunks and streams the results into
flat memory-mapped arrays (:mod:`ecgpipe.processing.cache`). Each record's place is known
before any is read (its validated length, resampled), so each worker writes its records straight
into the files: memory holds a few records per worker, never the dataset, and nothing is copied back
through the parent.

Beat data (``label_kind`` ``beat``, :func:`build_beat_cache`) makes one row per annotated beat
instead: the same filtering and resampling per record, then a window around each R peak and its
features, from that record alone (:func:`beat_rows`, :mod:`ecgpipe.processing.beat_features`).
Beats are small (about 100,000 of 0.7 s in MIT-BIH), so workers return them and the parent
writes the arrays.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe.config.schema import PreprocessConfig
from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.parallel import imap
from ecgpipe.core.progress import track
from ecgpipe.data.manifest import DatasetInfo, decode_labels
from ecgpipe.data.wfdb_io import read_annotations, read_record
from ecgpipe.processing import beat_features, beats, dsp
from ecgpipe.processing.cache import offsets, spectrogram_frames


class PreprocessError(PipelineError):
    """A record cannot be preprocessed as configured."""


@dataclass(frozen=True)
class Layout:
    """What every cached record shares: its leads, a fixed length if any, the STFT's settings."""

    leads: tuple[str, ...]
    n_samples: int | None
    """Every record padded or cropped to this; ``None``: each keeps its own length."""
    n_freqs: int | None
    """Spectrogram bins kept; ``None`` when spectrograms are off."""

    @classmethod
    def of(cls, cfg: PreprocessConfig, dataset_leads: tuple[str, ...]) -> Layout:
        leads = tuple(cfg.leads) if cfg.leads else dataset_leads
        n = None if cfg.duration_s is None else round(cfg.duration_s * cfg.fs)
        s = cfg.spectrogram
        freqs = int(dsp.spectrogram_bins(s.window, cfg.fs, s.f_min, s.f_max)[0].sum())
        return cls(leads, n, freqs if s.enabled else None)

    def length(self, n_samples: int, fs: float, out_fs: float) -> int:
        """Samples a record of ``n_samples`` at ``fs`` has in the cache."""
        return self.n_samples or dsp.resampled_length(n_samples, fs, out_fs)


def transform(
    x: np.ndarray, fs: float, names: list[str], cfg: PreprocessConfig, layout: Layout
) -> tuple[np.ndarray, np.ndarray | None]:
    """One record (leads, samples) in mV at ``fs`` -> (signal, spectrogram) at ``cfg.fs``.

    The spectrogram holds the record's whole STFT frames: (leads, F, 0) for a record shorter
    than one STFT window.
    """
    x = dsp.select_leads(x, names, layout.leads)
    if cfg.bandpass.enabled:
        b = cfg.bandpass
        x = dsp.bandpass(x, fs, b.low_hz, b.high_hz, b.order)
    if cfg.notch.enabled:
        x = dsp.notch(x, fs, cfg.notch.freq_hz, cfg.notch.quality)
    x = dsp.resample(x, fs, cfg.fs)
    if layout.n_samples is not None:
        x = dsp.fix_length(x, layout.n_samples, mode="start")
    spec = None
    if layout.n_freqs is not None:
        s = cfg.spectrogram
        if x.shape[-1] >= s.window:
            _, _, spec = dsp.spectrogram(x, cfg.fs, s.window, s.overlap, s.f_min, s.f_max)
        else:
            spec = np.zeros((len(layout.leads), layout.n_freqs, 0), x.dtype)
    return x, spec


def load_record(path: Path) -> tuple[np.ndarray, float, list[str]]:
    """A WFDB record as (leads, samples) float64 in mV, its rate and lead names."""
    record = read_record(path)
    return record.p_signal.T, float(record.fs), list(record.sig_name)


@dataclass(frozen=True)
class _Chunk:
    """A run of records and where their blocks go in the flat memory-mapped outputs."""

    items: list[tuple[str, Path, int, int, int, int]]
    """(record_id, path, samples at, samples, frames at, frames) per record."""
    signals: Path
    spectrograms: Path | None
    cfg: PreprocessConfig
    layout: Layout


def _process_chunk(chunk: _Chunk) -> int:
    """Transform a chunk's records and write them straight into the memmaps (no copy back). The
    pages reach the files through the shared mapping, synced once by :func:`build_cache`, not
    per chunk (an msync of the whole mapping each time), and unmapped when the chunk is done, so
    memory stays bounded by the chunk."""
    sigs = np.load(chunk.signals, mmap_mode="r+")
    specs = np.load(chunk.spectrograms, mmap_mode="r+") if chunk.spectrograms else None
    leads, freqs = len(chunk.layout.leads), chunk.layout.n_freqs or 0
    for record_id, path, at, n, frame_at, frames in chunk.items:
        try:
            x, fs, names = load_record(path)
            if not np.isfinite(x).all():
                raise ValueError("it holds NaN or infinite samples (was it validated?)")
            sig, spec = transform(x, fs, names, chunk.cfg, chunk.layout)
            if sig.shape[-1] != n:
                raise ValueError(
                    f"it has {sig.shape[-1]} samples at {chunk.cfg.fs} Hz, its validated header "
                    f"{n} (was it changed after validate?)"
                )
        except (OSError, ValueError) as err:
            raise PreprocessError(f"record {record_id} ({path}): {err}") from None
        sigs[leads * at : leads * (at + n)] = sig.ravel()
        if specs is not None:
            assert spec is not None and spec.shape[-1] == frames
            specs[leads * freqs * frame_at : leads * freqs * (frame_at + frames)] = spec.ravel()
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
    """Preprocess every manifest row into the cache at ``out`` (see
    :mod:`ecgpipe.processing.cache`)."""
    layout = Layout.of(cfg, info.leads)
    lengths = np.array(
        [layout.length(int(r.n_samples), float(r.fs), cfg.fs) for r in df.itertuples()], np.int64
    )
    spec = cfg.spectrogram.model_dump() if layout.n_freqs is not None else None
    frames = spectrogram_frames(lengths, spec) if spec else np.zeros_like(lengths)
    at, frame_at = offsets(lengths), offsets(frames)
    items = [
        (r.record_id, root / r.path, int(at[i]), int(lengths[i]), int(frame_at[i]), int(frames[i]))
        for i, r in enumerate(df.itertuples(index=False))
    ]
    n, dtype, leads = len(items), np.dtype(cfg.dtype), len(layout.leads)
    shapes = {"signals": [int(at[-1]) * leads]}
    if spec:
        shapes["spectrograms"] = [int(frame_at[-1]) * leads * layout.n_freqs]
    y = label_array(df["labels"], info)
    shapes["labels"] = list(y.shape)

    with atomic.directory(out) as tmp:
        arrays = [math.prod(shape) for name, shape in shapes.items() if name != "labels"]
        atomic.reserve(tmp, sum(arrays) * dtype.itemsize, out)
        targets = {name: tmp / f"{name}.npy" for name in shapes if name != "labels"}
        for name, target in targets.items():
            np.lib.format.open_memmap(target, "w+", dtype, tuple(shapes[name])).flush()
        chunks = [
            _Chunk(
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
        for target in targets.values():  # every worker's pages on disk, once
            with open(target, "rb+") as fh:
                os.fsync(fh.fileno())
        np.save(tmp / "labels.npy", y)
        index = df[["record_id", "patient_id", "fold"]].reset_index(drop=True)
        index.insert(0, "row", np.arange(n))
        index["n_samples"] = lengths
        index.to_csv(tmp / "index.csv", index=False, lineterminator="\n")
        meta = {
            "dataset": info.name,
            "task": info.task,
            "label_kind": info.label_kind,
            "classes": list(info.classes),
            "fs": cfg.fs,
            "leads": list(layout.leads),
            "n_records": n,
            "duration_s": _durations(lengths, cfg.fs),
            "dtype": cfg.dtype,
            "spectrogram": spec,
            "n_freqs": layout.n_freqs,
            "shapes": shapes,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


@dataclass(frozen=True)
class _BeatJob:
    record_id: str
    path: Path
    annotator: str
    classes: tuple[str, ...]
    cfg: PreprocessConfig
    layout: Layout


@dataclass(frozen=True)
class _RecordBeats:
    windows: np.ndarray
    """(n, leads, length) at the cache's rate."""
    features: np.ndarray
    labels: np.ndarray
    """(n,) class ids; -1 for a beat of a class left out of ``data.classes``."""
    samples: np.ndarray
    """R peaks, at the record's own rate (as annotated)."""
    fs: float
    """The record's own rate."""
    symbols: np.ndarray
    n_non_beat: int
    n_padded: int


def beat_rows(
    sig: np.ndarray, samples: np.ndarray, fs: float, cfg: PreprocessConfig
) -> tuple[np.ndarray, np.ndarray, int]:
    """One record's beats as rows: windows (n, leads, length) of its preprocessed signal ``sig``
    (at ``cfg.fs``) around R peaks at ``samples`` (at the record's own rate ``fs``), their
    features (``cfg.beats.features``, from this record alone) and how many windows were
    zero-padded. What ``preprocess`` caches and ``ecgpipe predict`` scores."""
    b = cfg.beats
    before, after = round(b.before_s * cfg.fs), round(b.after_s * cfg.fs)
    peaks = np.round(np.asarray(samples) * (cfg.fs / fs)).astype(np.int64)
    windows, n_padded = beats.windows(sig, np.minimum(peaks, sig.shape[-1] - 1), before, after)
    features = beat_features.compute(b.features, samples, fs, windows, before, cfg.fs, b.rr_context)
    return windows, features, n_padded


def _record_beats(job: _BeatJob) -> _RecordBeats:
    """One record's beats: windows of its filtered, resampled signal and their features."""
    try:
        x, fs, names = load_record(job.path)
        sig, _ = transform(x, fs, names, job.cfg, job.layout)
        samples, symbols = read_annotations(job.path, job.annotator)
    except (OSError, ValueError) as err:
        raise PreprocessError(f"record {job.record_id} ({job.path}): {err}") from None
    classes = beats.aami(symbols)
    is_beat = classes != ""
    samples, symbols, classes = samples[is_beat], symbols[is_beat], classes[is_beat]
    windows, features, n_padded = beat_rows(sig, samples, fs, job.cfg)
    position = {c: i for i, c in enumerate(job.classes)}
    return _RecordBeats(
        windows,
        features,
        np.array([position.get(c, -1) for c in classes], np.int64),
        samples,
        fs,
        symbols,
        int((~is_beat).sum()),
        n_padded,
    )


def build_beat_cache(
    df: pd.DataFrame, info: DatasetInfo, root: Path, cfg: PreprocessConfig, out: Path
) -> dict:
    """One cache row per annotated beat of every manifest record (see
    :mod:`ecgpipe.processing.cache`)."""
    if cfg.spectrogram.enabled:
        raise PreprocessError(
            "beat data has no spectrograms (a 0.7 s beat is too short for an STFT); set "
            "preprocess.spectrogram.enabled=false"
        )
    if info.annotator is None:
        raise PreprocessError(f"dataset {info.name} is beat data but names no annotation file")
    layout = Layout.of(cfg, info.leads)
    jobs = [
        _BeatJob(r.record_id, root / r.path, info.annotator, info.classes, cfg, layout)
        for r in df.itertuples(index=False)
    ]
    records = list(track(imap(_record_beats, jobs, cfg.workers), len(jobs), "preprocess"))
    index = pd.concat(
        [
            pd.DataFrame(
                {
                    "record_id": r.record_id,
                    "patient_id": r.patient_id,
                    "fold": r.fold,
                    "sample": b.samples,
                    "record_fs": b.fs,
                    "symbol": b.symbols,
                }
            )
            for r, b in zip(df.itertuples(index=False), records, strict=True)
        ],
        ignore_index=True,
    )
    dtype = np.dtype(cfg.dtype)
    n, leads = len(index), len(layout.leads)
    length = round(cfg.beats.before_s * cfg.fs) + round(cfg.beats.after_s * cfg.fs)
    labels = np.concatenate([b.labels for b in records]) if records else np.zeros(0, np.int64)
    features = (
        np.concatenate([b.features for b in records])
        if records
        else np.zeros((0, len(beat_features.names(cfg.beats.features, length))), np.float32)
    )
    shapes = {"signals": [n * leads * length], "labels": [n], "features": list(features.shape)}
    with atomic.directory(out) as tmp:
        atomic.reserve(tmp, n * leads * length * np.dtype(dtype).itemsize, out)
        signals = np.lib.format.open_memmap(tmp / "signals.npy", "w+", dtype, (n * leads * length,))
        at = 0
        for b in records:
            size = b.windows.size
            signals[at : at + size] = b.windows.ravel()
            at += size
        signals.flush()
        del signals
        np.save(tmp / "labels.npy", labels)
        np.save(tmp / "features.npy", features)
        index.insert(0, "row", np.arange(n))
        index.insert(4, "n_samples", length)
        index.to_csv(tmp / "index.csv", index=False, lineterminator="\n")
        meta = {
            "dataset": info.name,
            "task": info.task,
            "label_kind": "multiclass",
            "unit": "beat",
            "classes": list(info.classes),
            "fs": cfg.fs,
            "leads": list(layout.leads),
            "n_records": len(df),
            "n_beats": n,
            "beat_window_s": [cfg.beats.before_s, cfg.beats.after_s],
            "annotator": info.annotator,
            "features": list(beat_features.names(cfg.beats.features, length)),
            "n_non_beat": sum(b.n_non_beat for b in records),
            "n_padded_beats": sum(b.n_padded for b in records),
            "n_unlabelled": int((labels < 0).sum()),
            "duration_s": None,
            "dtype": cfg.dtype,
            "spectrogram": None,
            "n_freqs": None,
            "shapes": shapes,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def _durations(lengths: np.ndarray, fs: float) -> dict[str, float] | None:
    if lengths.size == 0:
        return None
    seconds = lengths / fs
    return {"min": float(seconds.min()), "max": float(seconds.max()), "total": float(seconds.sum())}
