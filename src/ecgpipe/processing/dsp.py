"""Signal processing for ECG records: plain NumPy/SciPy functions, one step each.

Conventions shared by every function here:

- ``x`` is a real array shaped ``(leads, samples)`` in mV: **leads first**, time on the last
  axis. (wfdb's ``Record.p_signal`` is ``(samples, leads)``; pass ``p_signal.T``.) Functions that
  do not need the lead axis also accept any shape whose last axis is time, e.g. one lead ``(n,)``.
- The input is never modified; every function returns a new array.
- Dtype: a floating input keeps its dtype (float32 in, float32 out); the arithmetic itself runs
  in float64 and only the result is cast back. Integer input gives float64.
- Inputs are validated upstream (``ecgpipe.data.validation``): NaN or infinite samples are not
  handled here and propagate through the filters.
- Bad arguments raise :class:`ValueError` with a message naming the offending values.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

from ecgpipe.core.leads import MissingLeadError, positions

__all__ = [
    "MissingLeadError",
    "bandpass",
    "fix_length",
    "notch",
    "resample",
    "resample_ratio",
    "resampled_length",
    "select_leads",
    "spectrogram",
    "spectrogram_bins",
    "spectrogram_hop",
    "spectrogram_shape",
]

# Largest up or down factor accepted by :func:`resample` (its FIR filter has 20*max+1 taps).
_MAX_RESAMPLE_FACTOR = 1000


# --------------------------------------------------------------------------- helpers


def _as_array(x: npt.ArrayLike) -> np.ndarray:
    """``x`` as an ndarray with at least one axis and a real numeric dtype (no copy)."""
    a = np.asarray(x)
    if a.dtype.kind not in "fiub":
        raise ValueError(f"expected a real-valued signal, got dtype {a.dtype}")
    if a.ndim == 0:
        raise ValueError("expected a signal shaped (leads, samples), got a scalar")
    return a


def _out_dtype(a: np.ndarray) -> np.dtype:
    """The result dtype: the input's floating dtype, float64 for integers and booleans."""
    return a.dtype if a.dtype.kind == "f" else np.dtype(np.float64)


def _positive(name: str, value: float) -> float:
    v = float(value)
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return v


def _check_length(a: np.ndarray, needed: int, what: str) -> None:
    n = a.shape[-1]
    if n <= needed:
        raise ValueError(f"{what} needs more than {needed} samples along the last axis, got {n}")


# --------------------------------------------------------------------------- filters


@functools.lru_cache(maxsize=32)
def _butter_bandpass(
    order: int, low_hz: float, high_hz: float, fs: float
) -> tuple[np.ndarray, np.ndarray]:
    """The band-pass design and its sections' step-response initial state
    (``scipy.signal.sosfilt_zi``), cached: each costs as much as filtering one record."""
    sos = sps.butter(order, [low_hz, high_hz], btype="bandpass", fs=fs, output="sos")
    return sos, sps.sosfilt_zi(sos)


