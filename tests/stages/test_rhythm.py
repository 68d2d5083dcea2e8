"""``train.rhythm``: trees on whole-record rhythm features pooled with the network, on a folder of
single-lead records that are either a regular sinus rhythm (N) or irregularly irregular without
P waves (A), in the layout of the user's own folder; trained, evaluated and served alike."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
from mlflow import MlflowClient

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import ModelDir, Paths
from ecgpipe.stages import evaluate

from ..conftest import PROJECT

FS = 300


def _wave(t: np.ndarray, at: np.ndarray, amp: float, width: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((t[:, None] - at[None, :]) / width) ** 2).sum(axis=1)


def write_rhythm_folder(folder: Path, n: int, seed: int = 0) -> Path:
    """``n`` records of 20-30 s at 300 Hz, half N and half A, and their ``labels.csv``."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    rows = []
    for i in range(n):
        label = "NA"[i % 2]
        seconds, gain = rng.uniform(20, 30), rng.uniform(0.6, 1.5)
        t = np.arange(int(seconds * FS)) / FS
        mean = rng.uniform(0.6, 1.0)
        rr = rng.normal(mean, 0.02, 60) if label == "N" else rng.uniform(0.4, 1.1, 80) * mean
        beats = 0.4 + np.cumsum(rr)
        beats = beats[beats < seconds - 0.5]
        x = _wave(t, beats, gain, 0.012) + _wave(t, beats + 0.25, 0.3 * gain, 0.05)
        if label == "N":
            x += _wave(t, beats - 0.16, 0.15 * gain, 0.02)
        else:  # fibrillatory waves instead of P waves
            x += 0.04 * gain * np.sin(2 * np.pi * rng.uniform(5, 8) * t)
        x += rng.normal(0, 0.01, len(t))
        name = f"rec{i:03d}"
        wfdb.wrsamp(name, FS, ["mV"], ["I"], p_signal=x[:, None], fmt=["16"], write_dir=str(folder))
        rows.append({"record": name, "labels": label})
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    return folder


OVERRIDES = (
    "data=wfdb_folder",
    "data.classes=[N,A]",
    "split.strategy=stratified",
    "preprocess.spectrogram.enabled=false",
    "train.crop_s=10",
    "train.eval_window_s=10",
    "train.eval_stride_s=5",
    "train.aggregate=mean",
    "train.normalize=per_window",
    "train.rhythm.weight=0.5",
    "train.max_epochs=1",
    "trainer.limit_train_batches=2",
    "train.batch_size=16",
    "evaluate.n_bootstrap=20",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("rhythm")
    folder = write_rhythm_folder(tmp / "records", 100)
    root = tmp / "project"
    shutil.copytree(PROJECT / "conf", root / "conf")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert main(["--root", str(root), "compose", f"data.root={folder}", *OVERRIDES]) == 0
        for stage in ("prepare", "validate", "preprocess", "split", "train", "evaluate"):
            assert main(["--root", str(root), stage]) == 0, stage
    return root


def test_the_trees_are_fitted_beside_the_network_and_judged_on_validation(project: Path):
    assert ModelDir(project / "models").rhythm.is_file()
    run_id = json.loads((project / "models/run.json").read_text())["run_id"]
    values = MlflowClient(f"sqlite:///{project / 'mlflow.db'}").get_run(run_id).data.metrics
    # a network after two batches knows nothing yet; the rhythm features tell N from A
    assert values["rhythm/val/macro_f1"] > 0.9
    assert values["blend/val/macro_f1"] > 0.9


def test_evaluate_scores_the_pooled_model(project: Path):
    test = json.loads((project / "metrics/eval.json").read_text())["test"]
    assert test["macro_f1"] > 0.9


def test_the_served_model_pools_them_as_evaluate_does(project: Path, tmp_path: Path):
    paths = Paths(project)
    dm, _, p = evaluate.test_scores(load_params(paths.params), paths)
    rows = dm.rows["test"]
    folder = Path(load_params(paths.params).data.root)
    records = [str(folder / r) for r in dm.cache.index["record_id"].to_numpy()[rows]]
    out = tmp_path / "scores.csv"
    assert main(["--root", str(project), "predict", *records, "--out", str(out)]) == 0
    served = pd.read_csv(out)[["p_N", "p_A"]].to_numpy()
    np.testing.assert_allclose(served, p, atol=1e-4)
