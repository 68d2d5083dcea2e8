"""Beat features from one record alone, against hand computations on real MIT-BIH records: the
RR intervals against the record's and the local rhythm, the morphology against the record's
dominant beat; and what sets them apart for the classes they are meant for."""

import numpy as np
import pytest

from ecgpipe.data.wfdb_io import read_annotations
from ecgpipe.processing import beat_features as bf
from ecgpipe.processing import beats, dsp
from ecgpipe.processing.preprocessing import load_record

FS = 180.0
BEFORE, AFTER = 45, 81  # 0.25 s and 0.45 s at 180 Hz


def record_beats(root, name):
    """A record's beats as preprocess cuts them: peaks (360 Hz), classes, windows at 180 Hz."""
    x, fs, names = load_record(root / name)
    sig = dsp.resample(dsp.bandpass(x[[names.index("MLII")]], fs, 0.5, 45.0, 4), fs, FS)
    samples, symbols = read_annotations(root / name, "atr")
    classes = beats.aami(symbols)
    peaks, classes = samples[classes != ""], classes[classes != ""]
    windows, _ = beats.windows(sig, np.round(peaks * FS / fs).astype(np.int64), BEFORE, AFTER)
    return peaks, classes, windows


def column(features: np.ndarray, name: str, names=bf.FEATURE_SETS["full"]) -> np.ndarray:
    return features[:, list(names).index(name)]


@pytest.mark.realdata
def test_basic_rr_features_match_a_hand_computation_on_a_real_record(mitdb):
    samples, symbols = read_annotations(mitdb / "119", "atr")  # bigeminy: long-short RR pairs
    peaks = samples[beats.aami(symbols) != ""]
    got = bf.rr_basic(peaks, context=10)
    rr = [(peaks[i] - peaks[i - 1]) for i in range(1, len(peaks))]
    mean = sum(rr) / len(rr)
    for i in (0, 1, 5, 9, 10, 11, 500, len(peaks) - 1):
        pre = rr[i - 1] / mean if i > 0 else 1.0
        post = rr[i] / mean if i < len(peaks) - 1 else 1.0
        last = [rr[j - 1] / mean if j > 0 else 1.0 for j in range(max(0, i - 9), i + 1)]
        local = sum(last) / len(last)
        want = [pre, post, local, pre / post, pre / local]
        np.testing.assert_allclose(got[i], want, rtol=1e-5, err_msg=f"beat {i}")
    assert got.shape == (len(peaks), len(bf.RR_BASIC)) and got.dtype == np.float32


@pytest.mark.realdata
def test_rr_against_the_record_and_the_local_rhythm_match_a_hand_computation(mitdb):
    samples, symbols = read_annotations(mitdb / "119", "atr")
    peaks = samples[beats.aami(symbols) != ""]
    got = bf.rr_relative(peaks, 360.0, context=10)
    rr = [(peaks[i] - peaks[i - 1]) / 360.0 for i in range(1, len(peaks))]
    median = float(np.median(rr))
    n = len(peaks)
    for i in (0, 1, 9, 10, 11, 700, n - 11, n - 1):
        pre_s = rr[i - 1] if i > 0 else median
        post_s = rr[i] if i < n - 1 else median
        around = [rr[j] for j in range(i - 10, i + 10) if 0 <= j < n - 1]  # 10 each side
        local = float(np.median(around)) / median
        pres = [(rr[j - 1] if j > 0 else median) / median for j in range(max(0, i - 9), i + 1)]
        past = sum(pres) / len(pres)
        pre, post = pre_s / median, post_s / median
        ratios = [pre / local, post / local, pre / post]
        want = [pre_s, post_s, median, pre, post, past, local, *ratios]
        np.testing.assert_allclose(got[i], want, rtol=1e-5, err_msg=f"beat {i}")


