"""train + evaluate end to end through the CLI on a tiny synthetic dataset, with the MLflow
store queried afterwards, and two runs with one seed compared."""

import csv
import json
import shutil
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml
from mlflow.tracking import MlflowClient

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import Paths
from ecgpipe.processing.cache import Cache
from ecgpipe.stages import evaluate

from ..conftest import PROJECT, sh

TINY = (
    "data.n_records=480",  # 47 test records: enough for the learning gate below to be stable
    "data.defect_rate=0",
    "data.difficulty=0",  # blatant findings: a training that learns anything scores well
    "model.options.widths=[8,16]",
    "train.max_epochs=8",
    "train.batch_size=16",
    "evaluate.n_bootstrap=50",
)


def pipeline(root: Path) -> Path:
    shutil.copytree(PROJECT / "conf", root / "conf")
    assert main(["--root", str(root), "compose", *TINY]) == 0
    for stage in ("prepare", "validate", "preprocess", "split", "train", "evaluate"):
        assert main(["--root", str(root), stage]) == 0, stage
    return root


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> tuple[Path, Path]:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        return pipeline(tmp_path_factory.mktemp("a")), pipeline(tmp_path_factory.mktemp("b"))


def client(root: Path) -> tuple[MlflowClient, str]:
    uri = f"sqlite:///{root / 'mlflow.db'}"
    c = MlflowClient(uri)
    run_id = json.loads((root / "models/run.json").read_text())["run_id"]
    return c, run_id


def test_eval_json_has_the_headline_metrics(runs):
    result = json.loads((runs[0] / "metrics/eval.json").read_text())
    test = result["test"]
    for key in ("macro_auroc", "macro_auroc_ci", "micro_auroc", "macro_auprc", "per_class"):
        assert key in test
    assert set(test["per_class"]) == {"CD", "HYP", "MI", "NORM", "STTC"}
    assert result["baseline"]["macro_auroc"] == pytest.approx(0.5)
    lo, hi = test["macro_auroc_ci"]
    assert lo <= test["macro_auroc"] <= hi
    assert (runs[0] / "reports/eval.md").is_file()
    assert (runs[0] / "reports/figures/roc.png").is_file()
    assert (runs[0] / "plots/roc/NORM.csv").is_file()


def test_every_test_patient_is_reported_worst_first(runs):
    """eval.json, eval.md, per_patient.csv and the MLflow run list each test patient."""
    root = runs[0]
    test = json.loads((root / "metrics/eval.json").read_text())["test"]
    rows = test["per_patient"]
    assert len(rows) == test["n_groups"] and sum(r["n"] for r in rows) == test["n_records"]
    rates = [r["error_rate"] for r in rows]
    assert rates == sorted(rates, reverse=True)
    cache = Cache.open(root / "data/processed")
    test_rows = np.load(root / "data/split/test.npy")
    for r in rows[:5]:
        mine = cache.patients[test_rows] == r["patient"]
        assert r["n"] == mine.sum()
        assert sorted(r["records"]) == sorted(
            set(cache.index.record_id.to_numpy()[test_rows][mine])
        )
    report = (root / "reports/eval.md").read_text()
    assert "## Per patient" in report and f"| {rows[0]['patient']} |" in report
    assert len((root / "reports/per_patient.csv").read_text().splitlines()) == len(rows) + 1
    c, run_id = client(root)
    assert "evaluation/per_patient.csv" in {a.path for a in c.list_artifacts(run_id, "evaluation")}


def test_a_tiny_training_on_easy_data_learns(runs):
    """The quality gate of the fast suite: chance level, or labels misaligned to signals, puts
    macro AUROC near 0.5. Measured on this configuration with data and training seeds 0-3:
    0.976 [0.928, 1.0], 0.878 [0.803, 0.960], 0.958 [0.904, 0.997], 0.944 [0.845, 0.986]
    (240 records gave 0.83-0.95, lower bounds 0.73-0.89); the gate is the lowest less a margin,
    so a change that costs the tiny model a few points of AUROC fails it."""
    test = json.loads((runs[0] / "metrics/eval.json").read_text())["test"]
    assert test["macro_auroc"] > 0.85, test["macro_auroc"]
    assert test["macro_auroc_ci"][0] > 0.78, test["macro_auroc_ci"]