def _sosfiltfilt(sos: np.ndarray, zi: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``scipy.signal.sosfiltfilt(sos, x)`` along the last axis (odd extension, its default
    ``padlen``) with ``zi = sosfilt_zi(sos)`` given rather than solved for on every call: the
    same steps in the same order, so the same values to the bit (tested)."""
    n = _sosfiltfilt_padlen(sos)
    ext = np.concatenate(
        (2 * x[..., :1] - x[..., n:0:-1], x, 2 * x[..., -1:] - x[..., -2 : -(n + 2) : -1]),
        axis=-1,
    )
    zi = zi.reshape((len(sos),) + (1,) * (x.ndim - 1) + (2,))
    y, _ = sps.sosfilt(sos, ext, zi=zi * ext[..., :1])
    y, _ = sps.sosfilt(sos, y[..., ::-1], zi=zi * y[..., -1:])
    return y[..., ::-1][..., n:-n]


def bandpass(
    x: npt.ArrayLike,
    fs: float,
    low_hz: float = 0.5,
    high_hz: float = 45.0,
    order: int = 4,
) -> np.ndarray:
    """Zero-phase Butterworth band-pass along the last axis.

    A Butterworth band-pass of ``order`` (``scipy.signal.butter(..., output="sos")``) is run
    forward and backward (``sosfiltfilt``), so there is no phase shift and the magnitude response
    is the design's squared: -6 dB (not -3 dB) at ``low_hz`` and ``high_hz``, twice the roll-off.
    ``sosfiltfilt`` pads each end by odd extension; samples within about ``1 / low_hz`` seconds of
    either end carry some edge transient.

    Args:
        x: signal shaped (leads, samples), in mV.
        fs: sampling rate in Hz.
        low_hz, high_hz: the pass band's edges in Hz; ``0 < low_hz < high_hz < fs / 2``.
        order: Butterworth order of the one-way design (>= 1).

    Returns:
        The filtered signal, same shape and dtype as ``x``.

    Raises:
        ValueError: bad ``fs``, edges, or order (the message names them), or a record too short
            for the filter's padding.
    """
    a = _as_array(x)
    fs = _positive("fs", fs)
    nyquist = fs / 2
    order_i = _order(order)
    if not (math.isfinite(float(low_hz)) and float(low_hz) > 0):
        raise ValueError(f"bandpass low_hz={low_hz!r} must be > 0 Hz")
    if not float(high_hz) < nyquist:
        raise ValueError(
            f"bandpass high_hz={high_hz!r} must be below the Nyquist frequency fs/2={nyquist:g} Hz "
            f"(fs={fs:g} Hz)"
        )
    if not float(low_hz) < float(high_hz):
        raise ValueError(
            f"bandpass needs low_hz < high_hz, got low_hz={low_hz!r}, high_hz={high_hz!r}"
        )
    sos, zi = _butter_bandpass(order_i, float(low_hz), float(high_hz), fs)
    _check_length(a, _sosfiltfilt_padlen(sos), f"bandpass (order {order_i})")
    y = _sosfiltfilt(sos, zi, a.astype(np.float64, copy=False))
    return y.astype(_out_dtype(a), copy=False)


def _order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int | np.integer) or order < 1:
        raise ValueError(f"filter order must be an integer >= 1, got {order!r}")
    return int(order)


def _sosfiltfilt_padlen(sos: np.ndarray) -> int:
    """The default ``padlen`` of ``scipy.signal.sosfiltfilt`` for ``sos``."""
    n_zeros = min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    return 3 * (2 * len(sos) + 1 - n_zeros)


def notch(
    x: npt.ArrayLike,
    fs: float,
    freq_hz: float = 50.0,
    quality: float = 30.0,
) -> np.ndarray:
    """Zero-phase IIR notch (``iirnotch`` + ``filtfilt``) at ``freq_hz`` along the last axis.

    The -3 dB width of the one-way notch is ``freq_hz / quality`` Hz; running it forward and
    backward squares the response (deeper notch, no phase shift). Edge transients last about
    ``quality / (pi * freq_hz)`` seconds.

    Args:
        x: signal shaped (leads, samples), in mV.
        fs: sampling rate in Hz.
        freq_hz: the frequency to remove (mains: 50 or 60 Hz); ``0 < freq_hz < fs / 2``.
        quality: the quality factor Q (> 0).

    Returns:
        The filtered signal, same shape and dtype as ``x``.

    Raises:
        ValueError: bad ``fs``, ``freq_hz`` or ``quality`` (named in the message), or a record too
            short for the filter's padding.
    """
    a = _as_array(x)
    fs = _positive("fs", fs)
    quality = _positive("notch quality", quality)
    nyquist = fs / 2
    f0 = float(freq_hz)
    if not (math.isfinite(f0) and 0 < f0 < nyquist):
        raise ValueError(
            f"notch freq_hz={freq_hz!r} must be in (0, fs/2) = (0, {nyquist:g}) Hz (fs={fs:g} Hz)"
        )
    b, den = sps.iirnotch(f0, quality, fs=fs)
    padlen = 3 * max(len(b), len(den))  # filtfilt's default
    _check_length(a, padlen, "notch")
    y = sps.filtfilt(b, den, a.astype(np.float64, copy=False), axis=-1)
    return y.astype(_out_dtype(a), copy=False)


# --------------------------------------------------------------------------- resampling


def _rate_fraction(name: str, fs: float) -> Fraction:
    _positive(name, fs)
    # str() keeps short decimals exact (128.5 -> 257/2) rather than the binary float's expansion.
    return Fraction(int(fs)) if isinstance(fs, int | np.integer) else Fraction(str(float(fs)))


def resample_ratio(fs_in: float, fs_out: float) -> tuple[int, int]:
    """``(up, down)`` with ``fs_out / fs_in == up / down`` in lowest terms.

    E.g. 500 -> 100: (1, 5); 360 -> 100: (5, 18); 100 -> 250: (5, 2).

    Raises:
        ValueError: a rate that is not positive, or a ratio whose terms exceed 1000.
    """
    ratio = _rate_fraction("fs_out", fs_out) / _rate_fraction("fs_in", fs_in)
    up, down = ratio.numerator, ratio.denominator
    if max(up, down) > _MAX_RESAMPLE_FACTOR:
        raise ValueError(
            f"cannot resample {fs_in!r} Hz -> {fs_out!r} Hz: the ratio {up}/{down} has a term "
            f"above {_MAX_RESAMPLE_FACTOR}"
        )
    return up, down


def resampled_length(n_samples: int, fs_in: float, fs_out: float) -> int:
    """Samples :func:`resample` returns for ``n_samples`` in: ``ceil(n_samples * up / down)``."""
    up, down = resample_ratio(fs_in, fs_out)
    return -(-int(n_samples) * up // down)


def resample(x: npt.ArrayLike, fs_in: float, fs_out: float) -> np.ndarray:
    """Polyphase resampling from ``fs_in`` to ``fs_out`` Hz along the last axis.

    Uses ``scipy.signal.resample_poly`` with ``up / down = fs_out / fs_in`` reduced to lowest
    terms (see :func:`resample_ratio`) and its default anti-alias FIR low-pass (Kaiser window,
    cutoff at the lower of the two Nyquist frequencies), so content above ``fs_out / 2`` is
    removed rather than aliased. The ends are extended along the line through the first and last
    samples (``padtype="line"``), so a baseline offset or drift does not droop at the edges.

    The output has ``ceil(n * up / down)`` samples for ``n`` in (:func:`resampled_length`); e.g.
    5000 at 500 Hz -> 1000 at 100 Hz, 3601 at 360 Hz -> 1001 at 100 Hz. Equal rates return a copy.

    Args:
        x: signal shaped (leads, samples), in mV.
        fs_in: the signal's sampling rate in Hz.
        fs_out: the wanted sampling rate in Hz.

    Returns:
        The resampled signal, same leading shape and dtype as ``x``.
    """
    a = _as_array(x)
    up, down = resample_ratio(fs_in, fs_out)
    if a.shape[-1] < 1:
        raise ValueError("resample needs at least one sample along the last axis, got 0")
    if up == down == 1:
        return a.astype(_out_dtype(a), copy=True)
    y = sps.resample_poly(a.astype(np.float64, copy=False), up, down, axis=-1, padtype="line")
    return y.astype(_out_dtype(a), copy=False)


# --------------------------------------------------------------------------- shaping


def fix_length(
    x: npt.ArrayLike, n_samples: int, mode: Literal["center", "start"] = "center"
) -> np.ndarray:
    """Crop or zero-pad the last axis to exactly ``n_samples``.

    ``mode="start"`` keeps the first ``n_samples`` (crop) or appends zeros at the end (pad).
    ``mode="center"`` keeps the middle ``n_samples``, dropping ``(n - n_samples) // 2`` at the
    start and the rest at the end (crop), or pads ``(n_samples - n) // 2`` zeros at the start and
    the rest at the end (pad); an odd difference puts the extra sample at the end.

    Returns:
        A new array shaped ``x.shape[:-1] + (n_samples,)`` with ``x``'s dtype (even when no
        change of length was needed).
    """
    a = np.asarray(x)
    if a.ndim == 0:
        raise ValueError("expected a signal shaped (leads, samples), got a scalar")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError(f"fix_length n_samples must be an integer >= 1, got {n_samples!r}")
    if mode not in ("center", "start"):
        raise ValueError(f"fix_length mode must be 'center' or 'start', got {mode!r}")
    n, target = a.shape[-1], int(n_samples)
    if n >= target:
        start = (n - target) // 2 if mode == "center" else 0
        return a[..., start : start + target].copy()
    before = (target - n) // 2 if mode == "center" else 0
    out = np.zeros((*a.shape[:-1], target), dtype=a.dtype)
    out[..., before : before + n] = a
    return out


def select_leads(x: npt.ArrayLike, names: Sequence[str], wanted: Sequence[str]) -> np.ndarray:
    """Rows of ``x`` for the leads in ``wanted``, in ``wanted``'s order.

    Names match case-insensitively and ignoring surrounding spaces (``"avr"`` finds ``"aVR"``).

    Args:
        x: signal shaped (leads, samples); ``x.shape[0] == len(names)``.
        names: the record's lead names, one per row of ``x``.
        wanted: the leads to keep, in the order wanted.

    Returns:
        A new array shaped ``(len(wanted), samples)`` with ``x``'s dtype.

    Raises:
        MissingLeadError: a wanted lead is absent (a ``KeyError`` and a ``ValueError``; the
            message names it and the available leads).
        ValueError: ``names`` does not match ``x``'s lead axis, repeats a name, or ``wanted``
            repeats a lead or is empty.
    """
    a = np.asarray(x)
    if a.ndim < 1 or isinstance(names, str) or a.shape[0] != len(names):
        if isinstance(names, str):
            raise ValueError("names and wanted must be sequences of lead names, not one string")
        raise ValueError(
            f"select_leads got {len(names)} lead names for a signal shaped {a.shape} "
            "(expected (leads, samples))"
        )
    return a[list(positions(names, wanted))]


# --------------------------------------------------------------------------- spectrogram


def spectrogram_hop(window: int, overlap: float) -> int:
    """Samples between frames: ``floor(window * (1 - overlap) + 0.5)``."""
    if isinstance(window, bool) or not isinstance(window, int | np.integer) or window < 2:
        raise ValueError(f"spectrogram window must be an integer >= 2 samples, got {window!r}")
    if not 0 <= float(overlap) < 1:
        raise ValueError(f"spectrogram overlap must be in [0, 1), got {overlap!r}")
    hop = math.floor(int(window) * (1 - float(overlap)) + 0.5)
    if hop < 1:
        raise ValueError(
            f"spectrogram window={window!r} with overlap={overlap!r} gives a hop below 1 sample"
        )
    return hop


def spectrogram_bins(
    window: int, fs: float, f_min: float, f_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """The kept bins' mask over the one-sided FFT bins, and their frequencies."""
    fs = _positive("fs", fs)
    if not (0 <= float(f_min) <= float(f_max)):
        raise ValueError(
            f"spectrogram needs 0 <= f_min <= f_max, got f_min={f_min!r}, f_max={f_max!r}"
        )
    freqs = np.fft.rfftfreq(int(window), d=1.0 / fs)
    keep = (freqs >= float(f_min)) & (freqs <= float(f_max))
    if not keep.any():
        raise ValueError(
            f"no frequency bin in [f_min={f_min!r}, f_max={f_max!r}] Hz: bins are "
            f"{fs / int(window):g} Hz apart up to {fs / 2:g} Hz (fs={fs:g}, window={window!r})"
        )
    return keep, freqs[keep]


