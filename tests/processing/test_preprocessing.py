"""Per-record transform and the streamed, atomic cache build, on real WFDB files."""

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb

from ecgpipe.config.schema import PreprocessConfig
from ecgpipe.core import atomic
from ecgpipe.data import manifest
from ecgpipe.data.manifest import DatasetInfo
from ecgpipe.processing import preprocessing
from ecgpipe.processing.cache import Cache
from ecgpipe.processing.preprocessing import Layout, PreprocessError, build_cache, transform
from tests.conftest import conf

LEADS = ("I", "II", "V1")
CLASSES = ("A", "B", "C")


def tone(fs: float, seconds: float, hz: float, amp: float = 1.0) -> np.ndarray:
    t = np.arange(round(fs * seconds)) / fs
    return amp * np.sin(2 * np.pi * hz * t)


def test_transform_filters_resamples_and_fixes_length():
    cfg = PreprocessConfig(**conf("preprocess", fs=100, duration_s=8.0, leads=["V1", "I"]))
    layout = Layout.of(cfg, LEADS)
    # 500 Hz record, 10 s: lead I a 5 Hz tone plus 0.1 Hz drift, V1 a 130 Hz tone.
    x = np.stack([tone(500, 10, 5) + tone(500, 10, 0.1, 2.0), tone(500, 10, 5), tone(500, 10, 130)])
    sig, spec = transform(x, 500.0, list(LEADS), cfg, layout)
    assert sig.shape == (2, 800)
    mid = slice(200, 600)
    assert np.abs(sig[0, mid]).max() < 0.01  # V1's 130 Hz: outside the band, and aliased away
    ref = tone(100, 8, 5)[mid]
    assert np.corrcoef(sig[1, mid], ref)[0, 1] > 0.999  # lead I: the drift is gone, the tone kept
    assert np.abs(sig[1, mid]).max() == pytest.approx(1.0, abs=0.03)
    assert spec.shape == (2, layout.n_freqs, 1 + (800 - 64) // 16)


def test_shorter_records_are_padded_and_filters_can_be_off():
    off = {"enabled": False}
    cfg = PreprocessConfig(**conf("preprocess", duration_s=10.0, bandpass=off, spectrogram=off))
    layout = Layout.of(cfg, ("II",))
    x = tone(100, 6, 3)[None]
    sig, spec = transform(x, 100.0, ["II"], cfg, layout)
    assert spec is None
    assert sig.shape == (1, 1000)
    np.testing.assert_allclose(sig[0, :600], x[0])
    assert not sig[0, 600:].any()


def write_dataset(
    root: Path, n: int, nan_at: int | None = None, rates=(100,), seconds=(10.0,)
) -> tuple[pd.DataFrame, DatasetInfo]:
    """``n`` WFDB records (rates and durations cycle through those given) and their manifest."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        fs, duration = rates[i % len(rates)], seconds[i % len(seconds)]
        t = tone(fs, duration, 1 + i % 7)
        x = rng.normal(0, 0.3, (len(t), 3)) + t[:, None]
        if i == nan_at:
            x[10:20, 1] = np.nan
        wfdb.wrsamp(
            f"r{i}",
            fs=fs,
            units=["mV"] * 3,
            sig_name=list(LEADS),
            p_signal=x,
            fmt=["16"] * 3,
            adc_gain=[1000.0] * 3,
            baseline=[0] * 3,
            write_dir=str(root),
        )
        labels = [CLASSES[i % 3]] if i % 5 else []
        rows.append(
            {
                "record_id": str(i),
                "patient_id": f"p{i // 2}",
                "path": f"r{i}",
                "fs": float(fs),
                "n_leads": 3,
                "leads": "|".join(LEADS),
                "n_samples": len(t),
                "labels": manifest.encode_labels(labels),
                "label_error": "",
                "fold": 1 + i % 10,
            }
        )
    fixed = rates[0] if len(set(rates)) == 1 else None
    info = DatasetInfo("t", str(root), "task", "multilabel", CLASSES, fixed, LEADS, 1.0, None)
    return pd.DataFrame(rows), info


@pytest.mark.parametrize("workers", [1, 2])
def test_cache_holds_every_record_in_order(tmp_path, workers):
    df, info = write_dataset(tmp_path, 11)
    cfg = PreprocessConfig(**conf("preprocess", workers=workers, chunk_size=4, dtype="float16"))
    build_cache(df, info, tmp_path, cfg, tmp_path / "processed")
    cache = Cache.open(tmp_path / "processed")
    assert cache.signals.shape == (11 * 3 * 1000,) and cache.signals.dtype == np.float16
    assert list(cache.lengths) == [1000] * 11 and cache.spectrogram(0).shape == (3, 28, 59)
    assert list(cache.index.record_id) == [str(i) for i in range(11)]
    assert list(cache.index.patient_id[:3]) == ["p0", "p0", "p1"]
    layout = Layout.of(cfg, LEADS)
    for i in (0, 5, 10):
        x, fs, names = preprocessing.load_record(tmp_path / f"r{i}")
        expected, spec = transform(x, fs, names, cfg, layout)
        np.testing.assert_array_equal(cache.signal(i), expected.astype(np.float16))
        np.testing.assert_array_equal(cache.spectrogram(i), spec.astype(np.float16))
    assert cache.labels.tolist()[:3] == [[0, 0, 0], [0, 1, 0], [0, 0, 1]]


def test_records_of_any_rate_and_length_keep_their_whole_length(tmp_path):
    rates, seconds = (300, 360, 500, 100, 250), (9.3, 61.0, 30.0, 0.5, 12.34)
    df, info = write_dataset(tmp_path, 10, rates=rates, seconds=seconds)
    cfg = PreprocessConfig(**conf("preprocess", workers=2, chunk_size=3))
    build_cache(df, info, tmp_path, cfg, tmp_path / "processed")
    cache = Cache.open(tmp_path / "processed")
    for i in range(10):
        fs, duration = rates[i % 5], seconds[i % 5]
        x, _, names = preprocessing.load_record(tmp_path / f"r{i}")
        expected, spec = transform(x, fs, names, cfg, Layout.of(cfg, LEADS))
        assert cache.lengths[i] == len(expected[0]) == -(-round(fs * duration) * 100 // fs)
        np.testing.assert_array_equal(cache.signal(i), expected.astype(np.float32))
        assert cache.spectrogram(i).shape == spec.shape
        mid = slice(20, cache.lengths[i] - 20)  # the tone, resampled from any rate
        ref = tone(100, cache.lengths[i] / 100, 1 + i % 7)[mid]
        assert np.corrcoef(cache.signal(i)[0, mid], ref)[0, 1] > 0.85  # noise: 0.93 expected
    assert cache.spectrogram(3).shape == (3, 28, 0)  # 0.5 s: shorter than one STFT window
    assert cache.meta["duration_s"]["max"] == 61.0


def test_interrupted_build_leaves_no_cache(tmp_path, monkeypatch):
    df, info = write_dataset(tmp_path, 9)
    cfg = PreprocessConfig(**conf("preprocess", workers=1, chunk_size=2))
    out = tmp_path / "processed"
    build_cache(df, info, tmp_path, cfg, out)
    before = (out / "signals.npy").read_bytes()
    calls = {"n": 0}
    real = preprocessing.transform

    def crash_midway(*args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-way
        return real(*args)

    monkeypatch.setattr(preprocessing, "transform", crash_midway)
    with pytest.raises(KeyboardInterrupt):
        build_cache(
            df,
            info,
            tmp_path,
            PreprocessConfig(
                **conf(
                    "preprocess",
                    workers=1,
                    chunk_size=2,
                    fs=50,
                    bandpass={"high_hz": 20.0},
                    spectrogram={"f_max": 25.0},
                )
            ),
            out,
        )
    assert (out / "signals.npy").read_bytes() == before  # the old cache, whole
    assert list(Cache.open(out).lengths) == [1000] * 9
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".processed")]


def test_bad_record_is_named(tmp_path):
    df, info = write_dataset(tmp_path, 3, nan_at=1)
    with pytest.raises(PreprocessError, match=r"record 1 \(.*r1\): it holds NaN"):
        build_cache(
            df, info, tmp_path, PreprocessConfig(**conf("preprocess", workers=1)), tmp_path / "out"
        )
    df, info = write_dataset(tmp_path, 3)
    notch = PreprocessConfig(
        **conf("preprocess", workers=1, notch={"enabled": True, "freq_hz": 50.0})
    )
    with pytest.raises(PreprocessError, match=r"record 0 .*freq_hz=50"):
        build_cache(df, info, tmp_path, notch, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def mitdb_pair(tmp_path_factory) -> tuple[Path, Cache]:
    """A beat cache of real records 101 and 114 (MLII is 114's second channel)."""
    from ecgpipe.data import mitdb

    from ..conftest import shared_data

    ds1 = shared_data() / "mitdb-ds1"
    if not (ds1 / "RECORDS").is_file():
        pytest.skip(f"real MIT-BIH DS1 not found at {ds1} (set ECGPIPE_SHARED_DATA)")
    df, info = mitdb.read(
        ds1,
        root_label=str(ds1),
        classes=("N", "S", "V", "F", "Q"),
        sampling_rate=360.0,
        lead="MLII",
        annotator="atr",
        include_paced=False,
    )
    df = df[df.record_id.isin(["101", "114"])].assign(n_samples=650_000)
    cfg = PreprocessConfig(**conf("preprocess", fs=180, spectrogram={"enabled": False}, workers=1))
    out = tmp_path_factory.mktemp("beats") / "processed"
    preprocessing.build_beat_cache(df, info, ds1, cfg, out)
    return ds1, Cache.open(out)


@pytest.mark.realdata
def test_beat_rows_are_windows_of_the_mlii_lead_around_each_annotated_beat(mitdb_pair):
    from ecgpipe.data.wfdb_io import read_annotations
    from ecgpipe.processing import beat_features, beats, dsp

    ds1, cache = mitdb_pair
    assert cache.unit == "beat" and cache.meta["leads"] == ["MLII"]
    rows = cache.index[cache.index.record_id == "114"]
    samples, symbols = read_annotations(ds1 / "114", "atr")
    is_beat = beats.aami(symbols) != ""
    assert rows["sample"].tolist() == samples[is_beat].tolist()
    assert cache.meta["n_non_beat"] == int((~is_beat).sum()) + int(
        (beats.aami(read_annotations(ds1 / "101", "atr")[1]) == "").sum()
    )
    classes = cache.classes
    assert [classes[y] for y in cache.labels[rows.row]] == beats.aami(symbols[is_beat]).tolist()

    record = wfdb.rdrecord(str(ds1 / "114"))
    mlii = record.p_signal[:, record.sig_name.index("MLII")][None]
    x = dsp.resample(dsp.bandpass(mlii, 360.0, 0.5, 45.0, 4), 360.0, 180.0)
    for row in rows.row.to_numpy()[[5, 100, 1000]]:
        peak = round(cache.index.loc[row, "sample"] / 2)
        np.testing.assert_allclose(cache.signal(row), x[:, peak - 45 : peak + 81], atol=1e-5)
    # the features of 114's beats come from 114 alone: its own rhythm and dominant beat
    windows = np.stack([np.asarray(cache.signal(r)) for r in rows.row])
    want = beat_features.compute("relative", samples[is_beat], 360.0, windows, 45, 180.0, 10)
    np.testing.assert_allclose(cache.features[rows.row], want, rtol=1e-5, atol=1e-6)
    assert cache.meta["features"] == list(beat_features.RELATIVE)


def test_a_cache_the_disk_cannot_hold_is_refused_before_writing(tmp_path, monkeypatch):
    df, info = write_dataset(tmp_path, 3)
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        atomic.shutil, "disk_usage", lambda _: usage._replace(free=1000)
    )  # 1 kB free
    out = tmp_path / "processed"
    with pytest.raises(atomic.NoSpaceError) as caught:
        build_cache(df, info, tmp_path, PreprocessConfig(**conf("preprocess", workers=1)), out)
    assert str(caught.value).startswith(f"no space left on device while writing {out} (needs")
    assert not out.exists() and not list(tmp_path.glob(".processed*"))
