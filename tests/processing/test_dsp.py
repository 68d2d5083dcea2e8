"""ecgpipe.processing.dsp against signals whose answer is known: sines, tones, counted shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import signal as sps

from ecgpipe.processing import dsp


def sine(f_hz: float, fs: float, seconds: float, amp: float = 1.0, phase: float = 0.0):
    t = np.arange(round(seconds * fs)) / fs
    return amp * np.sin(2 * np.pi * f_hz * t + phase)


def fit_sine(y: np.ndarray, f_hz: float, fs: float) -> tuple[float, float]:
    """Amplitude and phase of the ``f_hz`` component of ``y``'s middle half (least squares)."""
    n = y.shape[-1]
    lo, hi = n // 4, n - n // 4
    t = np.arange(n)[lo:hi] / fs
    design = np.stack(
        [np.sin(2 * np.pi * f_hz * t), np.cos(2 * np.pi * f_hz * t), np.ones_like(t)], axis=1
    )
    (a, b, _), *_ = np.linalg.lstsq(design, np.asarray(y[lo:hi], dtype=np.float64), rcond=None)
    return math.hypot(a, b), math.atan2(b, a)


def db(ratio: float) -> float:
    return 20 * math.log10(ratio)


# --------------------------------------------------------------------------- bandpass


@pytest.mark.parametrize(("fs", "f"), [(500, 10.0), (500, 2.0), (100, 5.0), (100, 30.0)])
def test_bandpass_passes_in_band_sine(fs, f):
    x = sine(f, fs, 20, amp=1.5)
    amp, _ = fit_sine(dsp.bandpass(x, fs), f, fs)
    assert amp == pytest.approx(1.5, rel=0.01)


@pytest.mark.parametrize(
    ("fs", "f", "seconds"),
    [(100, 0.1, 200), (100, 48.0, 20), (500, 100.0, 10), (500, 0.2, 100)],
)
def test_bandpass_attenuates_like_squared_butterworth(fs, f, seconds):
    sos = sps.butter(4, [0.5, 45.0], btype="bandpass", fs=fs, output="sos")
    _, h = sps.sosfreqz(sos, worN=[f], fs=fs)
    expected_db = db(abs(h[0]) ** 2)  # forward-backward squares the magnitude
    assert expected_db < -20
    amp, _ = fit_sine(dsp.bandpass(sine(f, fs, seconds), fs, order=4), f, fs)
    assert db(amp) == pytest.approx(expected_db, abs=2.0)


def test_bandpass_is_zero_phase():
    fs = 500
    x = sine(3, fs, 10) + 0.7 * sine(7.3, fs, 10, phase=1.0) + 0.5 * sine(13.1, fs, 10, phase=2.0)
    y = dsp.bandpass(x, fs)
    mid = slice(len(x) // 4, len(x) - len(x) // 4)
    lags = np.arange(-50, 51)
    xc = [np.dot(x[mid], np.roll(y, -lag)[mid]) for lag in lags]
    assert lags[int(np.argmax(xc))] == 0
    # and a single in-band sine keeps its phase
    _, p_in = fit_sine(sine(10, fs, 10, phase=0.4), 10, fs)
    _, p_out = fit_sine(dsp.bandpass(sine(10, fs, 10, phase=0.4), fs), 10, fs)
    assert p_out == pytest.approx(p_in, abs=1e-3)


def test_bandpass_filters_each_lead_along_last_axis():
    fs = 500
    x = np.stack([sine(10, fs, 10), sine(100, fs, 10), sine(0.05, fs, 10)])
    y = dsp.bandpass(x, fs)
    assert y.shape == x.shape
    np.testing.assert_allclose(y[0], dsp.bandpass(x[0], fs))
    assert fit_sine(y[0], 10, fs)[0] == pytest.approx(1, rel=0.01)
    assert fit_sine(y[1], 100, fs)[0] < 0.01


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"fs": 100, "high_hz": 50.0}, ["high_hz=50.0", "fs/2=50", "fs=100"]),
        ({"fs": 100, "high_hz": 60.0}, ["high_hz=60.0", "50"]),
        ({"fs": 500, "low_hz": 40.0, "high_hz": 30.0}, ["low_hz=40.0", "high_hz=30.0"]),
        ({"fs": 500, "low_hz": 0.0}, ["low_hz=0.0"]),
        ({"fs": 500, "order": 0}, ["order", "0"]),
        ({"fs": 500, "order": 2.5}, ["order", "2.5"]),
        ({"fs": -1}, ["fs", "-1"]),
    ],
)
def test_bandpass_argument_errors_name_values(kwargs, words):
    with pytest.raises(ValueError) as e:
        dsp.bandpass(np.zeros((2, 5000)), **kwargs)
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize(
    ("shape", "fs", "band", "order"),
    [
        ((12, 1000), 100, (0.5, 45.0), 4),
        ((1000,), 100, (0.5, 45.0), 4),
        ((3, 2, 5000), 500, (1.0, 40.0), 3),
        ((2, 30), 100, (5.0, 40.0), 1),
    ],
)
def test_bandpass_is_scipys_sosfiltfilt_to_the_bit(shape, fs, band, order):
    """The filter state solved once per design gives scipy's own values, not just close ones."""
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    sos = sps.butter(order, band, btype="bandpass", fs=fs, output="sos")
    expected = sps.sosfiltfilt(sos, x.astype(np.float64)).astype(np.float32)
    np.testing.assert_array_equal(dsp.bandpass(x, fs, *band, order), expected)


