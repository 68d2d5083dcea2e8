"""Training-time augmentations: what each changes, by how much, reproducibly."""

import numpy as np

from ecgpipe.training import augment

FS = 100.0


def window() -> np.ndarray:
    t = np.arange(250) / FS
    return np.stack([np.sin(2 * np.pi * 5 * t), np.cos(2 * np.pi * 3 * t)]).astype(np.float32)


def test_scale_multiplies_each_lead_by_one_factor_within_its_bounds():
    x = window()
    y = augment.scale(x, np.random.default_rng(0), 0.1)
    factors = y[:, 100] / x[:, 100]
    np.testing.assert_allclose(y, x * factors[:, None], rtol=1e-5)
    assert y.dtype == np.float32 and ((factors >= 0.9) & (factors <= 1.1)).all()
    assert factors[0] != factors[1]  # one per lead
    draws = [
        augment.scale(x, np.random.default_rng(s), 0.1)[0, 100] / x[0, 100] for s in range(200)
    ]
    assert 0.9 <= min(draws) < 0.92 and 1.08 < max(draws) <= 1.1  # spread over the whole range


def test_noise_has_the_asked_spread_and_no_offset():
    x = np.zeros((12, 5000), np.float32)
    y = augment.gaussian_noise(x, np.random.default_rng(1), 0.05)
    assert y.dtype == np.float32
    assert abs(float(y.std()) - 0.05) < 0.002 and abs(float(y.mean())) < 0.002


def test_wander_is_slow_and_bounded_by_its_amplitude():
    x = np.zeros((4, 2000), np.float32)  # 20 s
    y = augment.baseline_wander(x, np.random.default_rng(2), 0.3, FS)
    assert y.dtype == np.float32 and np.abs(y).max() <= 0.3 + 1e-6 and np.abs(y).max() > 0
    spectrum = np.abs(np.fft.rfft(y, axis=1)) ** 2
    freqs = np.fft.rfftfreq(y.shape[1], 1 / FS)
    assert spectrum[:, freqs > 1.0].sum() < 0.05 * spectrum.sum()  # below 0.5 Hz, leakage aside


def test_the_same_generator_state_gives_the_same_augmentation():
    x = window()
    for fn, arg in ((augment.scale, 0.1), (augment.gaussian_noise, 0.05)):
        a = fn(x, np.random.default_rng(7), arg)
        b = fn(x, np.random.default_rng(7), arg)
        assert np.array_equal(a, b) and not np.array_equal(a, fn(x, np.random.default_rng(8), arg))
