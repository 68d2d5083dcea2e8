"""Stage ``external@NAME``: in one ``dvc repro``, the trained model scored on two further sets
(another site of the synthetic generator; a set that maps onto two of the model's classes),
through ``ecgpipe predict``'s path, reported beside the test split and logged to MLflow."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow import MlflowClient

from ecgpipe.cli import main

from ..conftest import make_dvc_project, sh

SETS = (
    "+data@evaluate.external.site2.data=synthetic",
    "evaluate.external.site2.data.seed=7",
    "evaluate.external.site2.data.n_records=80",
    "+evaluate.external.site2.label_map=null",
    "+data@evaluate.external.narrow.data=synthetic",
    "evaluate.external.narrow.data.seed=8",
    "evaluate.external.narrow.data.n_records=60",
    "+evaluate.external.narrow.label_map={NORM: [NORM], MI: [MI]}",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return make_dvc_project(tmp_path_factory.mktemp("external"), *SETS)


def result(project: Path, name: str) -> dict:
    return json.loads((project / f"metrics/external/{name}.json").read_text())["external"]


def test_one_dvc_repro_scores_every_external_set_beside_the_test_split(project: Path):
    lock = yaml.safe_load((project / "dvc.lock").read_text())["stages"]
    assert {"external@site2", "external@narrow"} <= set(lock)
    assert sh("dvc", "status", cwd=project).stdout.strip() == "Data and pipelines are up to date."
    site2 = result(project, "site2")
    # the generator's defective records are left out by predict's checks, with their reasons
    assert 0 < site2["n_records"] < 80 and site2["n_left_out"]["unscorable"] > 0
    assert site2["absent_classes"] == [] and site2["macro_auroc"] is not None
    assert site2["n_groups"] < site2["n_records"]  # intervals over patients
    report = (project / "reports/external/site2/report.md").read_text()
    assert "Test split (in-distribution)" in report and "## Per patient" in report
    assert "could not be scored" in report


def test_classes_a_set_lacks_are_reported_absent_and_unmapped_records_left_out(project: Path):
    narrow = result(project, "narrow")
    assert narrow["absent_classes"] == ["CD", "HYP", "STTC"]
    assert set(narrow["per_class"]) == {"MI", "NORM"}
    assert narrow["n_left_out"]["unlabelled"] > 0
    report = (project / "reports/external/narrow/report.md").read_text()
    assert "Absent from this set" in report and "| CD | 0 | absent |" in report
    assert "map onto no model class" in report


def test_the_scores_are_those_of_ecgpipe_predict(project: Path, tmp_path: Path):
    scores = pd.read_csv(project / "reports/external/site2/predictions.csv")
    scored = scores[scores.error.isna()].head(5)
    out = tmp_path / "p.csv"
    records = [str(project / r) for r in scored.record]
    assert main(["--root", str(project), "predict", *records, "--out", str(out)]) == 0
    again = pd.read_csv(out)
    cols = [c for c in scores if c.startswith("p_")]
    np.testing.assert_allclose(again[cols].to_numpy(), scored[cols].to_numpy(), atol=1e-6)


def test_each_set_is_a_dataset_input_and_its_metrics_join_the_training_run(project: Path):
    run_id = json.loads((project / "metrics/eval.json").read_text())["mlflow_run_id"]
    run = MlflowClient(f"sqlite:///{project / 'mlflow.db'}").get_run(run_id)
    inputs = {d.dataset.name: {t.key: t.value for t in d.tags} for d in run.inputs.dataset_inputs}
    for name in ("site2", "narrow"):
        assert inputs[f"{name}-external"]["mlflow.data.context"] == "external"
        assert run.data.metrics[f"external/{name}/macro_auroc"] == pytest.approx(
            result(project, name)["macro_auroc"]
        )


def test_an_unknown_set_or_class_gets_one_line(project: Path, tmp_path: Path, caplog):
    assert main(["--root", str(project), "external", "nowhere"]) == 1
    assert "evaluate.external has no set 'nowhere' (it has: site2, narrow)" in caplog.text
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["evaluate"]["external"]["site2"]["label_map"] = {"AFIB": ["AF"]}
    bad = tmp_path / "params.yaml"
    bad.write_text(yaml.safe_dump(params))
    assert main(["--root", str(project), "--params", str(bad), "external", "site2"]) == 1
    assert "label_map names ['AFIB'], which the model does not have" in caplog.text
