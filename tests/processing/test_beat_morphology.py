"""The literature's morphology sets, each against a hand computation and on a real record, where
ventricular beats (wide, no P wave) must stand apart from normal ones."""

import math

import numpy as np
import pytest

from ecgpipe.processing import beat_features as bf
from ecgpipe.processing import beat_morphology as bm

from .test_beat_features import BEFORE, FS, record_beats


def test_haar_approximation_pairs_neighbours_level_by_level():
    x = np.arange(10.0)[None]
    # level 1: 5 pairs; level 2: odd length 5 -> the last repeated, 3 pairs; level 3: 3 -> 2
    one = [(x[0, i] + x[0, i + 1]) / math.sqrt(2) for i in range(0, 10, 2)]
    one += one[-1:]
    two = [(one[i] + one[i + 1]) / math.sqrt(2) for i in range(0, 6, 2)]
    two += two[-1:]
    three = [(two[i] + two[i + 1]) / math.sqrt(2) for i in range(0, 4, 2)]
    np.testing.assert_allclose(bm.haar_approximation(x, 3)[0], three)
    assert bm.names("wavelet", 126) == tuple(f"wavelet_{i}" for i in range(16))


def test_local_binary_patterns_are_shares_over_the_uniform_patterns():
    assert bm.N_LBP == 59
    ramp = np.linspace(0, 1, 126)[None, None]
    got = bm.lbp(ramp, BEFORE, FS)[0]
    # on a rising ramp the 4 later neighbours are higher, the 4 earlier lower: one pattern
    assert got.sum() == pytest.approx(1.0) and got.max() == pytest.approx(1.0)
    assert bm.UNIFORM_BINS[0b11110000] == got.argmax()


def test_hermite_functions_are_orthonormal_and_fit_a_gaussian_qrs_exactly():
    t = np.linspace(-0.5, 0.5, 4001)
    basis = bm._hermite_basis(t, 0.02)
    gram = basis @ basis.T * (t[1] - t[0])
    np.testing.assert_allclose(gram, np.eye(bm.HERMITE_N), atol=1e-6)
    qrs = np.exp(-0.5 * ((np.arange(126) - BEFORE) / FS / 0.012) ** 2)  # phi_0 of sigma 0.012
    got = bm.hermite_fit(qrs[None, None], BEFORE, FS)[0]
    assert got[bm.HERMITE.index("hermite_sigma_s")] == pytest.approx(0.012)
    assert got[-1] < 1e-6 and abs(got[0]) > 10 * np.abs(got[1 : bm.HERMITE_N]).max()


@pytest.mark.realdata
@pytest.mark.parametrize("name", bf.MORPHOLOGY_SETS)
def test_each_set_sets_ventricular_beats_apart_on_a_real_record(mitdb, name):
    peaks, classes, windows = record_beats(mitdb, "119")  # 1543 N, 444 V
    x = bf.compute(name, peaks, 360.0, windows, BEFORE, FS, 10)
    assert x.shape == (len(peaks), len(bf.names(name, windows.shape[-1]))) and np.isfinite(x).all()
    v, n = classes == "V", classes == "N"
    # standardised mean difference of the most telling feature: far apart
    spread = x.std(axis=0) + 1e-9
    d = np.abs(x[v].mean(axis=0) - x[n].mean(axis=0)) / spread
    assert d.max() > 1.0, f"{name}: best separation {d.max():.2f} sd"


@pytest.mark.realdata
def test_de_chazal_qrs_width_is_wider_for_ventricular_beats(mitdb):
    _, classes, windows = record_beats(mitdb, "119")
    x = bm.de_chazal(windows, BEFORE, FS)
    width = x[:, bm.DE_CHAZAL.index("dc_qrs_width_s")]
    assert np.median(width[classes == "V"]) > np.median(width[classes == "N"]) + 0.02
    assert x[classes == "N", bm.DE_CHAZAL.index("dc_p_flag")].mean() > 0.8


def test_sets_join_with_a_plus_and_refuse_unknown_or_repeated_names():
    windows = np.random.default_rng(0).normal(size=(30, 1, 126))
    peaks = np.arange(30) * 300
    joined = bf.compute("robust+wavelet+hos", peaks, 360.0, windows, BEFORE, FS, 10)
    parts = [bf.compute(n, peaks, 360.0, windows, BEFORE, FS, 10) for n in ("robust", "wavelet")]
    np.testing.assert_array_equal(joined[:, : sum(p.shape[1] for p in parts)], np.hstack(parts))
    assert joined.shape[1] == len(bf.names("robust+wavelet+hos", 126))
    with pytest.raises(ValueError, match="unknown beat feature sets"):
        bf.parts("robust+morse")
    with pytest.raises(ValueError, match="named twice"):
        bf.parts("hos+hos")
