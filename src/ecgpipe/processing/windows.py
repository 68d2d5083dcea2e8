"""Windows over a record: where they start, how long they are, how a short record is padded.

Shared by training (:mod:`ecgpipe.training.datamodule`) and serving
(:mod:`ecgpipe.serving.model`), so a served model windows a record exactly as ``evaluate`` did.
Plain NumPy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgpipe.processing import dsp


def window_starts(n: int, length: int, stride: int) -> list[int]:
    """Starts of ``length``-sample windows every ``stride`` covering all ``n`` samples.

    The grid ``0, stride, 2 * stride, ...`` of windows inside the record, and one more ending at
    the record's last sample where the grid stops short; one window (to be padded) for a record
    shorter than ``length``.
    """
    if n <= length:
        return [0]
    starts = list(range(0, n - length + 1, stride))
    if starts[-1] + length < n:
        starts.append(n - length)
    return starts


@dataclass(frozen=True)
class Windowing:
    """Window length and stride in samples, and how windows map onto spectrogram frames."""

    length: int
    stride: int
    spectrogram: dict | None
    hop: int | None
    frames: int | None
    """Spectrogram frames in one window."""

    @classmethod
    def of(cls, length_s: float, stride_s: float, fs: float, spectrogram: dict | None) -> Windowing:
        length, stride = max(1, round(length_s * fs)), max(1, round(stride_s * fs))
        hop = frames = None
        if spectrogram is not None:
            hop = dsp.spectrogram_hop(spectrogram["window"], spectrogram["overlap"])
            stride = max(hop, stride // hop * hop)  # grid windows start on a frame
            if length < spectrogram["window"]:
                raise ValueError(
                    f"a {length}-sample window is shorter than the STFT window "
                    f"({spectrogram['window']} samples)"
                )
            frames = 1 + (length - spectrogram["window"]) // hop
        return cls(length, stride, spectrogram, hop, frames)

    def starts(self, n: int) -> list[int]:
        return window_starts(n, self.length, self.stride)


def crop(x: np.ndarray, start: int, length: int) -> np.ndarray:
    """``x[:, start:start + length]`` as float32, zero-padded at the end where ``x`` is shorter."""
    part = np.asarray(x[:, start : start + length], np.float32)
    if part.shape[-1] == length:
        return part
    out = np.zeros((x.shape[0], length), np.float32)
    out[:, : part.shape[-1]] = part
    return out