def spectrogram_shape(
    n_samples: int,
    fs: float,
    window: int = 64,
    overlap: float = 0.75,
    f_min: float = 0.5,
    f_max: float = 45.0,
) -> tuple[int, int]:
    """``(F, T)`` of :func:`spectrogram`'s per-lead output for ``n_samples``, without computing it.

    ``F`` counts the bins ``k * fs / window`` (``k = 0 .. window // 2``) with
    ``f_min <= f <= f_max``; ``T = 1 + (n_samples - window) // hop`` (full frames only), with
    ``hop = floor(window * (1 - overlap) + 0.5)``.

    Raises:
        ValueError: the same argument errors as :func:`spectrogram`, or ``n_samples < window``.
    """
    hop = spectrogram_hop(window, overlap)
    keep, _ = spectrogram_bins(window, fs, f_min, f_max)
    n = int(n_samples)
    if n < int(window):
        raise ValueError(
            f"spectrogram needs at least window={window!r} samples, got n_samples={n_samples!r}"
        )
    return int(keep.sum()), 1 + (n - int(window)) // hop


def spectrogram(
    x: npt.ArrayLike,
    fs: float,
    window: int = 64,
    overlap: float = 0.75,
    f_min: float = 0.5,
    f_max: float = 45.0,
    eps: float = 1e-6,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-magnitude STFT of each lead, restricted to ``f_min <= f <= f_max``.

    ``scipy.signal.stft`` with a periodic Hann window of ``window`` samples, no FFT zero-padding
    (``nfft = window``), hop ``floor(window * (1 - overlap) + 0.5)`` samples (the nearest integer,
    halves up; 16 for the defaults), and only full frames: no boundary extension and no end
    padding (``boundary=None, padded=False``). So for ``n`` samples there are
    ``T = 1 + (n - window) // hop`` frames, the first starting at sample 0; trailing samples that
    do not fill a frame are ignored. Magnitudes use the ``"spectrum"`` scaling (a sine of
    amplitude A at a bin centre reads about A / 2), then ``S = log(|Z| + eps)``.
    :func:`spectrogram_shape` gives ``(F, T)`` without computing.

    Args:
        x: signal shaped (leads, samples), in mV (any shape with time last works).
        fs: sampling rate in Hz.
        window: frame length in samples (>= 2); bins are ``fs / window`` Hz apart.
        overlap: fraction of a frame shared with the next, in [0, 1).
        f_min, f_max: the kept band in Hz, inclusive.
        eps: added to ``|Z|`` before the log (> 0).

    Returns:
        ``(freqs, times, S)``: ``freqs`` (F,) in Hz; ``times`` (T,) in seconds, the frames'
        centres ``(window / 2 + i * hop) / fs``; ``S`` shaped ``x.shape[:-1] + (F, T)``, i.e.
        (leads, F, T), in ``x``'s floating dtype (float64 for integer input). ``freqs`` and
        ``times`` are float64.
    """
    a = _as_array(x)
    hop = spectrogram_hop(window, overlap)
    keep, freqs = spectrogram_bins(window, fs, f_min, f_max)
    eps = _positive("spectrogram eps", eps)
    window = int(window)
    if a.shape[-1] < window:
        raise ValueError(
            f"spectrogram needs at least window={window} samples along the last axis, "
            f"got {a.shape[-1]}"
        )
    _, times, z = sps.stft(
        a.astype(np.float64, copy=False),
        fs=float(fs),
        window=sps.get_window("hann", window, fftbins=True),
        nperseg=window,
        noverlap=window - hop,
        nfft=window,
        detrend=False,
        return_onesided=True,
        boundary=None,
        padded=False,
        axis=-1,
        scaling="spectrum",
    )
    s = np.log(np.abs(z[..., keep, :]) + eps)
    return freqs, np.asarray(times, dtype=np.float64), s.astype(_out_dtype(a), copy=False)
