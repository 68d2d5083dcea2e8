import json

import numpy as np
import pandas as pd
import pytest

from ecgpipe.processing.cache import Cache, CacheError, offsets, spectrogram_frames

SPEC = {"window": 4, "overlap": 0.5, "f_min": 0.0, "f_max": 50.0}  # hop 2, 3 bins at 100 Hz


def write_cache(path, lengths=(10, 3, 7, 12), spectrogram=True):
    """A cache as preprocess lays it out: records of ``lengths`` samples, 2 leads, flat."""
    path.mkdir()
    lengths = np.asarray(lengths)
    records = [
        np.arange(2 * n, dtype=np.float32).reshape(2, n) + 100 * i for i, n in enumerate(lengths)
    ]
    np.save(path / "signals.npy", np.concatenate([r.ravel() for r in records]))
    np.save(path / "labels.npy", np.zeros((len(lengths), 3), np.uint8))
    shapes = {"signals": [int(2 * lengths.sum())], "labels": [len(lengths), 3]}
    if spectrogram:
        frames = spectrogram_frames(lengths, SPEC)
        specs = [np.full((2, 3, f), i, np.float32) for i, f in enumerate(frames)]
        np.save(path / "spectrograms.npy", np.concatenate([s.ravel() for s in specs]))
        shapes["spectrograms"] = [int(2 * 3 * frames.sum())]
    pd.DataFrame(
        {
            "row": range(len(lengths)),
            "record_id": list("abcd")[: len(lengths)],
            "patient_id": "p",
            "fold": 1,
            "n_samples": lengths,
        }
    ).to_csv(path / "index.csv", index=False)
    meta = {
        "classes": ["x", "y", "z"],
        "leads": ["I", "II"],
        "spectrogram": SPEC if spectrogram else None,
        "n_freqs": 3 if spectrogram else None,
        "shapes": shapes,
    }
    (path / "meta.json").write_text(json.dumps(meta))
    return path, records


def test_records_of_any_length_round_trip_as_views(tmp_path):
    path, records = write_cache(tmp_path / "c")
    cache = Cache.open(path)
    assert isinstance(cache.signals.base, np.memmap)  # a plain view over the file mapping
    assert list(cache.lengths) == [10, 3, 7, 12]
    for i, record in enumerate(records):
        got = cache.signal(i)
        np.testing.assert_array_equal(got, record)
        assert np.shares_memory(got, cache.signals)  # a view into the map, not a copy
    assert list(cache.frames) == [4, 0, 2, 5]
    assert cache.spectrogram(0).shape == (2, 3, 4) and cache.spectrogram(1).shape == (2, 3, 0)
    assert (cache.spectrogram(3) == 3).all()
    with pytest.raises(ValueError):
        cache.signal(0)[0, 0] = 1.0  # read-only


def test_frames_and_offsets():
    assert list(offsets(np.array([3, 0, 2]))) == [0, 3, 3, 5]
    assert list(spectrogram_frames(np.array([3, 4, 5, 6]), SPEC)) == [0, 1, 1, 2]


def test_a_cache_without_spectrograms_says_so(tmp_path):
    path, _ = write_cache(tmp_path / "c", spectrogram=False)
    cache = Cache.open(path)
    assert cache.spectrograms is None
    with pytest.raises(CacheError, match="holds no spectrograms"):
        cache.spectrogram(0)


def test_missing_file_is_incomplete(tmp_path):
    path, _ = write_cache(tmp_path / "c")
    (path / "meta.json").unlink()
    with pytest.raises(
        CacheError, match=r"not a complete preprocessed cache \(lacks \['meta\.json'\]\)"
    ):
        Cache.open(path)


def test_shape_disagreeing_with_meta_is_caught(tmp_path):
    path, _ = write_cache(tmp_path / "c")
    np.save(path / "signals.npy", np.zeros(10, np.float32))
    with pytest.raises(CacheError, match=r"signals\.npy has shape \[10\], meta\.json says \[64\]"):
        Cache.open(path)


def test_lengths_disagreeing_with_the_signals_are_caught(tmp_path):
    path, _ = write_cache(tmp_path / "c")
    index = pd.read_csv(path / "index.csv")
    index.loc[0, "n_samples"] = 11
    index.to_csv(path / "index.csv", index=False)
    with pytest.raises(CacheError, match=r"lengths add up to 33 samples per lead, signals"):
        Cache.open(path)


def test_truncated_array_is_caught(tmp_path):
    path, _ = write_cache(tmp_path / "c")
    data = (path / "signals.npy").read_bytes()
    (path / "signals.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match="unreadable"):
        Cache.open(path)
