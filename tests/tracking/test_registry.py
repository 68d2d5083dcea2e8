"""The model registry: a version per training, tagged; ``champion`` moves only on validation."""

import json
import logging
import shutil

import pandas as pd
import pytest
from mlflow import MlflowClient

from ecgpipe import tracking
from ecgpipe.cli import main
from ecgpipe.config.parse import load_params

from ..conftest import DATA, TRAIN


@pytest.fixture(scope="module")
def project(data_project, tmp_path_factory):
    """The data project with three trainings (three runs, each with its model) in one store."""
    root = tmp_path_factory.mktemp("registry") / "p"
    shutil.copytree(data_project, root)
    runs = []
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        for seed in range(3):
            compose = ["compose", *DATA, *TRAIN, f"train.seed={seed}"]
            assert main(["--root", str(root), *compose]) == 0
            assert main(["--root", str(root), "train"]) == 0
            runs.append(json.loads((root / "models/run.json").read_text())["run_id"])
        assert main(["--root", str(root), "evaluate"]) == 0  # registers the last run
    return root, runs


def client(root) -> MlflowClient:
    return MlflowClient(f"sqlite:///{root / 'mlflow.db'}")


def test_evaluate_registers_a_tagged_version_that_predict_can_name(project, tmp_path):
    root, runs = project
    c = client(root)
    (version,) = c.search_model_versions("name = 'ecgpipe-synthetic-superdiagnostic'")
    assert version.run_id == runs[-1]
    tags = version.tags
    assert tags["validation_metric"] == "val/macro_auroc"
    best = c.get_run(runs[-1]).data.metrics["best/val/macro_auroc"]
    assert float(tags["validation_value"]) == best > 0  # the champion is judged on the run's best
    assert {"test/macro_auroc", "data_hash", "git_commit", "mlflow_run_id"} <= set(tags)
    champion = c.get_model_version_by_alias("ecgpipe-synthetic-superdiagnostic", "champion")
    assert str(champion.version) == str(version.version)

    record = str(root / "data/prepared/source/records100/00000/00001_lr")
    ref = "models:/ecgpipe-synthetic-superdiagnostic@champion"
    outs = []
    for model in ("models/", ref):
        out = tmp_path / f"{len(outs)}.csv"
        args = ["predict", record, "--model", model, "--out", str(out)]
        assert main(["--root", str(root), *args]) == 0
        outs.append(pd.read_csv(out))
    assert outs[1]["model"][0] == ref
    pd.testing.assert_frame_equal(outs[0].drop(columns="model"), outs[1].drop(columns="model"))


def test_the_champion_moves_only_when_validation_improves(project):
    root, runs = project
    cfg = load_params(root / "params.yaml").mlflow
    name = "champion-test"

    def register(run: str, value: float, metric: str = "val/macro_auroc"):
        return tracking.register(cfg, root, run, name, (metric, value, True), {"k": "v"})

    first = register(runs[0], 0.70)
    assert first.champion and first.version == "1"
    worse = register(runs[1], 0.65)
    assert not worse.champion and worse.version == "2"
    assert "0.6500, champion (version 1) 0.7000" in worse.reason
    better = register(runs[2], 0.80)
    assert better.champion
    assert str(client(root).get_model_version_by_alias(name, "champion").version) == better.version
    again = register(runs[2], 0.80)  # evaluate run again: the same version, not a new one
    assert again.version == better.version
    other = register(runs[0], 0.99, metric="val/loss")
    assert not other.champion and "not comparable" in other.reason


def test_a_training_run_is_registered_with_its_best_figures_as_tags(project, caplog):
    root, runs = project
    caplog.set_level(logging.INFO, logger="ecgpipe")
    reg = tracking.register_run(load_params(root / "params.yaml"), root, runs[0], "from-run", "# c")
    assert reg.champion and reg.reason == "the first version"
    c = client(root)
    version, run = c.get_model_version("from-run", reg.version), c.get_run(runs[0])
    assert version.run_id == runs[0] and version.description == "# c"
    assert version.tags["mlflow_run_id"] == runs[0] and "data_hash" in version.tags
    assert float(version.tags["validation_value"]) == run.data.metrics["best/val/macro_auroc"]
    best = {k for k in run.data.metrics if k.startswith("best/")}
    assert best and best <= set(version.tags)
    assert "evaluate: registered from-run version 1; it is the champion" in caplog.text
