import numpy as np
import pytest

from ecgpipe.processing.normalization import Normalizer


def test_fit_pools_records_of_any_length(tmp_path):
    rng = np.random.default_rng(0)
    lengths = rng.integers(50, 400, 40)
    x = [rng.normal(2.0, 3.0, (4, n)).astype(np.float32) for n in lengths]
    spec = [rng.normal(0, 1, (4, 6, n // 16)).astype(np.float32) for n in lengths]
    norm = Normalizer.fit(iter(x), iter(spec))
    pooled = np.concatenate(x, axis=1)
    np.testing.assert_allclose(norm.signal_mean, pooled.mean(axis=1), rtol=1e-5)
    np.testing.assert_allclose(norm.signal_std, pooled.std(axis=1), rtol=1e-4)
    np.testing.assert_allclose(
        norm.spectrogram_mean, np.concatenate(spec, axis=2).mean(axis=2), rtol=1e-4, atol=1e-6
    )
    z = norm.signal(pooled)
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=1), 1, atol=1e-3)
    norm.save(tmp_path / "n.json")
    again = Normalizer.load(tmp_path / "n.json")
    np.testing.assert_array_equal(again.signal_std, norm.signal_std)
    np.testing.assert_array_equal(again.spectrogram_std, norm.spectrogram_std)


def test_fit_needs_a_sample():
    with pytest.raises(ValueError, match="at least one sample"):
        Normalizer.fit(iter([]))


def test_identity_changes_nothing():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(Normalizer.identity(3, None).signal(x), x)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"per_window": [1, 2]}, "its per_window is [1, 2], not true or false"),
        ({"signal_mean": "text"}, "its signal_mean is not a list of finite numbers"),
        ({"signal_std": 3}, "its signal_std is not a list of finite numbers"),
        ({"signal_std": [1, None, 1]}, "its signal_std is not a list of finite numbers"),
        ({"signal_std": [1, 2]}, "its signal_mean and signal_std differ in shape ((3,), (2,))"),
        ({"spectrogram_mean": [[0, 0]]}, "its spectrogram_mean and spectrogram_std differ"),
        ({"spectrogram_std": {"x": 1}}, "its spectrogram_std is not a table"),
        ({"extra": 1}, "not a normalisation ecgpipe wrote (it has ['extra'])"),
    ],
)
def test_a_damaged_normalisation_is_one_line_naming_the_file(tmp_path, change, why):
    import json

    from ecgpipe.core.paths import BrokenOutputError

    file = tmp_path / "models" / "normalization.json"
    file.parent.mkdir()
    Normalizer.identity(3, 2).save(file)
    file.write_text(json.dumps(json.loads(file.read_text()) | change))
    with pytest.raises(BrokenOutputError) as err:
        Normalizer.load(file)
    line = str(err.value)
    assert line.startswith(f"{file}: {why}") and "\n" not in line
    assert line.endswith("run `dvc repro train` to rebuild it")
