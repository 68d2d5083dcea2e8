"""Beat features against references that hold whatever the record's composition (no labels).

The ``relative`` set (:mod:`ecgpipe.processing.beat_features`) compares a beat with the record's
median RR and its median beat: it assumes normal beats are the majority. Where ectopic beats
outnumber normal ones (frequent atrial premature beats, bigeminy, runs) those references are the
ectopic beats' own, and the ectopic beats look normal; in atrial fibrillation normal beats are
irregular and look premature. The ``robust`` set (:func:`robust`) uses instead:

- **RR against the minutes around the beat**: the mean RR over ``MINUTES_S`` each side (the
  time span over the number of beats: a mean, not a median, so a majority of short coupling
  intervals does not hide them; pauses count), beside the mean of the ``context`` beats each side
  and the absolute intervals in seconds (de Chazal et al. 2004's pre, post, local and average
  RR), and the ratios previous/next, previous/local, next/local.
- **Rhythm context**: how irregular the intervals around the beat are, at lags 1, 2 and 3
  (median absolute difference over the ``context`` beats each side, in units of the local mean)
  and the least of the three: atrial fibrillation is irregular at every lag; bigeminy and
  trigeminy are regular at lag 2 or 3. The record's share of premature beats, and its length
  (up to :data:`RECORD_S`): how far a model may trust references computed over the record.
- **Morphology against the sinus template**: the median of the record's beats that are not
  premature (previous RR at least :data:`NOT_PREMATURE` of the minutes' mean; after a
  compensatory pause, normal beats qualify whatever their number), not of all beats. Then the
  same shape features as ``relative`` (QRS width, amplitude and energy ratios, QRS and beat
  correlation, RMS difference, P wave and its correlation, T wave) against that template.
- **Atrial activity**: the beat's P window against the median P window of its neighbours, and
  the median of that over the neighbours (a consistent P wave beat after beat in sinus rhythm;
  none in atrial fibrillation).

Plain NumPy; every feature is a function of the record's beats alone, as valid on a new patient.

Given ``normal`` (the beats a model called normal: the transductive mode,
:mod:`ecgpipe.serving.adapt`), the references are the patient's normal beats' instead: the mean
of the intervals between two normal beats over the minutes (the NN intervals), and the median of
the normal beats as the template; where fewer than :data:`MIN_TEMPLATE` normal beats are at hand,
the references above.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ecgpipe.processing import beats

MINUTES_S = 150.0
"""Half the span of the RR reference around each beat, seconds."""
NOT_PREMATURE = 0.9
"""A beat whose previous RR is at least this share of the minutes' mean joins the template."""
PREMATURE = 0.85
"""A beat whose previous RR is under this share of the minutes' mean counts as premature."""
RECORD_S = 2 * MINUTES_S
"""The record's length counts up to this, seconds (a longer record is as good as this long)."""
MIN_TEMPLATE = 5
"""Fewer non-premature beats than this: the template is the median of all beats. Fewer normal
beats (or NN intervals within the minutes) than this: the references without them."""

RR = (
    "pre_rr_s",
    "post_rr_s",
    "local_rr_s",
    "minutes_rr_s",
    "pre_minutes",
    "post_minutes",
    "local_minutes",
    "pre_post_ratio",
    "pre_local",
    "post_local",
)
CONTEXT = (
    "irregular_lag1",
    "irregular_lag2",
    "irregular_lag3",
    "irregular_min",
    "premature_share",
    "record_s",
)
MEASURED = tuple(
    m for m in beats.SHAPE if m not in ("qrs_width_s", "qrs_amplitude_mv", "qrs_energy")
)
"""What :func:`ecgpipe.processing.beats.against` measures that carries no patient's scale."""
SHAPE = (*MEASURED, "p_local_corr", "p_consistency")
ROBUST = (*RR, *CONTEXT, *SHAPE)


def _around(values: np.ndarray, k: int, reduce) -> np.ndarray:
    """``reduce`` (NaN-aware) of ``values[i - k : i + k + 1]`` for each i."""
    padded = np.concatenate([np.full(k, np.nan), values, np.full(k, np.nan)])
    with warnings.catch_warnings(action="ignore", category=RuntimeWarning):  # an all-NaN window
        return reduce(sliding_window_view(padded, 2 * k + 1), axis=1)


def minutes(t_s: np.ndarray, half_s: float) -> np.ndarray:
    """Per beat at times ``t_s`` (seconds, sorted): the mean RR over the beats within ``half_s``
    each side (their span over their intervals); NaN for a beat alone there."""
    lo = np.searchsorted(t_s, t_s - half_s)
    hi = np.searchsorted(t_s, t_s + half_s, side="right") - 1
    count = hi - lo
    return np.divide(t_s[hi] - t_s[lo], count, out=np.full(len(t_s), np.nan), where=count > 0)