def test_bandpass_too_short_record_is_a_clear_error():
    with pytest.raises(ValueError, match="samples"):
        dsp.bandpass(np.zeros((2, 10)), 500)


# --------------------------------------------------------------------------- notch


def test_notch_removes_mains_and_keeps_10hz():
    fs = 500
    x = sine(10, fs, 10) + 0.5 * sine(50, fs, 10, phase=0.3)
    y = dsp.notch(x, fs, freq_hz=50.0)
    assert db(fit_sine(y, 50, fs)[0] / 0.5) <= -20
    assert fit_sine(y, 10, fs)[0] == pytest.approx(1.0, rel=0.02)
    _, p_in = fit_sine(x, 10, fs)
    assert fit_sine(y, 10, fs)[1] == pytest.approx(p_in, abs=1e-3)


def test_notch_60hz_and_errors():
    fs = 360
    y = dsp.notch(sine(60, fs, 10), fs, freq_hz=60.0)
    assert db(fit_sine(y, 60, fs)[0]) <= -20
    with pytest.raises(ValueError, match=r"freq_hz=50\.0.*fs=100"):
        dsp.notch(np.zeros(1000), 100, freq_hz=50.0)
    with pytest.raises(ValueError, match="freq_hz=60"):
        dsp.notch(np.zeros(1000), 100, freq_hz=60)
    with pytest.raises(ValueError, match="quality"):
        dsp.notch(np.zeros(1000), 500, quality=0)


# --------------------------------------------------------------------------- resample


@pytest.mark.parametrize(
    ("fs_in", "fs_out", "n_in", "n_out", "ratio"),
    [
        (500, 100, 5000, 1000, (1, 5)),
        (500, 100, 5003, 1001, (1, 5)),
        (360, 100, 3600, 1000, (5, 18)),
        (360, 100, 3601, 1001, (5, 18)),
        (300, 100, 3000, 1000, (1, 3)),
        (100, 500, 1000, 5000, (5, 1)),
        (100, 250, 1001, 2503, (5, 2)),
        (257, 128.5, 514, 257, (1, 2)),
    ],
)
def test_resample_lengths(fs_in, fs_out, n_in, n_out, ratio):
    assert dsp.resample_ratio(fs_in, fs_out) == ratio
    assert dsp.resampled_length(n_in, fs_in, fs_out) == n_out
    assert dsp.resample(np.zeros((3, n_in)), fs_in, fs_out).shape == (3, n_out)


def test_resample_keeps_in_band_sine():
    y = dsp.resample(sine(5, 500, 10, amp=0.8, phase=0.2), 500, 100)
    amp, phase = fit_sine(y, 5, 100)
    assert amp == pytest.approx(0.8, rel=0.01)
    assert phase == pytest.approx(0.2, abs=0.01)
    spectrum = np.abs(np.fft.rfft(y))
    assert np.fft.rfftfreq(len(y), 1 / 100)[int(np.argmax(spectrum))] == pytest.approx(5.0)


def test_resample_up_keeps_sine():
    y = dsp.resample(sine(5, 100, 10), 100, 250)
    assert fit_sine(y, 5, 250)[0] == pytest.approx(1.0, rel=0.01)