def test_mlflow_run_holds_params_curves_artifacts_and_model(runs):
    c, run_id = client(runs[0])
    run = c.get_run(run_id)
    assert run.info.status == "FINISHED"
    params = run.data.params
    assert params["model.name"] == "cnn1d" and params["data.name"] == "synthetic"
    assert params["train.max_epochs"] == "8"
    assert {"git_commit", "dataset", "data_hash"} <= set(run.data.tags)
    history = c.get_metric_history(run_id, "val/macro_auroc")
    assert len(history) >= 2
    assert "test/macro_auroc" in run.data.metrics
    assert run.data.metrics["test/macro_auroc_lo"] <= run.data.metrics["test/macro_auroc"]
    assert run.data.metrics["test/macro_auroc"] <= run.data.metrics["test/macro_auroc_hi"]
    assert "val/precision_at05" in run.data.metrics and "val/precision_tuned" in run.data.metrics

    def listed(path=""):
        out = []
        for f in c.list_artifacts(run_id, path):
            out += listed(f.path) if f.is_dir else [f.path]
        return out

    files = set(listed())
    for expected in (
        "config/params.yaml",
        "reports/integrity.json",
        "reports/split.json",
        "model_extras/thresholds.json",
        "model_extras/normalization.json",
        "evaluation/eval.json",
        "evaluation/eval.md",
        "evaluation/figures/roc.png",
    ):
        assert expected in files, expected
    assert len(run.outputs.model_outputs) == 1  # MLflow 3 keeps the model as a LoggedModel

    mlflow.set_tracking_uri(f"sqlite:///{runs[0] / 'mlflow.db'}")
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    cache = Cache.open(runs[0] / "data/processed")
    out = model.predict(np.stack([cache.signal(i) for i in range(4)]))  # whole records
    assert list(out.columns) == [f"p_{c}" for c in cache.classes] + ["labels", "set"]
    assert len(out) == 4 and all("=" in s for s in out["set"])  # a verdict per class: CD=absent


def test_one_seed_gives_identical_metrics(runs):
    (ca, ra), (cb, rb) = client(runs[0]), client(runs[1])
    curve = [m.value for m in ca.get_metric_history(ra, "val/macro_auroc")]
    assert curve == [m.value for m in cb.get_metric_history(rb, "val/macro_auroc")]
    a = json.loads((runs[0] / "metrics/eval.json").read_text())
    b = json.loads((runs[1] / "metrics/eval.json").read_text())
    assert a.pop("mlflow_run_id") != b.pop("mlflow_run_id")  # two trainings, two runs
    assert a == b


def test_evaluate_without_a_model_says_what_to_run(tmp_path, caplog):
    shutil.copytree(PROJECT / "conf", tmp_path / "conf")
    assert main(["--root", str(tmp_path), "compose"]) == 0
    assert main(["--root", str(tmp_path), "evaluate"]) == 1
    assert "no trained model; run `dvc repro train` first" in caplog.text


