"""Whole-record rhythm features: R peaks against the reference beats of real MIT-BIH records,
interval statistics against hand computations, and what sets an irregular rhythm apart."""

import numpy as np
import pytest

from ecgpipe.data.wfdb_io import read_annotations
from ecgpipe.processing import beats, dsp
from ecgpipe.processing import rhythm_features as rf
from ecgpipe.processing.preprocessing import load_record

FS = 100.0


def feature(values: np.ndarray, name: str) -> float:
    return float(values[rf.NAMES.index(name)])


@pytest.mark.realdata
def test_r_peaks_find_the_annotated_beats_at_100_hz(mitdb):
    """As the CinC preset preprocesses: band-passed, at 100 Hz. Within 100 ms of a reference
    beat, over records with bigeminy, PVC runs, bundle branch block and SVTA."""
    found = refs = hits_ref = hits_got = 0
    for name in ("106", "119", "203", "208", "209", "223"):
        x, fs, names = load_record(mitdb / name)
        sig = dsp.resample(dsp.bandpass(x[[names.index("MLII")]], fs, 0.5, 45.0, 4), fs, FS)[0]
        samples, symbols = read_annotations(mitdb / name, "atr")
        ref = samples[beats.aami(symbols) != ""] * FS / fs
        got = rf.r_peaks(sig, FS)
        d = np.abs(got[:, None] - ref[None, :])
        hits_ref += int((d.min(axis=0) <= 10).sum())
        hits_got += int((d.min(axis=1) <= 10).sum())
        refs, found = refs + len(ref), found + len(got)
    assert hits_ref / refs > 0.98 and hits_got / found > 0.98


def pulses(rr: np.ndarray, fs: float = FS) -> np.ndarray:
    """A QRS-like pulse (a 20 ms Gaussian, 1 mV) at each cumulative interval."""
    t = np.arange(int((rr.sum() + 1.0) * fs)) / fs
    x = np.zeros_like(t)
    for at in np.cumsum(rr):
        x += np.exp(-0.5 * ((t - at) / 0.02) ** 2)
    return x


def test_a_regular_rhythm_has_its_rate_and_no_irregularity():
    values = rf.compute(pulses(np.full(40, 0.8)), FS)
    assert feature(values, "heart_rate") == pytest.approx(75, abs=0.5)
    assert feature(values, "n_beats") == 40
    for name in ("rr_cv", "rr_rmssd", "rr_pnn50", "rr_irregular_10", "rr_premature"):
        assert feature(values, name) == pytest.approx(0, abs=1e-6), name


def test_interval_statistics_match_a_hand_computation():
    rr = np.random.default_rng(0).uniform(0.5, 1.1, 60).round(2)
    values = rf.compute(pulses(rr), FS)
    got = rr[1:]  # the intervals between the detected pulses
    d, mean = np.diff(got), got.mean()
    assert feature(values, "rr_cv") == pytest.approx(got.std() / mean, rel=1e-3)
    assert feature(values, "rr_rmssd") == pytest.approx(np.sqrt(np.mean(d**2)) / mean, rel=1e-3)
    assert feature(values, "rr_pnn50") == pytest.approx(np.mean(np.abs(d) > 0.05), abs=0.02)
    assert feature(values, "rr_irregular_10") == pytest.approx(
        np.mean(np.abs(d) / mean > 0.1), abs=0.02
    )


def test_sample_entropy_matches_a_hand_count():
    rr = np.array([0.80, 0.81, 0.95, 0.80, 0.82, 0.70, 0.81, 0.96])
    m, r = 1, 0.03
    n = len(rr)

    def pairs(k: int) -> int:
        t = [rr[i : i + k] for i in range(n - m)]
        return sum(
            np.abs(t[i] - t[j]).max() <= r for i in range(len(t)) for j in range(len(t)) if i != j
        )

    want = -np.log((pairs(m + 1) + 1) / (pairs(m) + 1))
    assert rf._sample_entropy(rr, m, r) == pytest.approx(want)


def test_an_irregularly_irregular_rhythm_stands_out():
    rng = np.random.default_rng(1)
    regular = rf.compute(pulses(0.8 + rng.normal(0, 0.01, 40)), FS)
    irregular = rf.compute(pulses(rng.uniform(0.45, 1.15, 40)), FS)
    for name in ("rr_cv", "rr_irregular_20", "rr_sample_entropy", "rr_entropy"):
        assert feature(irregular, name) > feature(regular, name) + 0.1, name


@pytest.mark.parametrize(
    "x", [np.zeros(3000), np.ones(50), pulses(np.array([0.8, 0.8]))], ids=["flat", "short", "2"]
)
def test_any_record_gives_every_feature_finite(x):
    values = rf.compute(x, FS)
    assert values.shape == (len(rf.NAMES),) and np.isfinite(values).all()


def test_noise_makes_the_two_detectors_disagree_and_intervals_implausible():
    from scipy import ndimage

    clean = pulses(np.full(40, 0.8))
    noise = ndimage.gaussian_filter1d(np.random.default_rng(2).normal(0, 1, len(clean)), 2)
    quiet, noisy = rf.compute(clean, FS), rf.compute(clean + 0.6 * noise, FS)
    assert feature(quiet, "detector_agreement") == 1.0
    assert feature(noisy, "detector_agreement") < 0.8
    assert feature(quiet, "rr_implausible") == 0 < feature(noisy, "rr_implausible")


def test_a_clipped_record_has_many_samples_at_its_extreme():
    x = pulses(np.full(40, 0.8))
    assert feature(rf.compute(np.clip(3 * x, -1, 1), FS), "clipped") > 3 * feature(
        rf.compute(x, FS), "clipped"
    )


def test_a_table_has_a_row_per_record_and_the_named_columns():
    rng = np.random.default_rng(0)
    records = [rng.normal(0, 0.1, (2, n)) for n in (1000, 1500)]
    full = rf.table(records, FS)
    assert full.shape == (2, len(rf.NAMES))
    np.testing.assert_array_equal(full[1], rf.compute(records[1][0], FS))
    some = rf.table(records, FS, rf.NAMES[3:1:-1])
    np.testing.assert_array_equal(some, full[:, [3, 2]])
    assert rf.table([], FS, rf.NAMES[:4]).shape == (0, 4)
