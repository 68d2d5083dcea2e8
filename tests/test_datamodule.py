"""Windows, crops and normalisation of the DataModule, and the served model's own STFT."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ecgpipe import signal
from ecgpipe.config import TrainConfig
from ecgpipe.datamodule import ECGDataModule, Windowing
from ecgpipe.inference import InferenceModel
from ecgpipe.models import build
from ecgpipe.normalization import Normalizer

SPEC = {"window": 64, "overlap": 0.75, "f_min": 0.5, "f_max": 45.0}


def test_eval_windows_follow_the_benchmark():
    w = Windowing.of(1000, 2.5, 1.25, 100.0, None)
    assert w.length == 250 and w.starts == (0, 125, 250, 375, 500, 625, 750)
    full = Windowing.of(1000, None, 1.25, 100.0, None)
    assert full.length == 1000 and full.starts == (0,)


def test_spectrogram_windows_start_on_frames():
    w = Windowing.of(1000, 2.5, 1.25, 100.0, SPEC)
    assert w.hop == 16 and all(s % 16 == 0 for s in w.starts)
    assert w.frames == signal.spectrogram_shape(250, 100.0, 64, 0.75, 0.5, 45.0)[1]


def make_cache(root: Path, n: int = 40, seed: int = 0) -> Path:
    """A cache as preprocess writes it: signals, their spectrograms, labels, index, split."""
    rng = np.random.default_rng(seed)
    t = np.arange(1000) / 100.0
    sig = (rng.normal(0, 0.2, (n, 2, 1000)) + np.sin(2 * np.pi * 7 * t)).astype(np.float32)
    sig[30:] += 50.0  # test rows: very different, must not move the statistics
    _, _, spec = signal.spectrogram(sig, 100.0, **SPEC)
    cache = root / "processed"
    cache.mkdir(parents=True)
    np.save(cache / "signals.npy", sig)
    np.save(cache / "spectrograms.npy", spec.astype(np.float32))
    y = (rng.random((n, 3)) < 0.4).astype(np.uint8)
    y[:, 0] = 1
    np.save(cache / "labels.npy", y)
    pd.DataFrame(
        {"row": range(n), "record_id": range(n), "patient_id": range(n), "fold": 1}
    ).to_csv(cache / "index.csv", index=False)
    meta = {
        "dataset": "t",
        "task": "t",
        "label_kind": "multilabel",
        "classes": ["a", "b", "c"],
        "fs": 100,
        "leads": ["I", "II"],
        "n_samples": 1000,
        "dtype": "float32",
        "spectrogram": SPEC,
        "shapes": {
            "signals": list(sig.shape),
            "labels": list(y.shape),
            "spectrograms": list(spec.shape),
        },
    }
    (cache / "meta.json").write_text(json.dumps(meta))
    split = root / "split"
    split.mkdir()
    for name, rows in (("train", range(0, 20)), ("val", range(20, 30)), ("test", range(30, 40))):
        np.save(split / f"{name}.npy", np.array(rows))
    return root


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    return make_cache(tmp_path)


def test_items_have_the_configured_shapes(cache_root: Path):
    dm = ECGDataModule(
        cache_root / "processed", cache_root / "split", "both", TrainConfig(batch_size=4)
    )
    item = dm.dataset("train")[0]
    assert item["signal"].shape == (2, 250) and item["spectrogram"].shape == (2, 28, 12)
    ev = dm.dataset("val")[0]
    assert ev["signal"].shape[:2] == (len(dm.eval_windows.starts), 2)
    assert ev["spectrogram"].shape[0] == ev["signal"].shape[0]
    batch = next(iter(dm.val_dataloader()))
    assert batch["signal"].shape[0] == 4 and batch["target"].shape == (4, 3)
    assert dm.class_counts()[0] == 20


def test_normalisation_sees_the_training_rows_only(cache_root: Path):
    dm = ECGDataModule(cache_root / "processed", cache_root / "split", "signal", TrainConfig())
    x = np.load(cache_root / "processed/signals.npy")
    np.testing.assert_allclose(dm.normalizer.signal_mean, x[:20].mean(axis=(0, 2)), atol=1e-4)
    train = torch.stack([dm.dataset("train")[i]["signal"] for i in range(20)])
    assert abs(float(train.mean())) < 0.2


def test_crops_are_random_and_seeded(cache_root: Path):
    dm = ECGDataModule(cache_root / "processed", cache_root / "split", "signal", TrainConfig())
    torch.manual_seed(1)
    a = [dm.dataset("train")[0]["signal"] for _ in range(3)]
    torch.manual_seed(1)
    b = [dm.dataset("train")[0]["signal"] for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], a[1])


def test_served_model_computes_the_cached_spectrogram(cache_root: Path):
    x = np.load(cache_root / "processed/signals.npy")[:3, :, :250]
    _, _, expected = signal.spectrogram(x, 100.0, **SPEC)
    norm = Normalizer.identity(2, expected.shape[2])
    served = InferenceModel(build("spectro2d", 2, 3), "spectro2d", norm, True, 100.0, SPEC)
    got = served.spectrogram(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_saved_statistics_are_used_as_given(cache_root: Path):
    saved = Normalizer(np.full(2, 5.0, np.float32), np.full(2, 2.0, np.float32))
    dm = ECGDataModule(
        cache_root / "processed", cache_root / "split", "signal", TrainConfig(), saved
    )
    assert dm.normalizer is saved
    x = np.load(cache_root / "processed/signals.npy")[20, :, :250]
    np.testing.assert_allclose(dm.dataset("val")[0]["signal"][0], (x - 5.0) / 2.0, rtol=1e-5)
