"""MIT-BIH heartbeats end to end on the real DS1 records: experiment=mitdb_interpatient (the test
split drawn from DS1's records, since DS2 is not at hand) and the leaky
experiment=mitdb_intrapatient, in one project, so that MLflow holds both runs side by side."""

import json
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import Paths
from ecgpipe.processing import beat_features
from ecgpipe.processing.cache import Cache
from ecgpipe.stages import evaluate

from .test_real_datasets import QUICK, project, sample


@pytest.fixture(scope="module")
def mit(tmp_path_factory) -> Path:
    source = sample("mitdb-ds1", "RECORDS")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        root = project(
            tmp_path_factory.mktemp("mitdb"),
            "experiment=mitdb_interpatient",
            f"data.root={source}",
            "split.records.test=[]",
            "split.ratios={train: 0.7, val: 0.15, test: 0.15}",
            *QUICK,
        )
        inter = {
            name: json.loads((root / f"{name}.json").read_text())
            for name in ("reports/split", "metrics/eval")
        }
        inter["rows"] = {s: np.load(root / f"data/split/{s}.npy") for s in ("train", "val", "test")}
        args = ["--root", str(root)]
        compose = ["compose", "experiment=mitdb_intrapatient", f"data.root={source}", *QUICK]
        assert main([*args, *compose]) == 0
        for stage in ("split", "train", "evaluate"):
            assert main([*args, stage]) == 0, stage
    return root, inter


@pytest.mark.realdata
def test_beats_are_cached_with_their_record_as_patient(mit):
    root, _ = mit
    integrity = json.loads((root / "reports/integrity.json").read_text())
    assert integrity["n_kept"] == 22 and integrity["beat_totals"]["V"] == 3788
    cache = Cache.open(root / "data/processed")
    assert cache.unit == "beat" and len(cache.labels) == sum(
        integrity["beat_totals"][c] for c in "NSVFQ"
    )
    assert cache.features is not None
    assert cache.features.shape == (len(cache.labels), len(beat_features.FEATURE_SETS["robust"]))
    assert (cache.patients[cache.index.record_id == "201"] == "201+202").all()


@pytest.mark.realdata
def test_no_record_is_on_two_sides_of_the_interpatient_split(mit):
    root, inter = mit
    cache = Cache.open(root / "data/processed")
    records = {s: set(cache.index.record_id[rows]) for s, rows in inter["rows"].items()}
    assert not records["train"] & records["val"] and not records["train"] & records["test"]
    assert not records["val"] & records["test"] and all(records.values())
    split = inter["reports/split"]
    assert split["strategy"] == "records" and split["patient_overlap"] == 0
    assert split["records_absent"]["test"] == [] and split["test"]["records"]
    test = inter["metrics/eval"]["test"]
    assert test["n_groups"] == len(records["test"])  # the bootstrap resamples records
    for cls in "NSVF":
        assert {"sensitivity", "ppv", "specificity", "f1"} <= set(test["per_class"][cls])
    assert np.array(test["confusion"]["actual_by_predicted"]).shape == (5, 5)
    per_patient = test["per_patient"]  # each patient's records; where its misses went
    assert sorted(rec for r in per_patient for rec in r["records"]) == sorted(records["test"])
    confusion = np.array(test["confusion"]["actual_by_predicted"])
    missed = sum(n for r in per_patient for to in r["missed_as"].values() for n in to.values())
    assert missed == confusion.sum() - np.trace(confusion)


@pytest.mark.realdata
def test_the_leaky_split_says_so_and_both_runs_are_in_mlflow(mit):
    root, inter = mit
    split = json.loads((root / "reports/split.json").read_text())
    assert split["leaky"] is True and split["patient_overlap"] == 22
    report = (root / "reports/eval.md").read_text()
    assert report.splitlines()[0].startswith("**LEAKY SPLIT (split.strategy=random)")
    assert "leaky" not in inter["metrics/eval"]
    assert json.loads((root / "metrics/eval.json").read_text())["leaky_split"] is True
    assert (root / "reports/figures").is_dir() and (root / "plots/confusion").is_dir()
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("ecgpipe").experiment_id])
    strategies = sorted(r.data.params["split.strategy"] for r in runs)
    assert strategies == ["random", "records"]
    assert all("test/per_class/S/sensitivity" in r.data.metrics for r in runs)


@pytest.mark.realdata
def test_the_logged_beat_model_scores_beat_rows_as_evaluate_did(mit):
    root, _ = mit
    paths = Paths(root)
    dm, _, expected = evaluate.test_scores(load_params(paths.params), paths)
    rows = dm.rows["test"][:500]
    assert dm.cache.features is not None
    beats = np.concatenate(
        [np.stack([np.asarray(dm.cache.signal(r)).ravel() for r in rows]), dm.cache.features[rows]],
        axis=1,
    )
    run_id = json.loads((root / "models/run.json").read_text())["run_id"]
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    out = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(beats)
    probs = out[[f"p_{c}" for c in dm.cache.classes]].to_numpy()
    np.testing.assert_allclose(probs, expected[:500], atol=1e-5)


@pytest.mark.realdata
def test_predict_scores_each_beat_of_a_raw_record_as_evaluate_did(mit, tmp_path):
    root, _ = mit
    paths = Paths(root)
    dm, _, expected = evaluate.test_scores(load_params(paths.params), paths)
    test = dm.rows["test"]
    record = str(dm.cache.index["record_id"].iloc[test[0]])
    out = tmp_path / "beats.csv"
    source = sample("mitdb-ds1", "RECORDS")
    assert main(["--root", str(root), "predict", str(source / record), "--out", str(out)]) == 0
    got = pd.read_csv(out, keep_default_na=False)
    mine = dm.cache.index["record_id"].to_numpy()[test] == record
    at = {int(s): i for i, s in enumerate(got["sample"])}
    rows = [at[int(s)] for s in dm.cache.index["sample"].to_numpy()[test][mine]]
    probs = got[[f"p_{c}" for c in dm.cache.classes]].to_numpy()[rows]
    np.testing.assert_allclose(probs, expected[mine], atol=1e-5)
    assert len(got) == int((dm.cache.index["record_id"] == record).sum())
