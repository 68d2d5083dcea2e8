"""Windows, crops and normalisation of the DataModule over records of any length, and the served
model's own STFT."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from ecgpipe.config.schema import TrainConfig
from ecgpipe.processing import dsp
from ecgpipe.processing.cache import Cache, spectrogram_frames
from ecgpipe.processing.normalization import Normalizer
from ecgpipe.training.datamodule import ECGDataModule, collate_windows
from tests.conftest import conf

SPEC = {"window": 64, "overlap": 0.75, "f_min": 0.5, "f_max": 45.0}
FS = 100.0


def make_cache(root: Path, lengths: list[int], seed: int = 0, multilabel: bool = True) -> Path:
    """A cache as preprocess lays it out (flat, records of ``lengths``), and a split."""
    rng = np.random.default_rng(seed)
    n = len(lengths)
    records, specs = [], []
    for i, length in enumerate(lengths):
        t = np.arange(length) / FS
        x = rng.normal(0, 0.2, (2, length)) + np.sin(2 * np.pi * 7 * t)
        x += 50.0 * (i >= 30)  # test rows: very different, must not move the statistics
        records.append(x.astype(np.float32))
        if length >= SPEC["window"]:
            specs.append(dsp.spectrogram(records[-1], FS, **SPEC)[2].astype(np.float32))
    frames = spectrogram_frames(np.array(lengths), SPEC)
    cache = root / "processed"
    cache.mkdir(parents=True)
    np.save(cache / "signals.npy", np.concatenate([r.ravel() for r in records]))
    np.save(cache / "spectrograms.npy", np.concatenate([s.ravel() for s in specs]))
    if multilabel:
        y = (rng.random((n, 3)) < 0.4).astype(np.uint8)
        y[:, 0] = 1
    else:
        y = np.arange(n) % 3
    np.save(cache / "labels.npy", y)
    pd.DataFrame(
        {
            "row": range(n),
            "record_id": range(n),
            "patient_id": range(n),
            "fold": 1,
            "n_samples": lengths,
        }
    ).to_csv(cache / "index.csv", index=False)
    meta = {
        "dataset": "t",
        "task": "t",
        "label_kind": "multilabel" if multilabel else "multiclass",
        "classes": ["a", "b", "c"],
        "fs": FS,
        "leads": ["I", "II"],
        "dtype": "float32",
        "spectrogram": SPEC,
        "n_freqs": 28,
        "shapes": {
            "signals": [2 * sum(lengths)],
            "labels": list(y.shape),
            "spectrograms": [2 * 28 * int(frames.sum())],
        },
    }
    (cache / "meta.json").write_text(json.dumps(meta))
    split = root / "split"
    split.mkdir()
    for name, rows in (("train", range(0, 20)), ("val", range(20, 30)), ("test", range(30, n))):
        np.save(split / f"{name}.npy", np.array(rows))
    return root


LENGTHS = [1000] * 20 + [1000, 3000, 6100, 180, 1000, 1000, 2500, 1001, 999, 4321] + [1000] * 10


@pytest.fixture
def cache_root(tmp_path: Path) -> Path:
    return make_cache(tmp_path, LENGTHS)


def dm(root: Path, kind="signal", normalizer=None, **train) -> ECGDataModule:
    return ECGDataModule(
        root / "processed", root / "split", kind, TrainConfig(**conf("train", **train)), normalizer
    )


def test_items_have_the_configured_shapes(cache_root: Path):
    d = dm(cache_root, "both", batch_size=4)
    item = d.dataset("train")[0]
    assert item["signal"].shape == (2, 250) and item["spectrogram"].shape == (2, 28, 12)
    for i, n in enumerate(LENGTHS[20:30]):
        ev = d.dataset("val")[i]
        w = len(d.eval_windows.starts(n))
        assert ev["signal"].shape == (w, 2, 250) and ev["spectrogram"].shape == (w, 2, 28, 12)
    batch = next(iter(d.val_dataloader()))
    counts = [len(d.eval_windows.starts(n)) for n in LENGTHS[20:24]]
    assert batch["n_windows"].tolist() == counts
    assert batch["signal"].shape[0] == sum(counts) and batch["target"].shape == (4, 3)
    assert d.class_counts()[0] == 20


def test_collate_concatenates_windows_of_records():
    items = [
        {"signal": torch.zeros(w, 1, 5), "target": torch.tensor(k), "index": torch.tensor(7 + k)}
        for k, w in enumerate((3, 1))
    ]
    batch = collate_windows(items)
    assert batch["signal"].shape == (4, 1, 5) and batch["n_windows"].tolist() == [3, 1]
    assert batch["target"].tolist() == [0, 1] and batch["index"].tolist() == [7, 8]


def test_a_short_record_is_padded_and_counted(cache_root: Path):
    d = dm(cache_root, "both")
    short = d.dataset("val")[3]  # 180 samples
    x = Cache.open(cache_root / "processed").signal(23)
    raw = d.normalizer.signal(np.asarray(x))
    assert short["signal"].shape == (1, 2, 250)
    np.testing.assert_allclose(short["signal"][0, :, :180], raw, rtol=1e-5)
    pad = d.normalizer.signal(np.zeros((2, 70), np.float32))
    np.testing.assert_allclose(short["signal"][0, :, 180:], pad, rtol=1e-5)
    assert d.n_padded("val") == 1 and d.n_padded("train") == 0
    padded = np.zeros((2, 250), np.float32)
    padded[:, :180] = x
    expected = d.normalizer.spectrogram(dsp.spectrogram(padded, FS, **SPEC)[2])
    np.testing.assert_allclose(short["spectrogram"][0], expected, rtol=1e-4, atol=1e-4)


def test_cached_and_computed_spectrogram_windows_agree(cache_root: Path):
    d = dm(cache_root, "spectrogram")
    cache = Cache.open(cache_root / "processed")
    n = LENGTHS[22]  # 6100 samples: the last window ends at the end, off the frame grid
    starts = d.eval_windows.starts(n)
    assert starts[-1] == n - 250 and starts[-1] % 16 != 0
    item = d.dataset("val")[2]
    for k in (0, len(starts) - 2, len(starts) - 1):
        window = np.asarray(cache.signal(22)[:, starts[k] : starts[k] + 250])
        expected = d.normalizer.spectrogram(dsp.spectrogram(window, FS, **SPEC)[2])
        np.testing.assert_allclose(item["spectrogram"][k], expected, rtol=1e-4, atol=1e-3)


def test_crops_come_from_anywhere_in_the_record(tmp_path: Path):
    root = make_cache(tmp_path, [6000] * 20 + [1000] * 20)
    flat = np.load(root / "processed/signals.npy")
    flat[:12000] = np.tile(np.arange(6000, dtype=np.float32), 2)  # record 0: its sample index
    np.save(root / "processed/signals.npy", flat)
    d = dm(root, augment={"scale": 0.0})
    torch.manual_seed(0)
    starts = []
    for _ in range(40):
        crop = d.dataset("train")[0]["signal"].numpy()
        raw = crop * d.normalizer.signal_std[:, None] + d.normalizer.signal_mean[:, None]
        starts.append(round(float(raw[0, 0])))
        np.testing.assert_allclose(raw[0], np.arange(starts[-1], starts[-1] + 250), atol=0.05)
    assert max(starts) > 4500 and min(starts) < 1500  # late in the record, and early


def test_crops_are_random_and_seeded(cache_root: Path):
    d = dm(cache_root)
    torch.manual_seed(1)
    a = [d.dataset("train")[0]["signal"] for _ in range(3)]
    torch.manual_seed(1)
    b = [d.dataset("train")[0]["signal"] for _ in range(3)]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], a[1])


def test_full_length_training_pads_to_the_longest_record(tmp_path: Path):
    root = make_cache(tmp_path, [800, 1200] * 10 + [1000] * 20)
    d = dm(root, crop_s=None)
    assert d.train_windows.length == 1200
    assert d.dataset("train")[0]["signal"].shape == (2, 1200)
    assert d.n_padded("train") == 10


def test_normalisation_sees_the_training_rows_only(cache_root: Path):
    d = dm(cache_root)
    cache = Cache.open(cache_root / "processed")
    train = np.concatenate([cache.signal(r) for r in range(20)], axis=1)
    np.testing.assert_allclose(d.normalizer.signal_mean, train.mean(axis=1), atol=1e-4)
    np.testing.assert_allclose(d.normalizer.signal_std, train.std(axis=1), rtol=1e-4)
    crops = torch.stack([d.dataset("train")[i]["signal"] for i in range(20)])
    assert abs(float(crops.mean())) < 0.2


def test_single_label_targets_and_counts(tmp_path: Path):
    root = make_cache(tmp_path, [1000] * 40, multilabel=False)
    d = dm(root)
    assert not d.multilabel
    assert d.class_counts().tolist() == [7, 7, 6]
    assert next(iter(d.val_dataloader()))["target"].dtype == torch.int64


def test_saved_statistics_are_used_as_given(cache_root: Path):
    saved = Normalizer(np.full(2, 5.0, np.float32), np.full(2, 2.0, np.float32))
    d = dm(cache_root, normalizer=saved)
    assert d.normalizer is saved
    x = Cache.open(cache_root / "processed").signal(20)[:, :250]
    np.testing.assert_allclose(d.dataset("val")[0]["signal"][0], (x - 5.0) / 2.0, rtol=1e-5)


@pytest.mark.parametrize("sampler", [False, True])
def test_training_batches_are_full_with_or_without_the_weighted_sampler(tmp_path, sampler):
    root = make_cache(tmp_path, LENGTHS, multilabel=False)
    loader = dm(root, batch_size=6, weighted_sampler=sampler).train_dataloader()
    assert [len(b["target"]) for b in loader] == [6, 6, 6]  # 20 rows: the remainder of 2 dropped


def test_the_weighted_sampler_draws_rare_classes_as_often_as_common_ones(tmp_path):
    root = make_cache(tmp_path, LENGTHS, multilabel=False)
    labels = np.load(root / "processed/labels.npy")
    labels[:20] = [0] * 14 + [1] * 4 + [2] * 2  # the training rows: 70 / 20 / 10 %
    np.save(root / "processed/labels.npy", labels)
    module = dm(root, batch_size=6, weighted_sampler=True)
    train = module.rows["train"]
    torch.manual_seed(0)
    drawn = np.concatenate(
        [labels[train[list(module.train_dataloader().sampler)]] for _ in range(300)]
    )
    share = np.bincount(drawn, minlength=3) / len(drawn)
    np.testing.assert_allclose(share, [1 / 3] * 3, atol=0.03)
    plain = dm(root, batch_size=6).train_dataloader()
    assert not isinstance(plain.sampler, torch.utils.data.WeightedRandomSampler)
