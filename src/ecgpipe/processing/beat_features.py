"""Per-beat features computed from one record alone, relative to that patient (no labels).

A premature supraventricular beat often looks normal: it shows only against the patient's own
rhythm. A normal beat of a patient with a wide QRS looks ventricular: it shows only against the
patient's own normal beat. So every feature is offered relative to the record as well as
absolute (de Chazal et al. 2004; Llamedo and Martinez 2011):

- **RR** (:func:`rr_relative`): the previous and next RR interval and the record's median RR in
  seconds; the previous and next interval, the mean of the last ``context`` intervals and the
  median of the ``context`` intervals each side (the local rhythm, both sides) in units of the
  record's median RR; and the ratios previous/local, next/local, previous/next. The first beat
  has no previous interval and the last no next one: those take the record's median.
- **Morphology** (:func:`morphology`), on the first lead of the beat windows, against the
  record's dominant beat (the sample-wise median of all its beats): QRS width (from the slope)
  and its ratio to the dominant beat's, QRS peak-to-peak amplitude and energy and their ratios,
  the correlation of the QRS and of the whole beat with the dominant one, the RMS of the
  difference, a P-wave score (peak-to-peak before the QRS over the QRS's) and its correlation
  with the dominant beat's P wave, the T wave's polarity (its signed extreme over the QRS
  amplitude) and correlation; then the beat (mV, less its median) and its difference from the
  dominant beat (in units of that beat's QRS amplitude) at :data:`OFFSETS_S` around the R peak.

:data:`FEATURE_SETS` names what ``preprocess.beats.features`` selects: ``rr``, the five RR
features of earlier versions (:func:`rr_basic`, units of the record's mean RR); ``relative``,
only the features relative to the record (:data:`RELATIVE`: no seconds, millivolts or sampled
waveform, which carry the patient's own scale); ``full``, everything above; or ``robust``,
against references that hold whatever share of the record's beats are ectopic, with the rhythm
around each beat (:mod:`ecgpipe.processing.beat_reference`); or the literature's morphology
descriptors (:data:`MORPHOLOGY_SETS`: ``de_chazal``, ``wavelet``, ``hos``, ``lbp``, ``hermite``,
:mod:`ecgpipe.processing.beat_morphology`). Sets join with ``+`` (``robust+wavelet+hos``), their
columns side by side (:func:`names`). Plain NumPy;
:func:`compute` is what ``preprocess`` and ``ecgpipe predict`` both call.

Given ``normal`` (the beats a model called normal, :mod:`ecgpipe.serving.adapt`), the sets with a
reference (``ADAPTABLE_SETS``: rr, relative, full, robust) take it from those beats: the
intervals between two normal beats for the record's RR, their median for its dominant beat
(where at least :data:`~ecgpipe.processing.beat_reference.MIN_TEMPLATE` are normal).
"""

from __future__ import annotations

import numpy as np

from ecgpipe.config.schema import BEAT_FEATURE_SETS
from ecgpipe.processing import beat_morphology, beat_reference, beats

RR_BASIC = ("pre_rr", "post_rr", "local_rr", "pre_post_ratio", "pre_local_ratio")
RR = (
    "pre_rr_s",
    "post_rr_s",
    "record_rr_s",
    "pre_rr",
    "post_rr",
    "past_rr",
    "local_rr",
    "pre_local_ratio",
    "post_local_ratio",
    "pre_post_ratio",
)
SHAPE = beats.SHAPE
OFFSETS_S = (-0.2, -0.15, -0.1, -0.05, -0.025, 0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4)
"""Where the beat and its difference from the dominant beat are sampled, seconds from the R."""
MORPHOLOGY = (
    *SHAPE,
    *(f"wave_{round(t * 1000):+d}ms" for t in OFFSETS_S),
    *(f"diff_{round(t * 1000):+d}ms" for t in OFFSETS_S),
)
ABSOLUTE = ("pre_rr_s", "post_rr_s", "record_rr_s", "qrs_width_s", "qrs_amplitude_mv", "qrs_energy")
RELATIVE = tuple(n for n in RR + SHAPE if n not in ABSOLUTE)
FEATURE_SETS: dict[str, tuple[str, ...]] = {
    "rr": RR_BASIC,
    "relative": RELATIVE,
    "full": RR + MORPHOLOGY,
    "robust": beat_reference.ROBUST,
}