def normal_minutes(t_s: np.ndarray, normal: np.ndarray, half_s: float) -> np.ndarray:
    """Per beat at times ``t_s`` (seconds, sorted): the mean of the intervals between two
    consecutive ``normal`` beats (NN intervals) ending within ``half_s`` each side; NaN where
    fewer than :data:`MIN_TEMPLATE` do."""
    both = normal[1:] & normal[:-1]
    at, nn = t_s[1:][both], np.diff(t_s)[both]
    sums = np.concatenate([[0.0], np.cumsum(nn)])
    lo = np.searchsorted(at, t_s - half_s)
    hi = np.searchsorted(at, t_s + half_s, side="right")
    count = hi - lo
    out = np.full(len(t_s), np.nan)
    return np.divide(sums[hi] - sums[lo], count, out=out, where=count >= MIN_TEMPLATE)


def rr_context(
    peaks: np.ndarray, fs: float, context: int, normal: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(n, len(RR) + len(CONTEXT)) of beats at sample ``peaks`` (sorted) of a record at ``fs`` Hz,
    and each beat's previous RR over the minutes' mean (what picks the template); the minutes'
    mean of the NN intervals where ``normal`` beats are given and enough."""
    t = np.asarray(peaks, dtype=np.float64) / fs
    n = len(t)
    if n < 2:
        out = np.zeros((n, len(RR) + len(CONTEXT)), np.float64)
        out[:, 4:10] = 1.0
        return out, np.ones(n)
    rr = np.diff(t)
    whole = float(rr.mean())
    mean_rr = minutes(t, MINUTES_S)
    mean_rr = np.where(np.isfinite(mean_rr), mean_rr, whole)
    if normal is not None:
        nn = normal_minutes(t, np.asarray(normal, bool), MINUTES_S)
        mean_rr = np.where(np.isfinite(nn), nn, mean_rr)
    pre = np.concatenate([[mean_rr[0]], rr])
    post = np.concatenate([rr, [mean_rr[-1]]])
    local = _around(pre, context, np.nanmean)
    premature = pre / mean_rr
    irregular = []
    for lag in (1, 2, 3):
        d = np.full(n, np.nan)
        d[lag:] = np.abs(pre[lag:] - pre[:-lag])
        irregular.append(np.nan_to_num(_around(d, context, np.nanmedian) / local))
    columns = [
        pre,
        post,
        local,
        mean_rr,
        premature,
        post / mean_rr,
        local / mean_rr,
        pre / post,
        pre / local,
        post / local,
        *irregular,
        np.minimum.reduce(irregular),
        np.full(n, np.mean(premature < PREMATURE)),
        np.full(n, min(t[-1] - t[0], RECORD_S)),
    ]
    return np.stack(columns, axis=1), premature


def shape(windows: np.ndarray, before: int, fs: float, template: np.ndarray, context: int):
    """(n, len(SHAPE)) of one record's beat ``windows`` (n, leads, length) at ``fs`` Hz (R at
    ``before``), from their first lead, against the median of the beats where ``template``."""
    n, _, length = windows.shape
    x = np.asarray(windows[:, 0, :], np.float64)
    x = x - np.median(x, axis=1, keepdims=True)
    sinus = np.median(x[template] if template.sum() >= MIN_TEMPLATE else x, axis=0)
    measured = beats.against(x, sinus, before, fs)[:, [beats.SHAPE.index(m) for m in MEASURED]]
    p_wave = x[:, beats.span(before, fs, beats.P_S, length)]
    neighbours = np.clip(np.arange(n)[:, None] + np.arange(-context, context + 1), 0, n - 1)
    p_local = _row_corr(p_wave, np.median(p_wave[neighbours], axis=1))
    columns = [measured, p_local[:, None], _around(p_local, context, np.nanmedian)[:, None]]
    return np.concatenate(columns, axis=1)


def _row_corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with the same row of ``b``; 0 where constant."""
    ac = a - a.mean(axis=1, keepdims=True)
    bc = b - b.mean(axis=1, keepdims=True)
    den = np.linalg.norm(ac, axis=1) * np.linalg.norm(bc, axis=1)
    return np.divide((ac * bc).sum(axis=1), den, out=np.zeros(len(a)), where=den > 0)


def robust(
    peaks: np.ndarray,
    fs: float,
    windows: np.ndarray,
    before: int,
    window_fs: float,
    context: int,
    normal: np.ndarray | None = None,
) -> np.ndarray:
    """(n, len(ROBUST)) features of one record's beats: R ``peaks`` at the record's rate ``fs``,
    their ``windows`` at ``window_fs`` (R at sample ``before``); against the ``normal`` beats'
    references where given (see the module's docstring)."""
    if len(peaks) == 0:
        return np.zeros((0, len(ROBUST)), np.float32)
    rr, premature = rr_context(peaks, fs, context, normal)
    template = premature >= NOT_PREMATURE
    if normal is not None and np.sum(normal) >= MIN_TEMPLATE:
        template = np.asarray(normal, bool)
    morphology = shape(windows, before, window_fs, template, context)
    out = np.concatenate([rr, morphology], axis=1)
    return np.clip(np.nan_to_num(out), -beats.LIMIT, beats.LIMIT).astype(np.float32)
