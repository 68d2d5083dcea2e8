"""DDP for real on CPU: ``trainer=ddp`` (two devices) starts a second process (gloo),
and the training still makes one MLflow run, one ``models/``, and validation metrics equal to
those of the same model's scores computed in one process."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mlflow import MlflowClient

from ecgpipe import models
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import Paths
from ecgpipe.evaluation import metrics
from ecgpipe.processing.normalization import Normalizer
from ecgpipe.training.classifier import ECGClassifier, predict
from ecgpipe.training.datamodule import ECGDataModule

from ..conftest import PROJECT
from .test_train_evaluate import TINY

DDP = ("trainer=ddp", "trainer.accelerator=cpu")
ODD = "data.n_records=241"  # 25 validation records: DDP's sampler repeats one to even the ranks


def ecgpipe(root: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run(
        [sys.executable, "-m", "ecgpipe", "--root", str(root), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


@pytest.fixture(scope="module")
def ddp_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ddp")
    shutil.copytree(PROJECT / "conf", root / "conf")
    for argv in (("compose", *TINY, *DDP, ODD), ("prepare",), ("validate",), ("preprocess",),
                 ("split",), ("train",)):  # fmt: skip
        done = ecgpipe(root, *argv)
        assert done.returncode == 0, f"{argv}: {done.stderr[-3000:]}"
    return root


def test_two_processes_make_one_run_and_one_models_folder(ddp_project):
    c = MlflowClient(f"sqlite:///{ddp_project / 'mlflow.db'}")
    experiments = [e.experiment_id for e in c.search_experiments()]
    (run,) = c.search_runs(experiments)
    params = run.data.params
    assert params["trainer.devices"] == "2" and params["trainer.strategy"] == "ddp"
    assert json.loads((ddp_project / "models/run.json").read_text())["run_id"] == run.info.run_id
    assert sorted(p.name for p in ddp_project.iterdir() if p.name.startswith("models")) == [
        "models"
    ]
    assert not list(ddp_project.glob("**/ecgpipe-rank-*"))


@pytest.fixture(scope="module")
def one_process(ddp_project) -> tuple[np.ndarray, np.ndarray]:
    """The best checkpoint's validation targets and scores, computed in this one process."""
    cfg = load_params(ddp_project / "params.yaml")
    paths = Paths(ddp_project)
    dm = ECGDataModule(
        paths.processed,
        paths.split,
        models.INPUTS[cfg.model.name],
        cfg.train,
        Normalizer.load(ddp_project / "models/normalization.json"),
    )
    module = ECGClassifier.load_from_checkpoint(
        ddp_project / "models/best.ckpt", map_location="cpu", weights_only=False
    )
    y, p = predict(module, dm.val_dataloader())
    assert len(dm.rows["val"]) % 2 == 1 and len(y) == len(dm.rows["val"])
    return metrics.indicator(y, p.shape[1]), p


def logged(ddp_project: Path) -> dict[str, float]:
    """The run's metrics: ``best/...``, and each validation metric at the best epoch's step."""
    c = MlflowClient(f"sqlite:///{ddp_project / 'mlflow.db'}")
    run_id = json.loads((ddp_project / "models/run.json").read_text())["run_id"]
    out = c.get_run(run_id).data.metrics
    best = out["best/val/macro_auroc"]
    # the checkpoint's epoch: the first to reach the best value
    step = min(m.step for m in c.get_metric_history(run_id, "val/macro_auroc") if m.value == best)
    for key in ("f1", "precision", "recall"):
        history = c.get_metric_history(run_id, f"val/{key}_tuned")
        out[f"val/{key}_tuned"] = next(m.value for m in history if m.step == step)
    return out


def test_validation_auroc_over_two_ranks_equals_one_process(ddp_project, one_process):
    y, p = one_process
    auroc = float(np.nanmean(metrics.auroc(y, p)))
    assert logged(ddp_project)["best/val/macro_auroc"] == pytest.approx(auroc, abs=1e-6)


def test_tuned_thresholds_and_tuned_f1_over_two_ranks_equal_one_process(ddp_project, one_process):
    """The thresholds tuned on validation (``thresholds.json``, what the served model labels
    at) and the F1, precision and recall at them, as one process computes them."""
    y, p = one_process
    tuned = metrics.tune_thresholds(y, p)
    saved = json.loads((ddp_project / "models/thresholds.json").read_text())
    np.testing.assert_allclose(list(saved.values()), tuned, atol=1e-6)
    at_tuned = metrics.at_thresholds(y, p, tuned)
    metric = logged(ddp_project)
    for key in ("f1", "precision", "recall"):
        assert metric[f"val/{key}_tuned"] == pytest.approx(np.nanmean(at_tuned[key]), abs=1e-6)
