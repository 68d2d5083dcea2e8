"""The beat models, classical (model=beat_linear, beat_gbm, and beat_ensemble, a member per
feature set) and the network (model=beat_cnn), through the same DAG on synthetic records in
MIT-BIH's layout: trained and judged by the stages, logged and registered in one MLflow
experiment, served by the same pyfunc and by ``ecgpipe predict`` on raw WFDB records (annotated
beats, or beats it detects)."""

import dataclasses
import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from ecgpipe import tracking
from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import Paths
from ecgpipe.data.wfdb_io import read_annotations
from ecgpipe.processing import beat_features, beats
from ecgpipe.processing.cache import Cache
from ecgpipe.serving import adapt
from ecgpipe.serving.model import InputError, RecordModel
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
    beat_gbm's train and evaluate, the latter also adapted to each test record."""
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
            if model == "beat_gbm":
                compose += ["evaluate.adapt=true"]
            run(root, *compose, "train.max_epochs=1")
            for stage in stages:
                run(root, stage)
            paths = Paths(root)
            cfg = load_params(paths.params)
            dm, _, p = evaluate.test_scores(cfg, paths)
            run_id = json.loads((root / "models/run.json").read_text())["run_id"]
            results[model] = {
                "eval": json.loads((root / "metrics/eval.json").read_text()),
                "report": (root / "reports/eval.md").read_text(),
                "run_id": run_id,
                "probs": p,
            }
            if cfg.evaluate.adapt:
                served, _ = tracking.load_record_model(f"runs:/{run_id}/model", cfg.mlflow, root)
                results[model]["adapted"] = adapt.cached(served, dm.cache, dm.rows["test"])
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


def test_adapted_figures_are_reported_apart_from_the_inductive_ones(beat_project):
    root, _, results = beat_project
    gbm, linear = results["beat_gbm"], results["beat_linear"]
    assert "adapted" not in linear["eval"] and "Transductive" not in linear["report"]
    adapted = gbm["eval"]["adapted"]
    assert adapted["n_records"] == gbm["eval"]["test"]["n_records"]
    assert adapted["macro_f1"] > 0.8 and adapted["accuracy_ci"][0] <= adapted["accuracy"]
    title = "test split, adapted to each test record\n\nTransductive, reported apart"
    assert gbm["report"].count(title) == 1  # a section of its own, after the inductive one
    assert "each test record was read whole" in gbm["report"].split(title)[1]
    run = MlflowClient(f"sqlite:///{root / 'mlflow.db'}").get_run(gbm["run_id"])
    assert run.data.metrics["adapted/accuracy"] == pytest.approx(adapted["accuracy"])
    assert run.data.metrics["test/accuracy"] == pytest.approx(gbm["eval"]["test"]["accuracy"])
    test = json.loads((root / "metrics/test.json").read_text())
    assert not any("adapt" in k for k in test)  # the DVC headline stays the inductive one


def test_predict_adapt_scores_each_beat_as_evaluate_adapt_did(beat_project, tmp_path):
    root, data, results = beat_project
    out = tmp_path / "beats.csv"
    uri = f"runs:/{results['beat_gbm']['run_id']}/model"
    run(root, "predict", str(data / "r06"), "--model", uri, "--adapt", "--out", str(out))
    got = pd.read_csv(out, keep_default_na=False)
    cache = Cache.open(root / "data/processed")
    test = np.load(root / "data/split/test.npy")
    mine = cache.index["record_id"].to_numpy()[test] == "r06"
    expected = results["beat_gbm"]["adapted"][mine]
    np.testing.assert_allclose(got[[f"p_{c}" for c in cache.classes]], expected, atol=1e-5)


def served(root: Path, run_id: str) -> RecordModel:
    uri = f"runs:/{run_id}/model"
    return tracking.load_record_model(uri, load_params(root / "params.yaml").mlflow, root)[0]


def test_adapted_calls_are_the_models_against_the_references_of_its_own_normal_calls(
    beat_project, monkeypatch
):
    """A fixed point: scoring the beats again, against the references of the beats the adapted
    model calls N with confidence, changes no call."""
    monkeypatch.setattr(adapt, "CONFIDENT", 0.5)  # the synthetic model is rarely surer of N
    root, _, results = beat_project
    model = served(root, results["beat_gbm"]["run_id"])
    cache = Cache.open(root / "data/processed")
    at = np.flatnonzero(cache.index["record_id"].to_numpy() == "r07")
    rows = np.concatenate([cache.signals.reshape(len(cache.labels), -1)[at], cache.features[at]], 1)
    samples = cache.index["sample"].to_numpy()[at]
    probs = adapt.probabilities(model, rows, samples, 360.0)
    called = np.array([c == ["N"] for c in model.decide(probs)])
    normal = called & (probs[:, model.contract.classes.index("N")] >= adapt.CONFIDENT)
    assert 0 < normal.sum() < len(normal)
    p = load_params(root / "params.yaml").preprocess
    k = cache.features.shape[1]
    again = rows.copy()
    again[:, -k:] = beat_features.compute(
        p.beats.features, samples, 360.0, rows[:, :-k].reshape(len(at), 1, -1),
        round(p.beats.before_s * p.fs), p.fs, p.beats.rr_context, normal=normal,
    )  # fmt: skip
    assert model.decide(model.score(list(again))) == model.decide(probs)


def test_a_model_whose_features_have_no_reference_cannot_be_adapted(beat_project):
    root, _, results = beat_project
    model = served(root, results["beat_gbm"]["run_id"])
    preprocess = model.contract.preprocess
    shapes = dataclasses.replace(
        model.contract,
        preprocess={**preprocess, "beats": {**preprocess["beats"], "features": "hos"}},
    )
    with pytest.raises(InputError, match=r"beat features \(hos\) have no reference to adapt"):
        adapt.check(RecordModel(model.windows, shapes))
