"""DDP for real on CPU: ``train.devices=2 train.strategy=ddp`` starts a second process (gloo),
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

DDP = ("train.accelerator=cpu", "train.devices=2", "train.strategy=ddp")
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
    assert run.data.params["train.devices"] == "2" and run.data.params["train.strategy"] == "ddp"
    assert json.loads((ddp_project / "models/run.json").read_text())["run_id"] == run.info.run_id
    assert sorted(p.name for p in ddp_project.iterdir() if p.name.startswith("models")) == [
        "models"
    ]
    assert not list(ddp_project.glob("**/ecgpipe-rank-*"))


def test_validation_auroc_over_two_ranks_equals_one_process(ddp_project):
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
    auroc = float(np.nanmean(metrics.auroc(metrics.indicator(y, p.shape[1]), p)))
    c = MlflowClient(f"sqlite:///{ddp_project / 'mlflow.db'}")
    run_id = json.loads((ddp_project / "models/run.json").read_text())["run_id"]
    logged = c.get_run(run_id).data.metrics["best/val/macro_auroc"]
    assert logged == pytest.approx(auroc, abs=1e-6)
