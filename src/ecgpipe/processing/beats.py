"""Heartbeats as rows: AAMI classes of annotation symbols, windows around R peaks.

Plain NumPy, for any database with WFDB beat annotations (MIT-BIH's ``.atr``).

- :data:`AAMI`: the ANSI/AAMI EC57 classes of the WFDB beat symbols (N: N L R e j; S: A a J S;
  V: V E; F: F; Q: / f Q). Any other symbol (rhythm changes, noise, ``+``, ``~``, ``|``...) is not
  a beat: it is skipped and counted.
- :func:`windows`: the samples from ``before`` to ``after`` each R peak; where a window runs past
  either end of the record it is zero-padded, so no beat is lost (and the count is reported).

Their features (RR, morphology) are :mod:`ecgpipe.processing.beat_features`.
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
