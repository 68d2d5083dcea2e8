"""RR-interval features found inside the model, on spike trains whose beats are known."""

import numpy as np
import pytest
import torch

from ecgpipe import models
from ecgpipe.models.cnn1d_rr import RRFeatures
from tests.conftest import conf

FS = 100.0
T = np.arange(3000) / FS

OPTIONS = {name: conf("model", name)["options"] for name in models.NAMES}


def beats_at(times) -> np.ndarray:
    """A QRS-like spike at each time, on a slow wander."""
    x = 0.2 * np.sin(2 * np.pi * 0.3 * T)
    for s in times:
        x += np.exp(-(((T - s) / 0.015) ** 2))
    return x


def features(*signals) -> np.ndarray:
    x = torch.tensor(np.stack(signals)[:, None], dtype=torch.float32)
    return RRFeatures(FS)(x).numpy()


def test_a_regular_rhythm_has_its_rate_and_no_variability():
    [f] = features(beats_at(np.arange(0.5, 30, 0.8)))
    assert f[0] == pytest.approx(np.log1p(36))  # 37 beats, 36 intervals
    assert f[1] == pytest.approx(75.0, rel=0.005)  # bpm
    assert f[2] < 0.03 and f[3] < 0.05  # peaks within a sample or two of the truth
    assert f[6] == pytest.approx(1.0, abs=0.05) and f[7] == pytest.approx(1.0, abs=0.05)


def test_an_irregular_rhythm_has_its_variability():
    rng = np.random.default_rng(0)
    times = np.cumsum(rng.uniform(0.4, 1.2, 60))
    times = times[times < 29.5]
    rr = np.diff(times)
    [f] = features(beats_at(times))
    assert f[2] == pytest.approx(rr.std() / rr.mean(), rel=0.05)  # coefficient of variation
    assert f[3] == pytest.approx(np.sqrt(np.mean(np.diff(rr) ** 2)) / rr.mean(), rel=0.05)
    assert f[4] == pytest.approx(np.mean(np.abs(np.diff(rr)) > 0.05), abs=0.03)  # pNN50


def test_features_ignore_scale_offset_and_polarity():
    x = beats_at(np.arange(0.3, 30, 0.62))
    np.testing.assert_allclose(features(x), features(3.0 * x - 1.0), rtol=1e-4, atol=1e-5)
    assert features(-x)[0, 1] == pytest.approx(features(x)[0, 1])


def test_a_window_without_beats_gives_zeros():
    assert not features(np.zeros(3000)).any()


def test_the_fused_model_takes_the_sampling_rate_from_the_data():
    net = models.build(
        "cnn1d_rr", 1, 4, 300.0, **(OPTIONS["cnn1d_rr"] | {"widths": [8, 16]})
    ).eval()
    assert net.rr.fs == 300.0
    out = net(torch.randn(2, 1, 900))
    assert out.shape == (2, 4) and torch.isfinite(out).all()