def test_evaluate_explains_a_training_run_missing_from_the_store(runs, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    copy = tmp_path / "moved"
    shutil.copytree(runs[0], copy, ignore=shutil.ignore_patterns("mlflow.db"))
    with pytest.raises(PipelineError, match=r"is not in sqlite:///.*dvc repro -f train"):
        evaluate.run(load_params(copy / "params.yaml"), Paths(copy))
    assert (
        json.loads((runs[0] / "metrics/eval.json").read_text())["mlflow_run_id"]
        == (json.loads((runs[0] / "models/run.json").read_text())["run_id"])
    )


@pytest.mark.parametrize(
    ("file", "damage", "stage"),
    [
        ("data/processed/meta.json", b'{"shapes": ', "preprocess"),
        ("models/best.ckpt", None, "train"),  # truncated to half
        ("models/thresholds.json", "delete", "train"),
        ("models/normalization.json", b"\x00\xff", "train"),
        ("models/run.json", b"[]", "train"),
        ("data/split/test.npy", b"NUMPY", "split"),
    ],
)
def test_a_broken_output_between_stages_is_one_line_and_the_command(
    runs, tmp_path, monkeypatch, caplog, file, damage, stage
):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    copy = tmp_path / "p"
    shutil.copytree(runs[0], copy)
    target = copy / file
    if damage == "delete":
        target.unlink()
    elif damage is None:
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    else:
        target.write_bytes(damage)
    assert main(["--root", str(copy), "evaluate"]) == 1
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert str(target) in line and f"run `dvc repro {stage}` to rebuild it" in line
    assert "\n" not in line and "Traceback" not in caplog.text


def test_the_run_declares_its_kind_source_and_the_splits_it_used(runs):
    c, run_id = client(runs[0])
    run = c.get_run(run_id)
    assert c.get_experiment(run.info.experiment_id).tags["mlflow.experimentKind"] == (
        "custom_model_development"
    )
    assert run.data.tags["mlflow.source.name"] == "ecgpipe train"
    assert run.data.tags["mlflow.source.git.commit"] in run.data.tags["git_commit"]
    inputs = {
        d.dataset.name: [t.value for t in d.tags if t.key == "mlflow.data.context"]
        for d in run.inputs.dataset_inputs
    }
    assert inputs == {
        "synthetic-train": ["training"],
        "synthetic-val": ["validation"],
        "synthetic-test": ["testing"],
    }
    rows = {
        d.dataset.name: json.loads(d.dataset.profile)["num_rows"] for d in run.inputs.dataset_inputs
    }
    split = json.loads((runs[0] / "reports/split.json").read_text())
    assert rows["synthetic-test"] == split["test"]["n_records"]


def test_runs_get_distinct_telling_names(runs):
    (ca, ra), (cb, rb) = client(runs[0]), client(runs[1])
    a, b = ca.get_run(ra).info.run_name, cb.get_run(rb).info.run_name
    assert a != b  # one seed, one configuration: still two names
    assert a.startswith("cnn1d-synthetic-") and a.rsplit("-", 1)[0] == b.rsplit("-", 1)[0]


def test_the_runs_table_view_shows_the_key_validation_and_test_metrics(runs):
    c, run_id = client(runs[0])
    run = c.get_run(run_id)
    tags = c.get_experiment(run.info.experiment_id).tags
    state = json.loads(json.loads(tags["mlflow.sharedViewState.ecgpipe"])["state"])
    columns = state["selectedColumns"]
    metrics = [k[len("metrics.`") : -1] for k in columns if k.startswith("metrics.")]
    assert metrics == [
        "best/val/macro_auroc",
        "test/macro_auroc",
        "test/macro_auroc_lo",
        "test/macro_auroc_hi",
    ]
    assert set(metrics) <= set(run.data.metrics)  # columns the run fills


def test_the_learning_curve_has_a_row_per_epoch_as_mlflow_logged(runs):
    c, run_id = client(runs[0])
    with (runs[0] / "plots/training.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    logged = c.get_metric_history(run_id, "val/macro_auroc")
    assert [int(r["epoch"]) for r in rows] == list(range(len(logged)))
    assert [float(r["val/macro_auroc"]) for r in rows] == pytest.approx(
        [m.value for m in sorted(logged, key=lambda m: m.step)], rel=1e-5
    )
    assert all(float(r["train/loss"]) > 0 and float(r["val/loss"]) > 0 for r in rows)


def test_the_tiny_dag_shows_headline_metrics_learning_curves_and_system_use(tiny_project):
    """`dvc metrics show` lists about a dozen figures, not every class and check, within 200
    columns; `dvc plots show` draws the learning curves; the training run sampled CPU and
    memory."""
    wide = {"COLUMNS": "1000"}  # room for every column at its full width: nothing compressed
    table = sh("dvc", "metrics", "show", cwd=tiny_project, env=wide).stdout
    assert max(map(len, table.splitlines())) <= 200, table
    shown = json.loads(sh("dvc", "metrics", "show", "--json", cwd=tiny_project).stdout)
    files = shown[""]["data"]
    assert set(files) == {"metrics/integrity.json", "metrics/split.json", "metrics/test.json"}

    def numbers(d):
        if isinstance(d, dict):
            return sum(numbers(v) for v in d.values())
        return isinstance(d, int | float) and not isinstance(d, bool)

    assert numbers({f: files[f]["data"] for f in files}) <= 12
    test = files["metrics/test.json"]["data"]
    assert test["test"]["macro_auroc_lo"] <= test["test"]["macro_auroc"]
    assert test["test"]["macro_auroc"] <= test["test"]["macro_auroc_hi"]

    plots = json.loads(sh("dvc", "plots", "show", "--json", cwd=tiny_project).stdout)
    assert not plots.get("errors"), plots["errors"]
    for name in ("Learning curves, loss", "Learning curves, validation"):
        values = plots["data"][name][0]["content"]["data"]["values"]
        assert {v["rev"] for v in values} == {"workspace"}
    with (tiny_project / "plots/training.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    params = yaml.safe_load((tiny_project / "params.yaml").read_text())
    assert 1 <= len(rows) <= params["train"]["max_epochs"]

    c, run_id = client(tiny_project)
    run = c.get_run(run_id)
    assert "mlflow_run_id" not in test  # an identifier is no metric: metrics/eval.json has it
    evaluated = json.loads((tiny_project / "metrics/eval.json").read_text())
    assert run_id == evaluated["mlflow_run_id"] and run.info.status == "FINISHED"
    for name in ("cpu_utilization_percentage", "system_memory_usage_megabytes"):
        assert f"system/{name}" in run.data.metrics, sorted(run.data.metrics)


def test_every_figure_is_given_per_age_band_and_sex_with_the_gap_to_the_rest(runs):
    test = json.loads((runs[0] / "metrics/eval.json").read_text())["test"]
    found = test["subgroups"]["attributes"]
    assert set(found) == {"age", "sex"}  # what the synthetic cohort's table says of a patient
    assert set(found["sex"]) == {"F", "M"} and set(found["age"]) <= {
        "18-39",
        "40-59",
        "60-79",
        "80+",
    }
    for groups in found.values():
        assert sum(g["n_records"] for g in groups.values()) == test["n_records"]
        for g in groups.values():
            assert set(g["figures"]["per_class"]) == set(test["per_class"])
            lo, hi = g["gap_ci"]
            assert g["gap"] is None or lo <= g["gap"] <= hi
            assert g["too_small"] == (
                g["n_patients"] < 20 or test["n_groups"] - g["n_patients"] < 20
            )
    report = (runs[0] / "reports/eval.md").read_text()
    assert "## Subgroups" in report and "| sex | F |" in report and "paired interval" in report


def test_abstention_and_prediction_sets_are_judged_on_the_test_split(runs):
    test = json.loads((runs[0] / "metrics/eval.json").read_text())["test"]
    risk, sets = test["risk_coverage"], test["conformal"]
    at = risk["risk_at"]
    assert at["1.0"] >= at["0.5"]  # keeping the most confident half errs less than keeping all
    assert risk["aurc_ci"][0] <= risk["aurc"] <= risk["aurc_ci"][1]
    assert set(risk["per_class_miss"]) == set(test["per_class"])
    lo, hi = sets["coverage_ci"]
    assert sets["target"] == 0.9 and lo <= sets["coverage"] <= hi
    assert hi >= sets["target"]  # not below 1 - alpha beyond what the test split's size allows
    assert 1.0 <= sets["mean_set_size"] <= 2.0  # a yes/no set per class
    rows = list(csv.DictReader((runs[0] / "plots/risk_coverage.csv").open()))
    assert float(rows[-1]["coverage"]) == 1.0 and float(rows[-1]["risk"]) == pytest.approx(
        at["1.0"]
    )
    assert (runs[0] / "reports/figures/risk_coverage.png").stat().st_size > 1000
    report = (runs[0] / "reports/eval.md").read_text()
    assert "## Abstention: risk against coverage" in report and "split conformal" in report
    calibration = json.loads((runs[0] / "models/conformal.json").read_text())
    assert calibration["kind"] == "mondrian" and len(calibration["quantiles"]) == 5


def test_the_model_card_is_written_logged_and_describes_the_registered_version(runs):
    root = runs[0]
    card = (root / "reports/model_card.md").read_text()
    test = json.loads((root / "metrics/eval.json").read_text())["test"]
    for section in (
        "Intended use",
        "Training data",
        "Preprocessing",
        "Test figures",
        "Subgroups (test split)",
        "Known failures",
        "External validation",
        "Reproduce",
    ):
        assert f"## {section}" in card, section  # fmt: skip
    lo, hi = test["macro_auroc_ci"]
    assert f"| Macro AUROC | {test['macro_auroc']:.3f} [{lo:.3f}, {hi:.3f}] |" in card
    worst = test["per_patient"][0]
    assert f"| {worst['patient']} |" in card
    c, run_id = client(root)
    assert f"mlflow artifacts download -r {run_id} -a config/params.yaml" in card
    assert "Training records made between 19" in card or "Training records made between 20" in card
    (version,) = c.search_model_versions(f"run_id = '{run_id}'")
    assert version.description == card
    assert "model_card.md" in {f.path for f in c.list_artifacts(run_id)}