@pytest.mark.realdata
def test_morphology_matches_a_hand_computation_against_the_dominant_beat(mitdb):
    *_, windows = record_beats(mitdb, "208")  # 1586 N, 992 V, 373 F
    got = bf.morphology(windows, BEFORE, FS)
    x = windows[:, 0].astype(np.float64)
    x = x - np.median(x, axis=1, keepdims=True)
    dominant = np.median(x, axis=0)
    qrs = slice(BEFORE - 18, BEFORE + 19)  # +-0.1 s
    p_wave = slice(BEFORE - 40, BEFORE - 11 + 1)  # -0.22 s to -0.06 s
    t_wave = slice(BEFORE + 27, BEFORE + 72 + 1)  # 0.15 s to 0.4 s
    names = bf.MORPHOLOGY
    for i in (0, 3, 100, 1500, len(x) - 1):
        b = x[i]
        amp = np.ptp(b[qrs])
        want = {
            "qrs_amplitude_mv": amp,
            "amplitude_ratio": amp / np.ptp(dominant[qrs]),
            "energy_ratio": (b[qrs] ** 2).sum() / (dominant[qrs] ** 2).sum(),
            "qrs_corr": np.corrcoef(b[qrs], dominant[qrs])[0, 1],
            "beat_corr": np.corrcoef(b, dominant)[0, 1],
            "rms_difference": np.sqrt(((b - dominant) ** 2).mean() / (dominant**2).mean()),
            "p_wave": np.ptp(b[p_wave]) / amp,
            "p_corr": np.corrcoef(b[p_wave], dominant[p_wave])[0, 1],
            "t_polarity": b[t_wave][np.abs(b[t_wave]).argmax()] / amp,
            "wave_+0ms": b[BEFORE],
            "diff_+100ms": (b[BEFORE + 18] - dominant[BEFORE + 18]) / np.ptp(dominant[qrs]),
        }
        for name, value in want.items():
            np.testing.assert_allclose(
                got[i, names.index(name)], value, rtol=1e-4, atol=1e-6, err_msg=f"{name}, beat {i}"
            )
        slope = np.abs(np.diff(b[BEFORE - 27 : BEFORE + 28]))  # +-0.15 s
        above = np.flatnonzero(slope >= 0.3 * slope.max())
        width = (above[-1] - above[0] + 1) / FS
        np.testing.assert_allclose(got[i, names.index("qrs_width_s")], width, rtol=1e-5)


@pytest.mark.realdata
def test_ventricular_beats_stand_out_against_the_patients_own_beat(mitdb):
    _, classes, windows = record_beats(mitdb, "208")
    got = bf.morphology(windows, BEFORE, FS)
    n, v = classes == "N", classes == "V"
    for name, wider in (("qrs_width_ratio", True), ("qrs_corr", False), ("rms_difference", True)):
        c = got[:, bf.MORPHOLOGY.index(name)]
        assert (np.median(c[v]) > np.median(c[n])) == wider, name


@pytest.mark.realdata
def test_premature_supraventricular_beats_come_early_for_their_own_rhythm(mitdb):
    peaks, classes, windows = record_beats(mitdb, "209")  # 383 A among 2621 N, in runs of SVTA
    got = bf.compute("relative", peaks, 360.0, windows, BEFORE, FS, 10)
    s, n = classes == "S", classes == "N"
    early = column(got, "pre_rr", bf.RELATIVE)  # against the record's median RR
    assert np.percentile(early[s], 75) < 0.8 < np.percentile(early[n], 25)
    # within a run the local rhythm is the run's, so the P wave has to tell them apart too
    p_corr = column(got, "p_corr", bf.RELATIVE)
    assert np.median(p_corr[s]) < np.median(p_corr[n]) - 0.1


def test_a_regular_rhythm_is_one_and_a_single_beat_has_no_interval():
    f = bf.rr_relative(np.arange(20) * 300, 300.0, context=4)
    np.testing.assert_allclose(f[:, 3:], 1.0)
    np.testing.assert_allclose(f[:, :3], 1.0)  # 300 samples at 300 Hz
    one = bf.rr_relative(np.array([50]), 300.0, context=4)
    assert one.tolist() == [[0.0, 0.0, 0.0] + [1.0] * 7]
    np.testing.assert_allclose(bf.rr_basic(np.arange(20) * 300, context=10), 1.0)


def test_each_set_has_its_named_columns_and_flat_beats_give_finite_features():
    peaks = np.arange(1, 9) * 180
    windows = np.zeros((8, 1, BEFORE + AFTER), np.float32)  # a flat record
    for name, names in bf.FEATURE_SETS.items():
        got = bf.compute(name, peaks, 180.0, windows, BEFORE, FS, 3)
        assert got.shape == (8, len(names)) and np.isfinite(got).all(), name
    assert set(bf.RELATIVE) <= set(bf.FEATURE_SETS["full"])
    assert not set(bf.ABSOLUTE) & set(bf.RELATIVE)
    with pytest.raises(ValueError, match=r"unknown beat feature sets \['morph'\]"):
        bf.compute("morph", peaks, 180.0, windows, BEFORE, FS, 3)


def test_given_the_normal_beats_the_records_rr_is_their_nn_intervals():
    peaks = np.cumsum(np.tile([300, 300, 300, 150, 450], 20))  # N N N S N(pause) at 300 Hz
    normal = np.tile([True, True, True, False, True], 20)
    rr = np.diff(peaks) / 300.0
    nn = rr[normal[1:] & normal[:-1]]
    got = bf.rr_relative(peaks, 300.0, context=4, normal=normal)
    np.testing.assert_allclose(got[:, bf.RR.index("record_rr_s")], np.median(nn))
    basic = bf.rr_basic(peaks, context=4, normal=normal)
    np.testing.assert_allclose(basic[1:, 0], rr / nn.mean(), rtol=1e-6)
    few = np.zeros(len(peaks), bool)  # no NN interval: the record's own median
    np.testing.assert_array_equal(
        bf.rr_relative(peaks, 300.0, 4, normal=few), bf.rr_relative(peaks, 300.0, 4)
    )
