"""The ``robust`` beat features: RR against the minutes around each beat, the rhythm context and
morphology against the record's non-premature beats. What they are for: a premature beat stays
premature, and an ectopic beat stays unlike the sinus template, however many of the record's
beats are ectopic; atrial fibrillation is irregular at every lag, bigeminy only at odd ones."""

import numpy as np
import pytest

from ecgpipe.data.wfdb_io import read_annotations
from ecgpipe.processing import beat_features as bf
from ecgpipe.processing import beat_reference as br
from ecgpipe.processing import beats

from .test_beat_features import AFTER, BEFORE, FS, record_beats


def col(x: np.ndarray, name: str) -> np.ndarray:
    return x[:, br.ROBUST.index(name)]


def rhythm(kinds: str, rr: float = 0.8, coupling: float = 0.6, fs: float = 360.0) -> np.ndarray:
    """R peaks (samples at ``fs``) of a beat sequence: an 'S' ``coupling`` of the sinus interval
    ``rr`` after the beat before it, an 'N' ``rr`` after an N and after a pause (``2 - coupling``
    of ``rr``) after an S."""
    t, out, before = 0.0, [], "N"
    for kind in kinds:
        t += rr * (coupling if kind == "S" else 1.0 if before == "N" else 2 - coupling)
        out.append(t)
        before = kind
    return np.round(np.asarray(out) * fs).astype(np.int64)


def rr_features(peaks: np.ndarray, fs: float = 360.0) -> np.ndarray:
    return br.rr_context(peaks, fs, context=10)[0]


@pytest.mark.parametrize("pattern", ["NNNNNNNNNS", "NS", "NSS", "NSSSS"])
def test_a_premature_beat_stays_premature_whatever_share_of_the_record_is_premature(pattern):
    kinds = (pattern * 400)[:2000]
    x = rr_features(rhythm(kinds))
    premature = np.array([k == "S" for k in kinds])
    inner = slice(20, -20)
    assert np.all(col(x, "pre_minutes")[inner][premature[inner]] < br.PREMATURE)
    # against the record's median (the `relative` set), the majority looks normal
    median = bf.rr_relative(rhythm(kinds), 360.0, 10)[:, bf.RR.index("pre_rr")]
    share = premature.mean()
    if share > 0.5:
        assert np.median(median[premature]) > 0.95, "the median reference hides a majority"


def test_irregularity_tells_atrial_fibrillation_from_bigeminy_and_sinus_rhythm():
    rng = np.random.default_rng(0)
    sinus = np.cumsum(rng.normal(0.8, 0.01, 600))
    af = np.cumsum(rng.uniform(0.4, 1.1, 600))
    bigeminy = rhythm("NS" * 300) / 360.0
    got = {
        name: np.median(rr_features(np.round(t * 360).astype(np.int64))[50:-50], axis=0)
        for name, t in (("sinus", sinus), ("af", af), ("bigeminy", bigeminy))
    }

    def at(name: str, feature: str) -> float:
        return float(got[name][br.ROBUST.index(feature)])

    for lag in ("irregular_lag1", "irregular_lag2", "irregular_lag3"):
        assert at("af", lag) > 0.2 > 0.05 > at("sinus", lag)
    assert at("bigeminy", "irregular_lag1") > 0.4  # short-long
    assert at("bigeminy", "irregular_lag2") < 0.05  # short-long, short-long: regular at lag 2
    assert at("af", "irregular_min") > 0.2 > 0.05 > at("bigeminy", "irregular_min")


@pytest.mark.realdata
def test_rr_features_match_a_hand_computation_on_a_real_record(mitdb):
    samples, symbols = read_annotations(mitdb / "119", "atr")  # bigeminy stretches
    peaks = samples[beats.aami(symbols) != ""]
    x = rr_features(peaks)
    t = peaks / 360.0
    for i in (0, 5, 700, len(t) - 1):
        near = np.flatnonzero(np.abs(t - t[i]) <= br.MINUTES_S)
        minutes = (t[near[-1]] - t[near[0]]) / (len(near) - 1)
        pre = t[i] - t[i - 1] if i else minutes
        post = t[i + 1] - t[i] if i + 1 < len(t) else minutes
        np.testing.assert_allclose(col(x, "minutes_rr_s")[i], minutes, rtol=1e-6)
        np.testing.assert_allclose(col(x, "pre_minutes")[i], pre / minutes, rtol=1e-6)
        np.testing.assert_allclose(col(x, "post_minutes")[i], post / minutes, rtol=1e-6)
    np.testing.assert_allclose(col(x, "record_s"), min(t[-1] - t[0], br.RECORD_S))
    short = rr_features(peaks[:30])  # a record of 30 beats: its own length, its own share
    np.testing.assert_allclose(col(short, "record_s"), t[29] - t[0], rtol=1e-6)
    np.testing.assert_allclose(
        col(short, "premature_share"), np.mean(col(short, "pre_minutes") < br.PREMATURE)
    )


