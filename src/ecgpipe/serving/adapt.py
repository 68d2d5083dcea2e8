"""Transductive scoring: a beat model adapted to each record's own unlabelled beats.

A beat's features compare it with references estimated from its record without labels (the
minutes' mean RR, the template of beats that are not premature). Holter software does better on
a patient it has read through: it learns that patient's normal beat first, then calls every beat
against it. :func:`probabilities` does the same with any beat model whose features have a
reference (:data:`ecgpipe.config.schema.ADAPTABLE_SETS`): it scores the record as usual, takes
the beats the model calls normal with a probability of at least :data:`CONFIDENT`, recomputes
every beat's features against those beats' own references (the NN intervals over the minutes,
their median beat), scores again, and repeats until the calls settle (at most :data:`ROUNDS`
times).

It reads the whole record before calling any beat, so it is not a beat-by-beat (online)
classifier, and its figures are reported apart from the inductive ones. ``evaluate.adapt=true``
and ``ecgpipe predict --adapt`` both come here.
"""

from __future__ import annotations

import numpy as np

from ecgpipe.config.schema import ADAPTABLE_SETS
from ecgpipe.processing import beat_features
from ecgpipe.processing.cache import Cache, CacheError
from ecgpipe.serving.model import InputError, RecordModel

ROUNDS = 3
"""Re-estimations of the normal beats at most (the calls usually settle after one or two)."""
NORMAL = "N"
"""The class whose beats give the references."""
CONFIDENT = 0.9
"""The least probability of N of a beat that gives the references. Chosen on DS1's 5 folds of
patients (benchmarks/mitdb.py --adapt), among 0 (every N call), 0.9 and 0.98: the highest macro F1
over N, S, V and F (0.528, 0.534, 0.533)."""


def check(model: RecordModel) -> None:
    """An :class:`InputError` unless ``model`` is a beat model that can be adapted."""
    c = model.contract
    if not model.per_beat:
        raise InputError("adapting to a record's own beats is for beat models; this one scores "
                         "whole records")  # fmt: skip
    spec = c.preprocessing().beats.features
    if NORMAL not in c.classes:
        raise InputError(f"adapting needs a class {NORMAL!r} (normal beats); the model has "
                         f"{', '.join(c.classes)}")  # fmt: skip
    if not set(beat_features.parts(spec)) & set(ADAPTABLE_SETS):
        raise InputError(
            f"the model's beat features ({spec}) have no reference to adapt; sets with one: "
            f"{', '.join(ADAPTABLE_SETS)}"
        )


def probabilities(
    model: RecordModel, rows: np.ndarray, samples: np.ndarray, fs: float
) -> np.ndarray:
    """(n, C) probabilities of one record's beats, every one of them in order, adapted to the
    record: ``rows`` as the model takes them (windows, then features), R peaks at ``samples`` of
    the record's own rate ``fs``."""
    check(model)
    if not len(rows):
        return model.score([])
    c = model.contract
    cfg = c.preprocessing()
    b = cfg.beats
    rows = np.array(rows, np.float32)  # a copy: its feature columns are rewritten
    k = model.windows.n_features
    windows = rows[:, :-k].reshape(len(rows), len(c.leads), c.window)
    normal_id = c.classes.index(NORMAL)
    probs = model.score(list(rows))
    calls = _calls(model, probs, normal_id)
    for _ in range(ROUNDS):
        rows[:, -k:] = beat_features.compute(
            b.features, samples, fs, windows, round(b.before_s * cfg.fs), cfg.fs, b.rr_context,
            normal=calls,
        )  # fmt: skip
        probs = model.score(list(rows))
        new = _calls(model, probs, normal_id)
        if np.array_equal(new, calls):
            break
        calls = new
    return probs


def _calls(model: RecordModel, probs: np.ndarray, normal_id: int) -> np.ndarray:
    """Which beats the model's decision rule calls normal, with at least :data:`CONFIDENT`."""
    name = model.contract.classes[normal_id]
    called = np.array([labels == [name] for labels in model.decide(probs)], bool)
    return called & (probs[:, normal_id] >= CONFIDENT)


def cached(model: RecordModel, cache: Cache, rows: np.ndarray) -> np.ndarray:
    """(len(rows), C) probabilities of beat ``rows`` of a preprocessed ``cache`` (what
    ``evaluate.adapt`` scores), each record adapted to all of its beats, labelled or not."""
    if "record_fs" not in cache.index or cache.features is None:
        raise CacheError(f"{cache.path}: not a beat cache with the records' rates (record_fs); "
                         "run `dvc repro preprocess` to rebuild it")  # fmt: skip
    record_ids = cache.index["record_id"].to_numpy()
    samples = cache.index["sample"].to_numpy(np.int64)
    record_fs = cache.index["record_fs"].to_numpy(np.float64)
    flat = cache.signals.reshape(len(cache.labels), -1)
    out = np.zeros((len(rows), len(model.contract.classes)), np.float32)
    where = {int(r): i for i, r in enumerate(rows)}
    for record in dict.fromkeys(record_ids[rows]):  # in order, once each
        at = np.flatnonzero(record_ids == record)
        x = np.concatenate([flat[at], cache.features[at]], axis=1)
        probs = probabilities(model, x, samples[at], float(record_fs[at[0]]))
        for row, p in zip(at, probs, strict=True):
            if (i := where.get(int(row))) is not None:
                out[i] = p
    return out
