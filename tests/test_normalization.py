import numpy as np

from ecgpipe.normalization import Normalizer


def test_fit_uses_only_the_given_rows(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(2.0, 3.0, (50, 4, 100)).astype(np.float32)
    x[40:] += 100.0  # rows outside the training split must not leak into the statistics
    spec = rng.normal(0, 1, (50, 4, 6, 9)).astype(np.float32)
    rows = np.arange(40)
    norm = Normalizer.fit(x, rows, spec, chunk=7)
    np.testing.assert_allclose(norm.signal_mean, x[rows].mean(axis=(0, 2)), rtol=1e-5)
    np.testing.assert_allclose(norm.signal_std, x[rows].std(axis=(0, 2)), rtol=1e-4)
    assert norm.spectrogram_mean.shape == (4, 6)
    z = norm.signal(x[rows])
    np.testing.assert_allclose(z.mean(axis=(0, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=(0, 2)), 1, atol=1e-3)
    norm.save(tmp_path / "n.json")
    again = Normalizer.load(tmp_path / "n.json")
    np.testing.assert_array_equal(again.signal_std, norm.signal_std)
    np.testing.assert_array_equal(again.spectrogram_std, norm.spectrogram_std)


def test_identity_changes_nothing():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(Normalizer.identity(3, None).signal(x), x)