@pytest.mark.realdata
def test_ventricular_beats_stay_unlike_the_template_where_they_are_the_majority(mitdb):
    peaks, classes, windows = record_beats(mitdb, "106")  # 520 V, in bigeminy and runs
    runs = beats.dense_stretches(classes == "V", 20, 0.5)
    assert runs, "106 has bigeminy"
    for run in runs[:5]:
        x = bf.compute("robust", peaks[run], 360.0, windows[run], BEFORE, FS, 10)
        v, n = classes[run] == "V", classes[run] == "N"
        assert v.sum() >= n.sum()
        # against the median of all its beats, the excerpt's V beats would be the template
        assert col(x, "qrs_corr")[n].mean() > col(x, "qrs_corr")[v].mean() + 0.2


def test_the_set_has_its_names_and_survives_tiny_records():
    windows = np.zeros((1, 1, BEFORE + AFTER), np.float32)
    one = bf.compute("robust", np.array([100]), 360.0, windows, BEFORE, FS, 10)
    assert one.shape == (1, len(br.ROBUST)) and np.isfinite(one).all()
    none = bf.compute("robust", np.zeros(0, np.int64), 360.0, windows[:0], BEFORE, FS, 10)
    assert none.shape == (0, len(br.ROBUST))
    assert bf.FEATURE_SETS["robust"] == br.ROBUST and len(set(br.ROBUST)) == len(br.ROBUST)


def test_against_the_normal_beats_a_run_of_premature_beats_is_premature_where_the_mean_hides_it():
    """Runs of atrial premature beats, three quarters of the record: the minutes' mean is nearly
    theirs, so they look barely early; the NN intervals (the transductive mode's reference,
    given the normal beats) are the sinus rhythm's own."""
    kinds = np.array(list("NNSSSSSS" * 250))
    peaks = rhythm("".join(kinds), rr=1.0, coupling=0.75)
    s, inner = kinds == "S", slice(40, -40)
    alone = col(rr_features(peaks), "pre_minutes")
    adapted = col(br.rr_context(peaks, 360.0, 10, normal=kinds == "N")[0], "pre_minutes")
    assert np.median(alone[inner][s[inner]]) > br.PREMATURE  # the mean is fooled
    np.testing.assert_allclose(adapted[inner][s[inner]], 0.75, atol=1e-3)  # against sinus: 0.75
    assert np.all(adapted[inner][~s[inner]] >= 1.0 - 1e-3)
    # too few NN intervals within the minutes: the references without them
    few = np.zeros(len(kinds), bool)
    few[[100, 101, 102]] = True
    np.testing.assert_array_equal(
        br.rr_context(peaks, 360.0, 10, normal=few)[0], rr_features(peaks)
    )


def test_given_the_normal_beats_the_template_is_theirs_whatever_their_share():
    rng = np.random.default_rng(1)
    t = np.arange(BEFORE + AFTER)
    narrow = np.exp(-0.5 * ((t - BEFORE) / 2.0) ** 2)
    wide = -0.8 * np.exp(-0.5 * ((t - BEFORE - 6) / 7.0) ** 2)  # a wide, inverted ectopic beat
    kinds = rng.random(300) < 0.7  # 70% ectopic, at sinus timing (no prematurity to go by)
    windows = np.where(kinds[:, None], wide, narrow)[:, None, :] + rng.normal(
        0, 0.01, (300, 1, t.size)
    )
    peaks = np.arange(1, 301) * 288
    corr = br.ROBUST.index("beat_corr")
    alone = bf.compute("robust", peaks, 360.0, windows, BEFORE, FS, 10)[:, corr]
    adapted = bf.compute("robust", peaks, 360.0, windows, BEFORE, FS, 10, normal=~kinds)[:, corr]
    assert np.median(alone[~kinds]) < 0.5  # the majority's beat was the template
    assert np.median(adapted[~kinds]) > 0.95 and np.median(adapted[kinds]) < 0.5
    relative = bf.compute("relative", peaks, 360.0, windows, BEFORE, FS, 10, normal=~kinds)
    assert np.median(relative[~kinds, bf.RELATIVE.index("beat_corr")]) > 0.95
