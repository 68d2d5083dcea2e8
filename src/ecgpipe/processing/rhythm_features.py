"""Whole-record rhythm features: R peaks found on one lead, and what their intervals and beats say.

Atrial fibrillation is an irregularly irregular rhythm without P waves; other rhythms show as
ectopic beats, pauses, runs, a fast or slow rate; noise as beats that do not resemble each other
and energy outside the ECG's band. These are the classic features of the CinC 2017 entries,
computed in plain NumPy/SciPy from a record of any length (:func:`compute`, :data:`NAMES`; a
table of them for many records: :func:`table`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage, signal, stats

NAMES = (
    "duration_s",
    "n_beats",
    "heart_rate",
    "rr_cv",
    "rr_rmssd",
    "rr_pnn50",
    "rr_irregular_10",
    "rr_irregular_20",
    "rr_sd1_sd2",
    "rr_min",
    "rr_max",
    "rr_median_abs_diff",
    "rr_entropy",
    "rr_turning_points",
    "rr_sample_entropy",
    "rr_cosen",
    "rr_longest_run_irregular",
    "rr_premature",
    "beat_corr_median",
    "beat_corr_low",
    "p_wave",
    "p_corr",
    "qrs_width",
    "amplitude_cv",
    "signal_kurtosis",
    "hf_power",
    "lf_power",
    "f_wave_power",
    "detector_agreement",
    "rr_implausible",
    "rr_lorenz_occupancy",
    "clipped",
)
"""The features, in :func:`compute`'s order; each is finite (0 where undefined)."""


SHARE = 0.3


def r_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """R-peak samples of one lead (a band-passed ECG in mV): the smoothed squared slope's peaks
    at least 0.25 s apart above a share of its robust maximum, each moved to the largest
    absolute deflection within 60 ms."""
    slope = np.gradient(x) * fs
    width = max(1, round(0.1 * fs))
    envelope = np.sqrt(np.convolve(slope**2, np.ones(width) / width, mode="same"))
    level = SHARE * np.percentile(envelope, 99) if len(envelope) else 0.0
    peaks, _ = signal.find_peaks(envelope, height=level, distance=max(1, round(0.25 * fs)))
    reach = max(1, round(0.06 * fs))
    out = [
        lo + int(np.argmax(np.abs(x[lo : p + reach + 1])))
        for p in peaks
        if (lo := max(0, p - reach)) < len(x)
    ]
    return np.unique(np.asarray(out, dtype=np.int64))


def _sample_entropy(rr: np.ndarray, m: int = 1, r: float = 0.03) -> float:
    """SampEn(m, r) of the intervals (seconds), r absolute, as in AF detectors (COSEn)."""
    n = len(rr)
    if n < m + 3:
        return 0.0

    def matches(k: int) -> int:
        t = np.lib.stride_tricks.sliding_window_view(rr, k)[: n - m]
        d = np.abs(t[:, None, :] - t[None, :, :]).max(axis=2)
        return int((d <= r).sum() - len(t))

    a, b = matches(m + 1), matches(m)
    return float(-np.log((a + 1) / (b + 1)))


def _longest_true_run(mask: np.ndarray) -> int:
    best = run = 0
    for v in mask:
        run = run + 1 if v else 0
        best = max(best, run)
    return best


def compute(x: np.ndarray, fs: float) -> np.ndarray:
    """The :data:`NAMES` features of one lead ``x`` (mV) sampled at ``fs``."""
    x = np.asarray(x, dtype=np.float64)
    peaks = r_peaks(x, fs)
    rr = np.diff(peaks) / fs
    out = dict.fromkeys(NAMES, 0.0)
    out["duration_s"] = len(x) / fs
    out["n_beats"] = float(len(peaks))
    if len(rr) >= 3:
        mean = rr.mean()
        d = np.diff(rr)
        out["heart_rate"] = 60.0 / mean
        out["rr_cv"] = rr.std() / mean
        out["rr_rmssd"] = np.sqrt(np.mean(d**2)) / mean
        out["rr_pnn50"] = float(np.mean(np.abs(d) > 0.05))
        irregular = np.abs(d) / mean
        out["rr_irregular_10"] = float(np.mean(irregular > 0.1))
        out["rr_irregular_20"] = float(np.mean(irregular > 0.2))
        sd1 = np.sqrt(np.mean(d**2) / 2)
        sd2 = np.sqrt(max(2 * rr.var() - sd1**2, 0.0))
        out["rr_sd1_sd2"] = sd1 / (sd2 + 1e-3)
        out["rr_min"], out["rr_max"] = rr.min() / mean, rr.max() / mean
        out["rr_median_abs_diff"] = float(np.median(np.abs(d))) / mean
        hist, _ = np.histogram(rr / mean, bins=16, range=(0.2, 2.2))
        share = hist[hist > 0] / max(hist.sum(), 1)
        out["rr_entropy"] = float(-(share * np.log(share)).sum())
        turns = (d[1:] * d[:-1]) < 0
        out["rr_turning_points"] = float(turns.mean()) if len(turns) else 0.0
        sampen = _sample_entropy(rr)
        out["rr_sample_entropy"] = sampen
        out["rr_cosen"] = sampen - np.log(2 * 0.03) - np.log(mean)
        out["rr_longest_run_irregular"] = _longest_true_run(irregular > 0.1) / len(d)
        local = ndimage.median_filter(rr, 5, mode="nearest")
        out["rr_premature"] = float(np.mean(rr < 0.8 * local))
        out["rr_implausible"] = float(np.mean((rr < 0.3) | (rr > 2.0)))
        # the Lorenz plot of successive differences: how much of it an irregular rhythm fills
        pairs = np.floor(np.stack([d[1:], d[:-1]], axis=1) / 0.04)
        out["rr_lorenz_occupancy"] = len(np.unique(pairs, axis=0)) / max(len(pairs), 1)
    out["detector_agreement"] = _agreement(peaks, _amplitude_peaks(x, fs), round(0.1 * fs))
    top = np.abs(x - np.median(x)) if len(x) else x
    out["clipped"] = float(np.mean(top >= 0.99 * top.max())) if len(x) and top.max() > 0 else 0.0
    _morphology(x, fs, peaks, out)
    _spectrum(x, fs, out)
    return np.array([out[k] for k in NAMES], dtype=np.float32)


