"""Stretches of the training records as records of their own (``train.segments``).

A beat's features are computed from its whole record (its rhythm over minutes, the record's
template beat), so a model trained on whole half-hour records meets only their compositions: a
test patient whose ectopic beats are the majority, or a record of a few seconds, is new to it.
Cutting each training record into stretches and recomputing every feature as if the stretch were
the whole record (the code ``preprocess`` and ``ecgpipe predict`` use) shows the model those
compositions with the labels it already has:

- ``random``: stretches of :data:`RANDOM_BEATS` beats at random places, per record;
- ``dense``: for each class named, the runs of :data:`DENSE_BEATS` beats (:data:`DENSE_DRAWS`
  widths drawn per record) where that class is at least half the beats
  (:func:`ecgpipe.processing.beats.dense_stretches`).

Only training records are cut; validation and test stay whole records.
"""

from __future__ import annotations

import numpy as np

from ecgpipe.config.schema import BeatsConfig, SegmentsConfig
from ecgpipe.processing import beat_features, beats
from ecgpipe.processing.cache import Cache, CacheError

RANDOM_BEATS = (20, 400)
"""The length of a random stretch, in beats (uniform, at most the record's)."""
DENSE_BEATS = (10, 60)
"""The width of the dense runs, in beats (uniform, drawn per record and class)."""
DENSE_DRAWS = 3
"""Widths drawn per record and class: the runs of each are added."""
DENSE_SHARE = 0.5


def stretches(
    labels: np.ndarray, cfg: SegmentsConfig, class_ids: dict[str, int], rng: np.random.Generator
) -> list[np.ndarray]:
    """The beat indices of each stretch cut from one record whose beats have class ``labels``."""
    n = len(labels)
    out = []
    for _ in range(cfg.random):
        length = int(rng.integers(RANDOM_BEATS[0], RANDOM_BEATS[1] + 1))
        start = int(rng.integers(0, max(n - length, 0) + 1))
        out.append(np.arange(start, min(start + length, n)))
    for name in cfg.dense:
        for _ in range(DENSE_DRAWS):
            width = int(rng.integers(DENSE_BEATS[0], DENSE_BEATS[1] + 1))
            out += beats.dense_stretches(labels == class_ids[name], width, DENSE_SHARE)
    return out


def augment(
    cache: Cache, rows: np.ndarray, b: BeatsConfig, cfg: SegmentsConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Features and class ids of the beats of the stretches cut from the records of ``rows``
    (beat rows of ``cache``), beats of classes left out dropped."""
    if "record_fs" not in cache.index:
        raise CacheError(
            f"{cache.path}: index.csv predates train.segments (no record_fs column); run "
            "`dvc repro preprocess` to rebuild it"
        )
    n_features = cache.features.shape[1] if cache.features is not None else 0
    if not (cfg.random or cfg.dense):
        return np.zeros((0, n_features), np.float32), np.zeros(0, np.int64)
    fs = float(cache.meta["fs"])
    before = round(b.before_s * fs)
    windows = cache.signals.reshape(len(cache.labels), cache.n_leads, -1)
    record_ids = cache.index["record_id"].to_numpy()
    samples = cache.index["sample"].to_numpy(np.int64)
    record_fs = cache.index["record_fs"].to_numpy(np.float64)
    class_ids = {c: i for i, c in enumerate(cache.classes)}
    rng = np.random.default_rng(seed)
    features, labels = [], []
    for record in dict.fromkeys(record_ids[rows]):  # in order, once each
        beat_rows = np.flatnonzero(record_ids == record)  # every beat, labelled or not
        y = cache.labels[beat_rows]
        for part in stretches(y, cfg, class_ids, rng):
            at = beat_rows[part]
            x = beat_features.compute(
                b.features, samples[at], record_fs[at[0]], windows[at], before, fs, b.rr_context
            )
            keep = y[part] >= 0
            features.append(x[keep])
            labels.append(y[part][keep])
    if not features:
        return np.zeros((0, n_features), np.float32), np.zeros(0, np.int64)
    return np.concatenate(features).astype(np.float32), np.concatenate(labels)