def _nn(rr: np.ndarray, normal: np.ndarray | None) -> np.ndarray | None:
    """The intervals ``rr`` between two ``normal`` beats, or None without enough of them."""
    if normal is None:
        return None
    normal = np.asarray(normal, bool)
    nn = rr[normal[1:] & normal[:-1]]
    return nn if len(nn) >= beat_reference.MIN_TEMPLATE else None


def rr_basic(peaks: np.ndarray, context: int, normal: np.ndarray | None = None) -> np.ndarray:
    """(n, 5) :data:`RR_BASIC` of beats at sample ``peaks`` (sorted), in units of the record's
    mean RR interval (so the sampling rate drops out; of the NN intervals, given ``normal``):
    previous, next, the mean of the last ``context``, previous/next, previous/local."""
    t = np.asarray(peaks, dtype=np.float64)
    n = len(t)
    if n < 2:
        return np.ones((n, len(RR_BASIC)), np.float32)
    rr = np.diff(t)
    nn = _nn(rr, normal)
    rr = rr / (rr if nn is None else nn).mean()
    pre = np.concatenate([[1.0], rr])
    post = np.concatenate([rr, [1.0]])
    past = _past_mean(pre, context)
    return np.stack([pre, post, past, pre / post, pre / past], axis=1).astype(np.float32)


def _past_mean(pre: np.ndarray, context: int) -> np.ndarray:
    """Per beat, the mean of its own and the ``context - 1`` previous ``pre`` values."""
    n = len(pre)
    sums = np.concatenate([[0.0], np.cumsum(pre)])
    first = np.maximum(np.arange(n) - context + 1, 0)
    return (sums[1:] - sums[first]) / (np.arange(n) - first + 1)


def rr_relative(
    peaks: np.ndarray, fs: float, context: int, normal: np.ndarray | None = None
) -> np.ndarray:
    """(n, 10) :data:`RR` of beats at sample ``peaks`` (sorted) of a record at ``fs`` Hz (the
    record's RR: the median NN interval, given ``normal``). A record of one beat has no
    interval: 0 s, and every ratio 1."""
    t = np.asarray(peaks, dtype=np.float64)
    n = len(t)
    if n < 2:
        out = np.ones((n, len(RR)), np.float32)
        out[:, :3] = 0.0
        return out
    rr = np.diff(t) / fs
    nn = _nn(rr, normal)
    median = float(np.median(rr if nn is None else nn))
    pre_s = np.concatenate([[median], rr])
    post_s = np.concatenate([rr, [median]])
    pre, post = pre_s / median, post_s / median
    past = _past_mean(pre, context)
    # the intervals rr[i - context : i + context] around beat i: its previous and next ones first
    padded = np.concatenate([np.full(context, np.nan), rr / median, np.full(context, np.nan)])
    local = np.nanmedian(np.lib.stride_tricks.sliding_window_view(padded, 2 * context), axis=1)
    columns = [
        pre_s,
        post_s,
        np.full(n, median),
        pre,
        post,
        past,
        local,
        pre / local,
        post / local,
        pre / post,
    ]
    return np.stack(columns, axis=1).astype(np.float32)


