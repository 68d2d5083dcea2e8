"""Heartbeats as rows: AAMI classes of annotation symbols, windows around R peaks.

Plain NumPy, for any database with WFDB beat annotations (MIT-BIH's ``.atr``).

- :data:`AAMI`: the ANSI/AAMI EC57 classes of the WFDB beat symbols (N: N L R e j; S: A a J S;
  V: V E; F: F; Q: / f Q). Any other symbol (rhythm changes, noise, ``+``, ``~``, ``|``...) is not
  a beat: it is skipped and counted (:func:`counts`).
- :func:`windows`: the samples from ``before`` to ``after`` each R peak; where a window runs past
  either end of the record it is zero-padded, so no beat is lost (and the count is reported).

- :func:`dense_stretches`: the runs of beats where a class is the majority.
- :func:`span`, :func:`corr`, :func:`qrs_width`, :func:`against`: measurements on a beat window
  (alone, or against a reference beat), and where its QRS, P and T waves are looked for
  (:data:`QRS_S`, :data:`P_S`, :data:`T_S`).

Their features (RR, morphology) are :mod:`ecgpipe.processing.beat_features` and
:mod:`ecgpipe.processing.beat_reference`.
"""

from __future__ import annotations

import numpy as np

AAMI: dict[str, str] = {
    **dict.fromkeys("NLRej", "N"),
    **dict.fromkeys("AaJS", "S"),
    **dict.fromkeys("VE", "V"),
    "F": "F",
    **dict.fromkeys("/fQ", "Q"),
}
AAMI_CLASSES = ("N", "S", "V", "F", "Q")


def aami(symbols: list[str] | np.ndarray) -> np.ndarray:
    """Each symbol's AAMI class, or ``""`` for a symbol that is not a beat."""
    return np.array([AAMI.get(str(s), "") for s in symbols], dtype="<U1")


def counts(symbols: dict[str, int]) -> dict[str, int]:
    """Annotation symbol counts -> beats per AAMI class, and the non-beat annotations."""
    out = dict.fromkeys((*AAMI_CLASSES, "non_beat"), 0)
    for symbol, n in symbols.items():
        out[AAMI.get(symbol, "non_beat")] += n
    return out


def windows(x: np.ndarray, peaks: np.ndarray, before: int, after: int) -> tuple[np.ndarray, int]:
    """(n, leads, before + after) windows of ``x`` (leads, samples) around ``peaks``, and how
    many ran past an end of the record and were zero-padded there."""
    n_samples = x.shape[1]
    peaks = np.asarray(peaks, dtype=np.int64)
    padded = np.pad(x, ((0, 0), (before, after)))
    at = peaks[:, None] + np.arange(before + after)[None, :]  # positions in the padded signal
    out = padded[:, at].transpose(1, 0, 2)
    n_padded = int(np.count_nonzero((peaks < before) | (peaks + after > n_samples)))
    return np.ascontiguousarray(out), n_padded


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


def index_at(before: int, fs: float, t: float, length: int) -> int:
    """The sample ``t`` seconds from the R peak (at ``before``) of a window of ``length``."""
    return int(np.clip(before + round(t * fs), 0, length - 1))


def span(before: int, fs: float, seconds: tuple[float, float], length: int) -> slice:
    """The samples from ``seconds[0]`` to ``seconds[1]`` around the R peak, both included."""
    return slice(
        index_at(before, fs, seconds[0], length), index_at(before, fs, seconds[1], length) + 1
    )


def corr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with ``b``; 0 where either is constant."""
    ac = a - a.mean(axis=-1, keepdims=True)
    bc = b - b.mean()
    den = np.linalg.norm(ac, axis=-1) * np.linalg.norm(bc)
    return np.divide(ac @ bc, den, out=np.zeros(len(a)), where=den > 0)


def qrs_width(x: np.ndarray, fs: float, where: slice) -> np.ndarray:
    """Seconds between the first and the last sample of ``where`` whose slope is at least
    :data:`SLOPE_FRACTION` of the steepest there (rows of ``x``)."""
    slope = np.abs(np.diff(x[..., where], axis=-1))
    above = slope >= SLOPE_FRACTION * slope.max(axis=-1, keepdims=True)
    first = above.argmax(axis=-1)
    last = above.shape[-1] - 1 - above[..., ::-1].argmax(axis=-1)
    return (last - first + 1) / fs


def dense_stretches(hit: np.ndarray, width: int, share: float = 0.5) -> list[np.ndarray]:
    """Non-overlapping runs of ``width`` consecutive beats in which at least ``share`` of the
    beats are ``hit`` (a boolean per beat), densest first: the beat indices of each."""
    hit = np.asarray(hit, dtype=np.float64)
    if len(hit) < width or width < 1:
        return []
    density = np.convolve(hit, np.ones(width), "valid") / width
    taken = np.zeros(len(hit), dtype=bool)
    out = []
    for start in np.argsort(-density, kind="stable"):
        if density[start] < share:
            break
        if not taken[start : start + width].any():
            taken[start : start + width] = True
            out.append(np.arange(start, start + width))
    return out


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
"""What :func:`against` measures, in its columns' order."""


def against(x: np.ndarray, reference: np.ndarray, before: int, fs: float) -> np.ndarray:
    """(n, len(SHAPE)) of beats ``x`` (n, length; each less its median) against a ``reference``
    beat: the QRS's width (from the slope), peak-to-peak amplitude and energy and their ratios
    to the reference's, the correlation of the QRS and of the whole beat with it, the RMS of the
    difference, a P-wave score (peak-to-peak before the QRS over the QRS's) and its correlation
    with the reference's P wave, the T wave's polarity (its signed extreme over the QRS
    amplitude) and correlation."""
    n, length = x.shape
    qrs, slope = span(before, fs, QRS_S, length), span(before, fs, SLOPE_S, length)
    p, t = span(before, fs, P_S, length), span(before, fs, T_S, length)
    width = qrs_width(x, fs, slope)
    amplitude = np.ptp(x[:, qrs], axis=1)
    energy = (x[:, qrs] ** 2).sum(axis=1) / fs
    r_width = float(qrs_width(reference[None], fs, slope)[0])
    r_amplitude = max(float(np.ptp(reference[qrs])), EPS_MV)
    r_energy = max(float((reference[qrs] ** 2).sum() / fs), EPS_MV**2)
    r_rms = max(float(np.sqrt((reference**2).mean())), EPS_MV)
    own = np.maximum(amplitude, EPS_MV)
    t_wave = x[:, t]
    t_extreme = t_wave[np.arange(n), np.abs(t_wave).argmax(axis=1)]
    columns = [
        width,
        width / r_width,
        amplitude,
        amplitude / r_amplitude,
        energy,
        energy / r_energy,
        corr(x[:, qrs], reference[qrs]),
        corr(x, reference),
        np.sqrt(((x - reference) ** 2).mean(axis=1)) / r_rms,
        np.ptp(x[:, p], axis=1) / own,
        corr(x[:, p], reference[p]),
        t_extreme / own,
        corr(t_wave, reference[t]),
    ]
    return np.stack(columns, axis=1)
