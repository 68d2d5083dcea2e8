"""preprocess + split end to end through the CLI, on tiny synthetic data and the real sample."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgpipe.cli import main
from ecgpipe.processing.cache import Cache

from ..conftest import PROJECT


def run(project: Path, *args: str) -> int:
    return main(["--root", str(project), *args])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    project = tmp_path_factory.mktemp("tiny")
    shutil.copytree(PROJECT / "conf", project / "conf")
    assert run(project, "compose", "data.n_records=200", "data.defect_rate=0.05") == 0
    for stage in ("prepare", "validate", "preprocess", "split"):
        assert run(project, stage) == 0, stage
    return project


def test_cache_matches_the_kept_records(tiny: Path):
    cache = Cache.open(tiny / "data/processed")
    kept = json.loads((tiny / "reports/integrity.json").read_text())["n_kept"]
    assert cache.signals.shape == (kept * 12 * 1000,) and list(cache.lengths) == [1000] * kept
    assert cache.spectrogram(kept - 1).shape == (12, 28, 59)
    assert cache.labels.shape == (kept, 5)
    assert np.isfinite(cache.signals[:]).all()


def test_split_follows_the_folds_without_leaking(tiny: Path):
    cache = Cache.open(tiny / "data/processed")
    report = json.loads((tiny / "reports/split.json").read_text())
    folds = cache.index["fold"].to_numpy()
    parts = {name: np.load(tiny / f"data/split/{name}.npy") for name in ("train", "val", "test")}
    assert set(folds[parts["train"]]) <= set(range(1, 9))
    assert set(folds[parts["val"]]) == {9} and set(folds[parts["test"]]) == {10}
    assert report["patient_overlap"] == 0
    patients = [set(cache.patients[p]) for p in parts.values()]
    assert not (patients[0] & patients[1] or patients[0] & patients[2] or patients[1] & patients[2])
    for name, part in parts.items():
        assert report[name]["n_records"] == part.size
        assert report[name]["positives"]["NORM"] == int(cache.labels[part, 3].sum())


def test_stratified_strategy_is_one_switch_away(tiny: Path):
    assert (
        run(
            tiny,
            "compose",
            "data.n_records=200",
            "data.defect_rate=0.05",
            "split.strategy=stratified",
        )
        == 0
    )
    assert run(tiny, "split") == 0
    report = json.loads((tiny / "reports/split.json").read_text())
    assert report["strategy"] == "stratified" and report["patient_overlap"] == 0
    n = sum(report[k]["n_records"] for k in ("train", "val", "test"))
    assert report["train"]["n_records"] / n == pytest.approx(0.8, abs=0.06)


def test_leaking_folds_fail_loudly(tiny: Path, caplog):
    index_csv = tiny / "data/processed/index.csv"
    original = index_csv.read_text()
    index = pd.read_csv(index_csv, dtype={"patient_id": str})
    labelled = Cache.open(tiny / "data/processed").labels.any(axis=1)
    rows = index[labelled].groupby("patient_id").filter(lambda g: len(g) > 1).index[:2]
    index.loc[rows[0], "fold"], index.loc[rows[1], "fold"] = 1, 10  # one patient, two splits
    try:
        index.to_csv(index_csv, index=False)
        assert run(tiny, "compose", "data.n_records=200", "data.defect_rate=0.05") == 0
        assert run(tiny, "split") == 1
        assert "1 patients are in more than one split" in caplog.text
    finally:
        index_csv.write_text(original)


def test_real_sample_runs_through_split(ptbxl_sample: Path, project: Path):
    assert run(project, "compose", "data=ptbxl", f"data.root={ptbxl_sample}") == 0
    for stage in ("prepare", "validate", "preprocess", "split"):
        assert run(project, stage) == 0, stage
    report = json.loads((project / "reports/split.json").read_text())
    assert report["n_unlabelled"] == 12
    assert report["patient_overlap"] == 0
    assert sum(report[k]["n_records"] for k in ("train", "val", "test")) == 488