def morphology(
    windows: np.ndarray, before: int, fs: float, normal: np.ndarray | None = None
) -> np.ndarray:
    """(n, len(MORPHOLOGY)) of one record's beat ``windows`` (n, leads, length) at ``fs`` Hz,
    the R peak at sample ``before``, from their first lead; against the median of the ``normal``
    beats where given and enough, else of all."""
    n, _, length = windows.shape
    if n == 0:
        return np.zeros((0, len(MORPHOLOGY)), np.float32)
    x = np.asarray(windows[:, 0, :], np.float64)
    x = x - np.median(x, axis=1, keepdims=True)
    if normal is not None and np.sum(normal) >= beat_reference.MIN_TEMPLATE:
        dominant = np.median(x[np.asarray(normal, bool)], axis=0)
    else:
        dominant = np.median(x, axis=0)
    d_amplitude = max(
        float(np.ptp(dominant[beats.span(before, fs, beats.QRS_S, length)])), beats.EPS_MV
    )
    at = [beats.index_at(before, fs, s, length) for s in OFFSETS_S]
    out = np.concatenate(
        [beats.against(x, dominant, before, fs), x[:, at], (x[:, at] - dominant[at]) / d_amplitude],
        axis=1,
    )
    return np.clip(np.nan_to_num(out), -beats.LIMIT, beats.LIMIT).astype(np.float32)


MORPHOLOGY_SETS = ("de_chazal", "wavelet", "hos", "lbp", "hermite")
"""The literature's morphology descriptors (:mod:`ecgpipe.processing.beat_morphology`)."""


def parts(spec: str) -> list[str]:
    """The sets of a ``+``-joined ``preprocess.beats.features`` (``robust+wavelet+hos``)."""
    names = spec.split("+")
    if unknown := [n for n in names if n not in BEAT_FEATURE_SETS]:
        raise ValueError(f"unknown beat feature sets {unknown}; expected {BEAT_FEATURE_SETS}")
    if len(set(names)) < len(names):
        raise ValueError(f"beat feature sets named twice in {spec!r}")
    return names


def names(spec: str, window_length: int) -> tuple[str, ...]:
    """The feature names of ``spec`` for beat windows of ``window_length`` samples, in order."""
    out: list[str] = []
    for name in parts(spec):
        if name in MORPHOLOGY_SETS:
            out += beat_morphology.names(name, window_length)
        else:
            out += FEATURE_SETS[name]
    return tuple(out)


def columns(spec: str, window_length: int) -> dict[str, list[int]]:
    """Each set of ``spec`` -> its columns among :func:`names` (what ``beat_ensemble`` splits)."""
    out, at = {}, 0
    for name in parts(spec):
        n = len(names(name, window_length))
        out[name] = list(range(at, at + n))
        at += n
    return out


def compute(
    spec: str, peaks: np.ndarray, fs: float, windows: np.ndarray, before: int, window_fs: float,
    context: int, normal: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """The feature sets of ``spec`` (:func:`parts`) for one record's beats, side by side: R
    ``peaks`` at the record's rate ``fs``, and their ``windows`` at ``window_fs`` (R at sample
    ``before``); references from the ``normal`` beats where given (``ADAPTABLE_SETS``)."""
    blocks = [_one(n, peaks, fs, windows, before, window_fs, context, normal) for n in parts(spec)]
    return np.concatenate(blocks, axis=1) if len(blocks) > 1 else blocks[0]


def _one(
    name: str, peaks: np.ndarray, fs: float, windows: np.ndarray, before: int, window_fs: float,
    context: int, normal: np.ndarray | None,
) -> np.ndarray:  # fmt: skip
    if name == "rr":
        return rr_basic(peaks, context, normal)
    if name == "robust":
        return beat_reference.robust(peaks, fs, windows, before, window_fs, context, normal)
    if name in MORPHOLOGY_SETS:
        return beat_morphology.compute(name, windows, before, window_fs)
    full = np.concatenate(
        [rr_relative(peaks, fs, context, normal), morphology(windows, before, window_fs, normal)],
        axis=1,
    )
    return full[:, [FULL_INDEX[n] for n in FEATURE_SETS[name]]]


FULL_INDEX = {n: i for i, n in enumerate(FEATURE_SETS["full"])}
