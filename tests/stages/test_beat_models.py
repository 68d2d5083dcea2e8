"""The beat models, classical (model=beat_linear, beat_gbm, and beat_ensemble, a member per
feature set) and the network (model=beat_cnn), through the same DAG on synthetic records in
MIT-BIH's layout: trained and judged by the stages, logged and registered in one MLflow
experiment, served by the same pyfunc and by ``ecgpipe predict`` on raw WFDB records (annotated
beats, or beats it detects)."""

import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import Paths
from ecgpipe.data.wfdb_io import read_annotations
from ecgpipe.processing import beat_features, beats
from ecgpipe.processing.cache import Cache
from ecgpipe.stages import evaluate

from ..beat_records import write_beat_records
from ..conftest import PROJECT

OVERRIDES = (
    "experiment=mitdb_interpatient",
    "data.classes=[N,S,V]",
    "split.records.train=[r00,r01,r02,r03,r04,r05]",
    "split.records.test=[r06,r07]",
    "evaluate.n_bootstrap=20",
)


def run(root: Path, *args: str) -> None:
    assert main(["--root", str(root), *args]) == 0, args


@pytest.fixture(scope="module")
def beat_project(tmp_path_factory) -> tuple[Path, Path, dict]:
    """One project: beat_ensemble through the whole DAG (three feature sets), then beat_linear's
    data stages (the preset's features), train and evaluate, then beat_cnn's (one epoch) and
    beat_gbm's train and evaluate."""
    tmp = tmp_path_factory.mktemp("beats")
    data = write_beat_records(tmp / "records", 8)
    root = tmp / "project"
    shutil.copytree(PROJECT / "conf", root / "conf")
    results = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        for model, stages in (
            ("beat_ensemble", ("prepare", "validate", "preprocess", "split", "train", "evaluate")),
            ("beat_linear", ("preprocess", "split", "train", "evaluate")),
            ("beat_cnn", ("train", "evaluate")),
            ("beat_gbm", ("train", "evaluate")),
        ):
            compose = ["compose", *OVERRIDES, f"data.root={data}", f"model={model}"]
            if model == "beat_cnn":  # stretches of records are for the classical models
                compose += ["train.segments.random=0", "train.segments.dense=[]"]
            if model == "beat_ensemble":  # a member per set
                compose += ["preprocess.beats.features=robust+hos+wavelet"]
            run(root, *compose, "train.max_epochs=1")
            for stage in stages:
                run(root, stage)
            paths = Paths(root)
            _, _, p = evaluate.test_scores(load_params(paths.params), paths)
            results[model] = {
                "eval": json.loads((root / "metrics/eval.json").read_text()),
                "run_id": json.loads((root / "models/run.json").read_text())["run_id"],
                "probs": p,
            }
    return root, data, results


def test_both_classical_models_are_trained_judged_and_registered(beat_project):
    root, _, results = beat_project
    cache = Cache.open(root / "data/processed")
    assert cache.meta["features"] == list(beat_features.FEATURE_SETS["robust"])
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    for model, result in results.items():
        test = result["eval"]["test"]
        if model != "beat_cnn":  # one epoch of the network is not a fair judge
            assert test["macro_f1"] > 0.8, model  # the synthetic classes are far apart
        assert {r["patient"] for r in test["per_patient"]} == {"r06", "r07"}
        run = client.get_run(result["run_id"])
        assert run.data.params["model.name"] == model
        assert "test/macro_f1" in run.data.metrics and "best/val/macro_f1" in run.data.metrics
        assert int(run.data.tags["n_parameters"]) > 0
    curve = client.get_metric_history(results["beat_gbm"]["run_id"], "val/macro_f1")
    assert len(curve) > 1 and [m.step for m in curve] == sorted(m.step for m in curve)
    versions = client.search_model_versions("name='ecgpipe-mitdb-aami_beats'")
    assert sorted(v.run_id for v in versions) == sorted(r["run_id"] for r in results.values())


def test_the_logged_model_scores_beat_rows_as_evaluate_did(beat_project):
    root, _, results = beat_project
    cache = Cache.open(root / "data/processed")
    rows = np.load(root / "data/split/test.npy")
    x = np.concatenate(
        [np.stack([np.asarray(cache.signal(r)).ravel() for r in rows]), cache.features[rows]], 1
    )
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlflow.db'}")
    out = mlflow.pyfunc.load_model(f"runs:/{results['beat_gbm']['run_id']}/model").predict(x)
    probs = out[[f"p_{c}" for c in cache.classes]].to_numpy()
    np.testing.assert_allclose(probs, results["beat_gbm"]["probs"], atol=1e-6)


@pytest.mark.parametrize("model", ["beat_gbm", "beat_linear", "beat_cnn", "beat_ensemble"])
def test_predict_scores_every_beat_of_a_raw_record_as_evaluate_did(beat_project, tmp_path, model):
    root, data, results = beat_project
    out = tmp_path / "beats.csv"
    uri = f"runs:/{results[model]['run_id']}/model"
    run(root, "predict", str(data / "r06"), "--model", uri, "--out", str(out))
    got = pd.read_csv(out, keep_default_na=False)
    samples, symbols = read_annotations(data / "r06", "atr")
    is_beat = beats.aami(symbols) != ""
    assert got["sample"].tolist() == samples[is_beat].tolist()  # the rhythm note is skipped
    assert got["symbol"].tolist() == symbols[is_beat].tolist() and not got["error"].any()
    cache = Cache.open(root / "data/processed")
    test = np.load(root / "data/split/test.npy")
    mine = cache.index["record_id"].to_numpy()[test] == "r06"
    expected = results[model]["probs"][mine]
    np.testing.assert_allclose(got[[f"p_{c}" for c in cache.classes]], expected, atol=1e-5)


def test_predict_detects_the_beats_of_a_record_without_annotations(beat_project, tmp_path):
    root, data, _ = beat_project
    bare = tmp_path / "bare"
    bare.mkdir()
    for ext in ("hea", "dat"):
        shutil.copy(data / f"r07.{ext}", bare / f"r07.{ext}")
    out = tmp_path / "beats.csv"
    run(root, "predict", str(bare), "--out", str(out))
    got = pd.read_csv(out, keep_default_na=False)
    samples, symbols = read_annotations(data / "r07", "atr")
    truth = samples[beats.aami(symbols) != ""]
    assert (got["symbol"] == "").all() and abs(len(got) - len(truth)) <= 1
    nearest = np.abs(got["sample"].to_numpy()[:, None] - truth[None]).min(axis=1)
    assert np.median(nearest) <= 0.02 * 360
    classes = dict(zip(truth, beats.aami(symbols[beats.aami(symbols) != ""]), strict=True))
    matched = [
        (classes[truth[np.abs(truth - s).argmin()]], label)
        for s, label in zip(got["sample"], got["labels"], strict=True)
    ]
    assert np.mean([t == p for t, p in matched]) > 0.9


def test_a_record_without_the_models_lead_gets_one_line(beat_project, tmp_path, caplog):
    root, data, _ = beat_project
    import wfdb

    record = wfdb.rdrecord(str(data / "r06"))
    wfdb.wrsamp(
        "other", fs=360, units=["mV"], sig_name=["V5"], p_signal=record.p_signal[:, :1],
        fmt=["16"], write_dir=str(tmp_path),
    )  # fmt: skip
    out = tmp_path / "beats.csv"
    assert main(["--root", str(root), "predict", str(tmp_path / "other"), "--out", str(out)]) == 1
    got = pd.read_csv(out, keep_default_na=False)
    assert len(got) == 1 and "MLII" in got["error"][0]
