"""Windows over a record: every sample covered, the benchmark's grid, frames for spectrograms."""

import numpy as np
import pytest

from ecgpipe.processing import dsp
from ecgpipe.processing.windows import Windowing, crop, window_starts

SPEC = {"window": 64, "overlap": 0.75, "f_min": 0.5, "f_max": 45.0}
FS = 100.0


@pytest.mark.parametrize("n", [250, 251, 1000, 1001, 3137, 6100])
def test_windows_cover_every_sample_of_a_record(n):
    starts = window_starts(n, 250, 125)
    covered = np.zeros(n, bool)
    for s in starts:
        assert s >= 0 and s + 250 <= n
        covered[s : s + 250] = True
    assert covered.all()
    assert starts[: n // 125 - 1] == list(range(0, 125 * (n // 125 - 1), 125))  # the grid first


def test_windows_follow_the_benchmark_on_ten_seconds():
    assert window_starts(1000, 250, 125) == [0, 125, 250, 375, 500, 625, 750]
    assert window_starts(1000, 1000, 125) == [0]
    assert window_starts(80, 250, 125) == [0]  # shorter than a window: one, padded


def test_spectrogram_windows_start_on_frames():
    w = Windowing.of(2.5, 1.25, FS, SPEC)
    assert w.hop == 16 and w.stride == 112
    assert all(s % 16 == 0 for s in w.starts(1000)[:-1])
    assert w.frames == dsp.spectrogram_shape(250, FS, 64, 0.75, 0.5, 45.0)[1]


def test_crop_pads_a_short_record_at_the_end_only():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    out = crop(x, 0, 5)
    assert out.dtype == np.float32 and out.shape == (2, 5)
    np.testing.assert_array_equal(out[:, :3], x)
    assert not out[:, 3:].any()
    np.testing.assert_array_equal(crop(x, 1, 2), x[:, 1:3])