def table(records: Sequence[np.ndarray], fs: float, names: Sequence[str] = NAMES) -> np.ndarray:
    """(N, len(names)) features ``names`` of records (leads, T) in mV, from their first lead."""
    columns = [NAMES.index(name) for name in names]
    rows = [compute(np.asarray(x)[0], fs)[columns] for x in records]
    return np.stack(rows) if rows else np.zeros((0, len(columns)), np.float32)


def _amplitude_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """A second, simpler detector: prominent peaks of the rectified signal itself."""
    if not len(x):
        return np.zeros(0, np.int64)
    rectified = np.abs(x - np.median(x))
    level = 0.4 * np.percentile(rectified, 99)
    peaks, _ = signal.find_peaks(rectified, prominence=level, distance=max(1, round(0.25 * fs)))
    return peaks


def _agreement(a: np.ndarray, b: np.ndarray, tolerance: int) -> float:
    """The share of peaks that two detectors agree on (within ``tolerance`` samples): a signal
    quality index (bSQI), low where noise makes either detector go astray."""
    if not len(a) or not len(b):
        return 0.0
    matched = (np.abs(a[:, None] - b[None, :]).min(axis=1) <= tolerance).sum()
    return float(matched / (len(a) + len(b) - matched))


def _morphology(x: np.ndarray, fs: float, peaks: np.ndarray, out: dict[str, float]) -> None:
    """Beat-to-beat likeness (noise, ectopy), the P wave before each QRS, QRS width."""
    before, after = round(0.3 * fs), round(0.4 * fs)
    inner = peaks[(peaks >= before) & (peaks + after < len(x))]
    if len(inner) < 3:
        return
    beats = np.stack([x[p - before : p + after] for p in inner])
    template = np.median(beats, axis=0)
    corr = _corr(beats, template)
    out["beat_corr_median"] = float(np.median(corr))
    out["beat_corr_low"] = float(np.mean(corr < 0.8))
    qrs = slice(before - round(0.06 * fs), before + round(0.06 * fs))
    p_part = slice(before - round(0.25 * fs), before - round(0.08 * fs))
    base = slice(0, max(1, before - round(0.25 * fs)))
    scale = np.ptp(template[qrs]) + 1e-6
    out["p_wave"] = float(np.ptp(template[p_part]) / scale)
    out["p_corr"] = float(np.median(_corr(beats[:, p_part], template[p_part])))
    out["p_wave"] -= float(np.ptp(template[base]) / scale) * 0.5
    slope = np.abs(np.gradient(template))
    steep = np.flatnonzero(slope > 0.2 * slope[qrs].max())
    out["qrs_width"] = float((steep.max() - steep.min()) / fs) if len(steep) else 0.0
    amplitude = np.ptp(beats[:, qrs], axis=1)
    out["amplitude_cv"] = float(amplitude.std() / (amplitude.mean() + 1e-6))


def _corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean()
    den = np.sqrt((a**2).sum(axis=-1) * (b**2).sum()) + 1e-9
    return (a @ b) / den


def _spectrum(x: np.ndarray, fs: float, out: dict[str, float]) -> None:
    """Shares of power: above 30 Hz (noise), below 1 Hz (wander), 4-9 Hz (f waves)."""
    if len(x) > 3 and np.ptp(x) > 1e-6:
        out["signal_kurtosis"] = float(np.clip(stats.kurtosis(x), -10, 100))
    f, p = signal.welch(x, fs=fs, nperseg=min(len(x), round(4 * fs)))
    total = p.sum() + 1e-12
    out["hf_power"] = float(p[f >= min(30.0, fs / 2 - 1)].sum() / total)
    out["lf_power"] = float(p[f < 1.0].sum() / total)
    out["f_wave_power"] = float(p[(f >= 4) & (f <= 9)].sum() / total)
