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
waveform, which carry the patient's own scale); or ``full``, everything above. Plain NumPy;
:func:`compute` is what ``preprocess`` and ``ecgpipe predict`` both call.
"""

from __future__ import annotations

import numpy as np

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
SHAPE = (
    "qrs_width_s",
    "qrs_width_ratio",
    "qrs_amplitude_mv",
    "amplitude_ratio",
    "qrs_energy",
    "energy_ratio",
    "qrs_corr",
    "beat_corr",
    "rms_difference",
    "p_wave",
    "p_corr",
    "t_polarity",
    "t_corr",
)
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
}

QRS_S = (-0.1, 0.1)
SLOPE_S = (-0.15, 0.15)
"""Where the QRS's steepest slope and its width are looked for."""
SLOPE_FRACTION = 0.3
"""The QRS spans the samples whose slope is at least this share of the steepest."""
P_S = (-0.22, -0.06)
T_S = (0.15, 0.4)
EPS_MV = 1e-3
"""Floor of an amplitude a feature is divided by (a flat dominant beat)."""
LIMIT = 1e3
"""Features are clipped to +-this (a ratio to a near-zero amplitude)."""


def rr_basic(peaks: np.ndarray, context: int) -> np.ndarray:
    """(n, 5) :data:`RR_BASIC` of beats at sample ``peaks`` (sorted), in units of the record's
    mean RR interval (so the sampling rate drops out): previous, next, the mean of the last
    ``context``, previous/next, previous/local."""
    t = np.asarray(peaks, dtype=np.float64)
    n = len(t)
    if n < 2:
        return np.ones((n, len(RR_BASIC)), np.float32)
    rr = np.diff(t)
    rr = rr / rr.mean()
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


def rr_relative(peaks: np.ndarray, fs: float, context: int) -> np.ndarray:
    """(n, 10) :data:`RR` of beats at sample ``peaks`` (sorted) of a record at ``fs`` Hz. A
    record of one beat has no interval: 0 s, and every ratio 1."""
    t = np.asarray(peaks, dtype=np.float64)
    n = len(t)
    if n < 2:
        out = np.ones((n, len(RR)), np.float32)
        out[:, :3] = 0.0
        return out
    rr = np.diff(t) / fs
    median = float(np.median(rr))
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


def _index(before: int, fs: float, t: float, length: int) -> int:
    return int(np.clip(before + round(t * fs), 0, length - 1))


def _span(before: int, fs: float, span: tuple[float, float], length: int) -> slice:
    return slice(_index(before, fs, span[0], length), _index(before, fs, span[1], length) + 1)


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with ``b``; 0 where either is constant."""
    ac = a - a.mean(axis=-1, keepdims=True)
    bc = b - b.mean()
    den = np.linalg.norm(ac, axis=-1) * np.linalg.norm(bc)
    return np.divide(ac @ bc, den, out=np.zeros(len(a)), where=den > 0)


def _qrs_width(x: np.ndarray, fs: float, where: slice) -> np.ndarray:
    """Seconds between the first and the last sample of ``where`` whose slope is at least
    :data:`SLOPE_FRACTION` of the steepest there (rows of ``x``)."""
    slope = np.abs(np.diff(x[..., where], axis=-1))
    above = slope >= SLOPE_FRACTION * slope.max(axis=-1, keepdims=True)
    first = above.argmax(axis=-1)
    last = above.shape[-1] - 1 - above[..., ::-1].argmax(axis=-1)
    return (last - first + 1) / fs


def morphology(windows: np.ndarray, before: int, fs: float) -> np.ndarray:
    """(n, len(MORPHOLOGY)) of one record's beat ``windows`` (n, leads, length) at ``fs`` Hz,
    the R peak at sample ``before``, from their first lead."""
    n, _, length = windows.shape
    if n == 0:
        return np.zeros((0, len(MORPHOLOGY)), np.float32)
    x = np.asarray(windows[:, 0, :], np.float64)
    x = x - np.median(x, axis=1, keepdims=True)
    dominant = np.median(x, axis=0)
    qrs, slope = _span(before, fs, QRS_S, length), _span(before, fs, SLOPE_S, length)
    p, t = _span(before, fs, P_S, length), _span(before, fs, T_S, length)

    width = _qrs_width(x, fs, slope)
    amplitude = np.ptp(x[:, qrs], axis=1)
    energy = (x[:, qrs] ** 2).sum(axis=1) / fs
    d_width = float(_qrs_width(dominant[None], fs, slope)[0])
    d_amplitude = max(float(np.ptp(dominant[qrs])), EPS_MV)
    d_energy = max(float((dominant[qrs] ** 2).sum() / fs), EPS_MV**2)
    d_rms = max(float(np.sqrt((dominant**2).mean())), EPS_MV)
    own = np.maximum(amplitude, EPS_MV)
    t_wave = x[:, t]
    t_extreme = t_wave[np.arange(n), np.abs(t_wave).argmax(axis=1)]
    at = [_index(before, fs, s, length) for s in OFFSETS_S]
    shape = [
        width,
        width / d_width,
        amplitude,
        amplitude / d_amplitude,
        energy,
        energy / d_energy,
        _corr(x[:, qrs], dominant[qrs]),
        _corr(x, dominant),
        np.sqrt(((x - dominant) ** 2).mean(axis=1)) / d_rms,
        np.ptp(x[:, p], axis=1) / own,
        _corr(x[:, p], dominant[p]),
        t_extreme / own,
        _corr(t_wave, dominant[t]),
    ]
    out = np.concatenate(
        [np.stack(shape, axis=1), x[:, at], (x[:, at] - dominant[at]) / d_amplitude], axis=1
    )
    return np.clip(np.nan_to_num(out), -LIMIT, LIMIT).astype(np.float32)


def compute(
    name: str, peaks: np.ndarray, fs: float, windows: np.ndarray, before: int, window_fs: float,
    context: int,
) -> np.ndarray:  # fmt: skip
    """Feature set ``name`` of :data:`FEATURE_SETS` for one record's beats: R ``peaks`` at the
    record's rate ``fs``, and their ``windows`` at ``window_fs`` (R at sample ``before``)."""
    if name not in FEATURE_SETS:
        raise ValueError(f"unknown beat feature set {name!r}; expected one of {list(FEATURE_SETS)}")
    if name == "rr":
        return rr_basic(peaks, context)
    full = np.concatenate(
        [rr_relative(peaks, fs, context), morphology(windows, before, window_fs)], axis=1
    )
    return full[:, [FULL_INDEX[n] for n in FEATURE_SETS[name]]]


FULL_INDEX = {n: i for i, n in enumerate(FEATURE_SETS["full"])}
