import json

import numpy as np
import pandas as pd
import pytest

from ecgpipe.cache import Cache, CacheError


def write_cache(path, n=4, spectrogram=True):
    path.mkdir()
    np.save(path / "signals.npy", np.zeros((n, 2, 10), np.float32))
    np.save(path / "labels.npy", np.zeros((n, 3), np.uint8))
    shapes = {"signals": [n, 2, 10], "labels": [n, 3]}
    if spectrogram:
        np.save(path / "spectrograms.npy", np.zeros((n, 2, 4, 3), np.float32))
        shapes["spectrograms"] = [n, 2, 4, 3]
    pd.DataFrame(
        {"row": range(n), "record_id": list("abcd")[:n], "patient_id": "p", "fold": 1}
    ).to_csv(path / "index.csv", index=False)
    meta = {
        "classes": ["x", "y", "z"],
        "spectrogram": {} if spectrogram else None,
        "shapes": shapes,
    }
    (path / "meta.json").write_text(json.dumps(meta))
    return path


def test_open_maps_arrays_read_only(tmp_path):
    cache = Cache.open(write_cache(tmp_path / "c"))
    assert isinstance(cache.signals, np.memmap)
    assert cache.spectrograms.shape == (4, 2, 4, 3)
    assert cache.classes == ["x", "y", "z"]
    with pytest.raises(ValueError):
        cache.signals[0, 0, 0] = 1.0


def test_missing_file_is_incomplete(tmp_path):
    path = write_cache(tmp_path / "c")
    (path / "meta.json").unlink()
    with pytest.raises(
        CacheError, match=r"not a complete preprocessed cache \(lacks \['meta\.json'\]\)"
    ):
        Cache.open(path)


def test_shape_disagreeing_with_meta_is_caught(tmp_path):
    path = write_cache(tmp_path / "c")
    np.save(path / "signals.npy", np.zeros((3, 2, 10), np.float32))
    with pytest.raises(CacheError, match=r"signals\.npy has shape \[3, 2, 10\], meta\.json says"):
        Cache.open(path)


def test_truncated_array_is_caught(tmp_path):
    path = write_cache(tmp_path / "c")
    data = (path / "signals.npy").read_bytes()
    (path / "signals.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(CacheError, match="unreadable"):
        Cache.open(path)
