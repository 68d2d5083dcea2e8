"""Heartbeats as rows: AAMI classes of annotation symbols, windows around R peaks, RR features.

Plain NumPy, for any database with WFDB beat annotations (MIT-BIH's ``.atr``).

- :data:`AAMI`: the ANSI/AAMI EC57 classes of the WFDB beat symbols (N: N L R e j; S: A a J S;
  V: V E; F: F; Q: / f Q). Any other symbol (rhythm changes, noise, ``+``, ``~``, ``|``...) is not
  a beat: it is skipped and counted.
- :func:`rr_features`: per beat the previous and next RR interval and the mean of the last
  ``context`` RR intervals, each divided by the record's mean RR (so a patient's own rate is the
  unit), and the ratios previous/next and previous/local mean, which carry most of the S-class
  signal (a premature beat). The first beat has no previous interval and the last no next one:
  those take the record's mean (1 after normalisation).
- :func:`windows`: the samples from ``before`` to ``after`` each R peak; where a window runs past
  either end of the record it is zero-padded, so no beat is lost (and the count is reported).
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
FEATURES = ("pre_rr", "post_rr", "local_rr", "pre_post_ratio", "pre_local_ratio")


def aami(symbols: list[str] | np.ndarray) -> np.ndarray:
    """Each symbol's AAMI class, or ``""`` for a symbol that is not a beat."""
    return np.array([AAMI.get(str(s), "") for s in symbols], dtype="<U1")


def rr_features(peaks: np.ndarray, context: int) -> np.ndarray:
    """(n, 5) :data:`FEATURES` of beats at sample ``peaks`` (sorted), in units of the record's
    mean RR interval (so the sampling rate drops out)."""
    t = np.asarray(peaks, dtype=np.float64)
    n = len(t)
    if n < 2:
        return np.ones((n, len(FEATURES)), np.float32)
    rr = np.diff(t)
    rr = rr / rr.mean()
    pre = np.concatenate([[1.0], rr])
    post = np.concatenate([rr, [1.0]])
    sums = np.concatenate([[0.0], np.cumsum(pre)])
    first = np.maximum(np.arange(n) - context + 1, 0)
    local = (sums[1:] - sums[first]) / (np.arange(n) - first + 1)
    return np.stack([pre, post, local, pre / post, pre / local], axis=1).astype(np.float32)


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