def test_resample_removes_tone_above_new_nyquist_instead_of_aliasing():
    x = sine(130, 500, 10)
    naive = x[::5]  # no anti-alias filter: 130 Hz folds onto 30 Hz at full amplitude
    assert fit_sine(naive, 30, 100)[0] > 0.9
    y = dsp.resample(x, 500, 100)
    assert db(fit_sine(y, 30, 100)[0]) < -40
    assert np.sqrt(np.mean(y[len(y) // 4 : -len(y) // 4] ** 2)) < 0.01


def test_resample_keeps_baseline_at_edges():
    x = 2.0 + sine(5, 500, 10, amp=0.1)
    y = dsp.resample(x, 500, 100)
    assert abs(y[0] - 2.0) < 0.05 and abs(y[-1] - 2.0) < 0.15


def test_resample_equal_rates_is_a_copy():
    x = np.arange(10.0)
    y = dsp.resample(x, 500, 500)
    np.testing.assert_array_equal(y, x)
    assert not np.shares_memory(x, y)


def test_resample_argument_errors():
    with pytest.raises(ValueError, match=r"fs_in.*0"):
        dsp.resample(np.zeros(10), 0, 100)
    with pytest.raises(ValueError, match="1000"):
        dsp.resample(np.zeros(10), 1001, 1000.5)


# --------------------------------------------------------------------------- fix_length


def test_fix_length_crop_and_pad_both_modes():
    x = np.arange(1.0, 11.0)[None, :].repeat(2, axis=0)  # 1..10 on two leads
    np.testing.assert_array_equal(dsp.fix_length(x, 4, "start")[0], [1, 2, 3, 4])
    np.testing.assert_array_equal(dsp.fix_length(x, 4, "center")[0], [4, 5, 6, 7])
    np.testing.assert_array_equal(dsp.fix_length(x, 7, "center")[0], [2, 3, 4, 5, 6, 7, 8])
    assert dsp.fix_length(x, 13, "start")[1].tolist() == [*range(1, 11), 0, 0, 0]
    assert dsp.fix_length(x, 13, "center")[1].tolist() == [0, *range(1, 11), 0, 0]
    assert dsp.fix_length(x, 14, "center")[0].tolist() == [0, 0, *range(1, 11), 0, 0]
    same = dsp.fix_length(x, 10)
    np.testing.assert_array_equal(same, x)
    assert not np.shares_memory(same, x)
    assert dsp.fix_length(x, 4, "center").shape == (2, 4)


def test_fix_length_errors():
    with pytest.raises(ValueError, match="'middle'"):
        dsp.fix_length(np.zeros((1, 5)), 3, mode="middle")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"n_samples.*0"):
        dsp.fix_length(np.zeros((1, 5)), 0)


# --------------------------------------------------------------------------- select_leads

LEADS = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def test_select_leads_order_and_case():
    x = np.arange(12.0)[:, None].repeat(5, axis=1).astype(np.float32)
    y = dsp.select_leads(x, LEADS, ["v1", "II", "AVR"])
    assert y[:, 0].tolist() == [6, 1, 3]
    assert y.shape == (3, 5) and y.dtype == np.float32
    assert not np.shares_memory(x, y)


def test_select_leads_missing_lead_names_it_and_the_available_ones():
    x = np.zeros((12, 5))
    with pytest.raises(KeyError) as e:
        dsp.select_leads(x, LEADS, ["II", "V7"])
    msg = str(e.value)
    assert "'V7'" in msg and "aVR" in msg and "V6" in msg
    assert isinstance(e.value, ValueError)


def test_select_leads_other_errors():
    with pytest.raises(ValueError, match="11 lead names"):
        dsp.select_leads(np.zeros((12, 5)), LEADS[:11], ["I"])
    with pytest.raises(ValueError, match="twice"):
        dsp.select_leads(np.zeros((12, 5)), LEADS, ["I", "i"])
    with pytest.raises(ValueError, match="twice"):
        dsp.select_leads(np.zeros((2, 5)), ["I", "i"], ["I"])


# --------------------------------------------------------------------------- spectrogram


@pytest.mark.parametrize("extra", [0, 1, 15, 16, 17, 63, 64, 65, 936, 937, 959, 2436])
@pytest.mark.parametrize(
    ("fs", "window", "overlap"), [(100, 64, 0.75), (500, 128, 0.5), (250, 50, 0.0), (100, 50, 0.75)]
)
def test_spectrogram_shape_agrees(extra, fs, window, overlap):
    n = window + extra
    x = np.random.default_rng(n).standard_normal((2, n))
    freqs, times, s = dsp.spectrogram(x, fs, window=window, overlap=overlap)
    f_count, t_count = dsp.spectrogram_shape(n, fs, window=window, overlap=overlap)
    assert s.shape == (2, f_count, t_count) == (2, len(freqs), len(times))
    hop = math.floor(window * (1 - overlap) + 0.5)  # 12.5 -> 13
    assert t_count == 1 + (n - window) // hop
    np.testing.assert_allclose(times, (window / 2 + hop * np.arange(t_count)) / fs)


def test_spectrogram_frequencies_in_band():
    freqs, _, _ = dsp.spectrogram(np.zeros((1, 1000)), 100, f_min=0.5, f_max=45.0)
    assert freqs.min() >= 0.5 and freqs.max() <= 45.0
    spacing = 100 / 64
    assert freqs[0] == pytest.approx(spacing) and freqs[-1] == pytest.approx(28 * spacing)
    np.testing.assert_allclose(np.diff(freqs), spacing)
    freqs, _, _ = dsp.spectrogram(np.zeros(1000), 100, f_min=10, f_max=20)
    assert freqs.min() >= 10 and freqs.max() <= 20


def test_spectrogram_peak_at_tone():
    fs = 100
    x = np.stack([sine(10, fs, 10), sine(25, fs, 10, amp=2)])
    freqs, _, s = dsp.spectrogram(x, fs)
    bin_width = fs / 64
    for lead, f in [(0, 10), (1, 25)]:
        peaks = freqs[np.argmax(s[lead], axis=0)]
        assert np.all(np.abs(peaks - f) <= bin_width)
    # log of the "spectrum" scaling: a unit sine reads about 1/2 near its bin
    assert s[0].max() == pytest.approx(math.log(0.5), abs=0.5)
    assert s.min() >= math.log(1e-6) - 1e-6


def test_spectrogram_errors():
    with pytest.raises(ValueError, match=r"window=64.*63"):
        dsp.spectrogram(np.zeros((1, 63)), 100)
    with pytest.raises(ValueError, match=r"window=64.*n_samples=63"):
        dsp.spectrogram_shape(63, 100)
    with pytest.raises(ValueError, match=r"overlap.*1\.0"):
        dsp.spectrogram(np.zeros((1, 100)), 100, overlap=1.0)
    with pytest.raises(ValueError, match=r"f_min=46.*f_max=46\.5"):
        dsp.spectrogram(np.zeros((1, 100)), 100, f_min=46, f_max=46.5)
    with pytest.raises(ValueError, match=r"f_min=20.*f_max=10"):
        dsp.spectrogram_shape(100, 100, f_min=20, f_max=10)


# --------------------------------------------------------------------------- all functions

CALLS = {
    "bandpass": lambda x: dsp.bandpass(x, 500),
    "notch": lambda x: dsp.notch(x, 500),
    "resample": lambda x: dsp.resample(x, 500, 100),
    "resample_same": lambda x: dsp.resample(x, 500, 500),
    "fix_length": lambda x: dsp.fix_length(x, 1500),
    "select_leads": lambda x: dsp.select_leads(x, ["I", "II", "V1"], ["V1", "I"]),
    "spectrogram": lambda x: dsp.spectrogram(x, 500)[2],
}


@pytest.mark.parametrize("name", CALLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_preserved_and_input_unmodified(name, dtype):
    x = np.random.default_rng(0).standard_normal((3, 2000)).astype(dtype)
    before = x.copy()
    y = CALLS[name](x)
    assert y.dtype == dtype
    assert not np.shares_memory(x, y)
    np.testing.assert_array_equal(x, before)


def test_float32_result_matches_float64_computation():
    x = np.random.default_rng(1).standard_normal((2, 2000))
    y32 = dsp.bandpass(x.astype(np.float32), 500)
    y64 = dsp.bandpass(x.astype(np.float32).astype(np.float64), 500)
    np.testing.assert_array_equal(y32, y64.astype(np.float32))


def test_integer_input_gives_float64():
    assert dsp.bandpass(np.ones((1, 1000), dtype=np.int16), 500).dtype == np.float64
