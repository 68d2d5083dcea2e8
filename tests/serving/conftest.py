"""Trained projects the serving tests share: the data stages once, then a model per test module."""

import json
import shutil
from pathlib import Path

import pytest

from ecgpipe.cli import main

from ..conftest import PROJECT

DATA = ("data.n_records=120",)  # with the generator's defects, which validate excludes
TRAIN = ("train.max_epochs=1", "train.limit_train_batches=2", "train.batch_size=16")


@pytest.fixture(scope="session")
def data_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    shutil.copytree(PROJECT / "conf", root / "conf")
    assert main(["--root", str(root), "compose", *DATA]) == 0
    for stage in ("prepare", "validate", "preprocess", "split"):
        assert main(["--root", str(root), stage]) == 0, stage
    return root


def trained(data_project: Path, where: Path, model: str) -> tuple[Path, str]:
    """A copy of the data project with ``model`` trained; its root and the model's URI."""
    shutil.copytree(data_project, where)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        assert main(["--root", str(where), "compose", *DATA, f"model={model}", *TRAIN]) == 0
        assert main(["--root", str(where), "train"]) == 0
    run_id = json.loads((where / "models/run.json").read_text())["run_id"]
    return where, f"runs:/{run_id}/model"


@pytest.fixture(scope="session")
def cnn(data_project, tmp_path_factory) -> tuple[Path, str]:
    return trained(data_project, tmp_path_factory.mktemp("cnn") / "p", "cnn1d")
