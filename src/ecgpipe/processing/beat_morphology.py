"""The literature's morphology descriptors of a heartbeat, each a feature set of its own.

Computed on the first lead of each beat window (R peak at sample ``before``, ``fs`` Hz), from the
beat alone, so they mean the same on any patient; plain NumPy/SciPy:

- ``de_chazal`` (de Chazal et al. 2004): QRS width, T-wave amplitude and position, a P-wave
  flag, the QRS sampled at 10 points from -50 to +100 ms and the T wave at 9 points from +150 to
  +450 ms (the window's end), each less the beat's median.
- ``wavelet`` (Mondejar-Guerra et al. 2019): the approximation coefficients of a Haar (``db1``)
  wavelet decomposition at level 3 (:func:`haar_approximation`: PyWavelets' ``wavedec(x,
  'db1', level=3)[0]``, its symmetric extension of odd lengths included).
- ``hos``: higher-order statistics, the skewness and kurtosis of five equal stretches of the
  beat (Mondejar-Guerra et al. 2019).
- ``lbp``: the histogram of uniform 1D local binary patterns over 8 neighbours (4 each side), 58
  uniform patterns and one bin for all others, as shares of the beat's samples.
- ``hermite``: the coefficients of the QRS (+-100 ms) projected on the first :data:`HERMITE_N`
  Hermite functions, with the width sigma of :data:`HERMITE_SIGMAS_S` that fits it best, and
  that sigma and the residual share (Lagerholm et al. 2000).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import hermite
from scipy import stats

from ecgpipe.processing import beats

QRS_SAMPLES_S = tuple(np.linspace(-0.05, 0.1, 10).round(4))
T_SAMPLES_S = tuple(np.linspace(0.15, 0.45, 9).round(4))
P_FLAG = 0.05
"""A P wave is present when the P window's range is at least this share of the QRS's."""
WAVELET_LEVEL = 3
HOS_PARTS = 5
LBP_RADIUS = 4
HERMITE_N = 6
HERMITE_SIGMAS_S = (0.008, 0.012, 0.016, 0.02, 0.025, 0.03)


def _first_lead(windows: np.ndarray) -> np.ndarray:
    x = np.asarray(windows[:, 0, :], np.float64)
    return x - np.median(x, axis=1, keepdims=True)


def de_chazal(windows: np.ndarray, before: int, fs: float) -> np.ndarray:
    """(n, 3 + 1 + 10 + 9): QRS width (s), T amplitude (mV) and its time after the R (s), P flag,
    QRS samples, T samples."""
    x = _first_lead(windows)
    n, length = x.shape
    qrs = beats.span(before, fs, beats.QRS_S, length)
    t = beats.span(before, fs, beats.T_S, length)
    p = beats.span(before, fs, beats.P_S, length)
    width = beats.qrs_width(x, fs, beats.span(before, fs, beats.SLOPE_S, length))
    t_wave = x[:, t]
    peak = np.abs(t_wave).argmax(axis=1)
    amplitude = np.maximum(np.ptp(x[:, qrs], axis=1), beats.EPS_MV)
    flag = (np.ptp(x[:, p], axis=1) >= P_FLAG * amplitude).astype(np.float64)
    at_qrs = [beats.index_at(before, fs, s, length) for s in QRS_SAMPLES_S]
    at_t = [beats.index_at(before, fs, s, length) for s in T_SAMPLES_S]
    columns = [
        width[:, None],
        t_wave[np.arange(n), peak][:, None],
        ((t.start + peak - before) / fs)[:, None],
        flag[:, None],
        x[:, at_qrs],
        x[:, at_t],
    ]
    return np.concatenate(columns, axis=1)


def haar_approximation(x: np.ndarray, level: int = WAVELET_LEVEL) -> np.ndarray:
    """Rows of ``x`` -> their Haar approximation coefficients at ``level``: each level pairs
    neighbours as (a + b) / sqrt(2), an odd length first extended by its last sample (the
    symmetric extension of PyWavelets' default mode)."""
    a = np.asarray(x, np.float64)
    for _ in range(level):
        if a.shape[-1] % 2:
            a = np.concatenate([a, a[..., -1:]], axis=-1)
        a = (a[..., 0::2] + a[..., 1::2]) / math.sqrt(2)
    return a


def wavelet(windows: np.ndarray, before: int, fs: float) -> np.ndarray:
    return haar_approximation(_first_lead(windows))


def hos(windows: np.ndarray, before: int, fs: float) -> np.ndarray:
    """(n, 2 * HOS_PARTS): skewness, then kurtosis (Fisher's), of each fifth of the beat."""
    parts = np.array_split(_first_lead(windows), HOS_PARTS, axis=1)
    skew = [stats.skew(p, axis=1) for p in parts]
    kurtosis = [stats.kurtosis(p, axis=1) for p in parts]
    return np.nan_to_num(np.stack([*skew, *kurtosis], axis=1))


def _uniform_bins() -> np.ndarray:
    """Each 8-bit pattern -> its bin: the 58 uniform ones (at most two 0/1 changes around the
    circle) in order, every other pattern the last bin."""
    codes = np.arange(256)
    bits = (codes[:, None] >> np.arange(8)) & 1
    changes = (bits != np.roll(bits, 1, axis=1)).sum(axis=1)
    uniform = changes <= 2
    out = np.full(256, uniform.sum(), dtype=np.int64)
    out[uniform] = np.arange(uniform.sum())
    return out


UNIFORM_BINS = _uniform_bins()
N_LBP = int(UNIFORM_BINS.max()) + 1


def lbp(windows: np.ndarray, before: int, fs: float) -> np.ndarray:
    """(n, 59): shares of the beat's samples (those with 4 neighbours each side) per pattern."""
    x = _first_lead(windows)
    r = LBP_RADIUS
    centre = x[:, r:-r]
    offsets = [*range(-r, 0), *range(1, r + 1)]
    code = sum(
        ((x[:, r + o : x.shape[1] - r + o] >= centre).astype(np.int64) << k)
        for k, o in enumerate(offsets)
    )
    bins = UNIFORM_BINS[code]
    counts = np.zeros((len(x), N_LBP))
    np.add.at(counts, (np.repeat(np.arange(len(x)), bins.shape[1]), bins.ravel()), 1.0)
    return counts / max(bins.shape[1], 1)


def _hermite_basis(t: np.ndarray, sigma: float) -> np.ndarray:
    """(HERMITE_N, len(t)): the orthonormal Hermite functions of width ``sigma`` at ``t``."""
    u = t / sigma
    out = []
    for k in range(HERMITE_N):
        c = np.zeros(k + 1)
        c[k] = 1.0
        norm = 1.0 / math.sqrt(sigma * 2**k * math.factorial(k) * math.sqrt(math.pi))
        out.append(norm * np.exp(-(u**2) / 2) * hermite.hermval(u, c))
    return np.stack(out)


def hermite_fit(windows: np.ndarray, before: int, fs: float) -> np.ndarray:
    """(n, HERMITE_N + 2): the least-squares coefficients of the best sigma, sigma (s) and the
    share of the QRS's energy the fit leaves."""
    x = _first_lead(windows)
    qrs = beats.span(before, fs, beats.QRS_S, x.shape[1])
    y = x[:, qrs]
    t = (np.arange(qrs.start, qrs.stop) - before) / fs
    energy = np.maximum((y**2).sum(axis=1), beats.EPS_MV**2)
    best = None
    for sigma in HERMITE_SIGMAS_S:
        basis = _hermite_basis(t, sigma)
        coef, *_ = np.linalg.lstsq(basis.T, y.T, rcond=None)
        residual = ((y - coef.T @ basis) ** 2).sum(axis=1) / energy
        fit = np.concatenate([coef.T, np.full((len(y), 1), sigma), residual[:, None]], axis=1)
        best = fit if best is None else np.where((residual < best[:, -1])[:, None], fit, best)
    return best


def _names(prefix: str, n: int) -> tuple[str, ...]:
    return tuple(f"{prefix}_{i}" for i in range(n))


DE_CHAZAL = (
    "dc_qrs_width_s",
    "dc_t_amplitude_mv",
    "dc_t_at_s",
    "dc_p_flag",
    *(f"dc_qrs_{round(s * 1000):+d}ms" for s in QRS_SAMPLES_S),
    *(f"dc_t_{round(s * 1000):+d}ms" for s in T_SAMPLES_S),
)
HOS = (*_names("hos_skew", HOS_PARTS), *_names("hos_kurtosis", HOS_PARTS))
LBP = _names("lbp", N_LBP)
HERMITE = (*_names("hermite", HERMITE_N), "hermite_sigma_s", "hermite_residual")
SETS = {"de_chazal": de_chazal, "wavelet": wavelet, "hos": hos, "lbp": lbp, "hermite": hermite_fit}
NAMES = {"de_chazal": DE_CHAZAL, "hos": HOS, "lbp": LBP, "hermite": HERMITE}


def names(name: str, window_length: int) -> tuple[str, ...]:
    """Set ``name``'s feature names for beat windows of ``window_length`` samples."""
    if name == "wavelet":
        return _names("wavelet", haar_approximation(np.zeros((1, window_length))).shape[1])
    return NAMES[name]


def compute(name: str, windows: np.ndarray, before: int, fs: float) -> np.ndarray:
    """Morphology set ``name`` of one record's beat ``windows`` (n, leads, length)."""
    out = SETS[name](windows, before, fs)
    return np.clip(np.nan_to_num(out), -beats.LIMIT, beats.LIMIT).astype(np.float32)
