"""Stretches of the training records (``train.segments``): cut from training records only, every
feature recomputed as if the stretch were the whole record, by the code ``preprocess`` uses;
dense stretches hold the class they are cut for."""

import numpy as np
import pytest

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.config.schema import SegmentsConfig
from ecgpipe.processing import beat_features
from ecgpipe.processing.cache import Cache
from ecgpipe.training import segments

from ..beat_records import write_beat_records
from ..conftest import PROJECT


@pytest.fixture(scope="module")
def beat_cache(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("segments")
    data = write_beat_records(tmp / "records", 3, seconds=120.0)
    root = tmp / "project"
    (root).mkdir()
    (root / "conf").symlink_to(PROJECT / "conf")
    overrides = ["experiment=mitdb_interpatient", f"data.root={data}", "data.classes=[N,S,V]"]
    assert main(["--root", str(root), "compose", *overrides]) == 0
    for stage in ("prepare", "validate", "preprocess"):
        assert main(["--root", str(root), stage]) == 0
    return Cache.open(root / "data/processed"), load_params(root / "params.yaml")


def test_random_stretches_are_records_of_their_own(beat_cache):
    cache, cfg = beat_cache
    rows = np.flatnonzero(cache.index["record_id"] == "r01")
    x, y = segments.augment(
        cache, rows, cfg.preprocess.beats, SegmentsConfig(random=4, dense=[]), seed=3
    )
    assert len(x) == len(y) > 0 and x.shape[1] == len(beat_features.FEATURE_SETS["robust"])
    # the same draws, by hand: each stretch's features from its own beats alone
    rng = np.random.default_rng(3)
    parts = segments.stretches(
        cache.labels[rows], SegmentsConfig(random=4, dense=[]), {"N": 0, "S": 1, "V": 2}, rng
    )
    fs, b = float(cache.meta["fs"]), cfg.preprocess.beats
    windows = cache.signals.reshape(len(cache.labels), cache.n_leads, -1)
    want = np.concatenate(
        [
            beat_features.compute(
                b.features, cache.index["sample"].to_numpy()[rows[p]], 360.0,
                windows[rows[p]], round(b.before_s * fs), fs, b.rr_context,
            )
            for p in parts
        ]
    )  # fmt: skip
    np.testing.assert_array_equal(x, want)
    assert all(segments.RANDOM_BEATS[0] <= len(p) <= segments.RANDOM_BEATS[1] for p in parts)
    # a stretch is not its record: the record-level features change
    whole = cache.features[rows[parts[0]]]
    assert not np.array_equal(whole, want[: len(parts[0])])


def test_dense_stretches_hold_their_class_at_least_half(beat_cache):
    cache, cfg = beat_cache
    labels = np.array([0] * 30 + [1, 0] * 20 + [0] * 30 + [1] * 12 + [0] * 30)
    parts = segments.stretches(
        labels, SegmentsConfig(random=0, dense=["S"]), {"N": 0, "S": 1}, np.random.default_rng(0)
    )
    assert parts
    for p in parts:
        assert np.mean(labels[p] == 1) >= segments.DENSE_SHARE
        assert segments.DENSE_BEATS[0] <= len(p) <= segments.DENSE_BEATS[1]
    none = segments.augment(
        cache, np.arange(5), cfg.preprocess.beats, SegmentsConfig(random=0, dense=[]), seed=0
    )
    assert none[0].shape == (0, len(beat_features.FEATURE_SETS["robust"])) and not len(none[1])
