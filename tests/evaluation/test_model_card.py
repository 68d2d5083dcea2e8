"""The model card from plain values: every section, the honest defaults (no external set, no
failing patient), and a run with uncommitted changes said so in the command that reproduces it."""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from ecgpipe.config.compose import compose_config
from ecgpipe.evaluation import model_card
from tests.conftest import PROJECT


def card(**changes) -> model_card.Card:
    values = dict(
        name="ecgpipe-mitdb-aami_beats",
        model="beat_gbm",
        dataset="mitdb",
        task="aami_beats",
        unit="beats",
        classes=["N", "S", "V"],
        leads=["MLII"],
        fs=360.0,
        data_root="/data/mitdb",
        splits={"train": {"records": 900, "patients": 9}, "test": {"records": 300, "patients": 3}},
        dates=None,
        preprocess={"fs": 180, "bandpass": {"enabled": True, "low_hz": 0.5, "high_hz": 45.0}},
        test={"n_records": 300, "n_groups": 3, "accuracy": 0.9, "accuracy_ci": [0.8, 0.95],
              "per_patient": [{"patient": "207", "records": ["207"], "n": 100, "n_wrong": 0}]},
        headline=["accuracy"],
        run_id="abc123",
        commit="0123abcd-dirty",
    )  # fmt: skip
    return model_card.Card(**values | changes)


def test_every_section_is_there_with_the_figures_and_the_command():
    text = model_card.render(card())
    for section in (
        "Intended use",
        "Training data",
        "Preprocessing",
        "Test figures",
        "Known failures",
        "External validation",
        "Reproduce",
    ):
        assert f"## {section}" in text, section  # fmt: skip
    assert "`beat_gbm` labels beats of 1-lead ECG (MLII) at 360 Hz" in text
    assert "| train | 900 | 9 |" in text and "| Accuracy | 0.900 [0.800, 0.950] |" in text
    assert "band-pass 0.5-45 Hz; notch none" in text
    assert "No test patient has a wrong label." in text
    assert "None configured" in text
    assert "git checkout 0123abcd   # the run had uncommitted changes" in text
    assert "mlflow artifacts download -r abc123 -a config/params.yaml -d ." in text


def test_external_sets_and_failing_patients_are_listed():
    worst = {"patient": "207", "records": ["207", "a", "b", "c"], "n": 100, "n_wrong": 40}
    test = card().test | {"per_patient": [worst]}
    text = model_card.render(card(external={"ds2": "/data/ds2"}, test=test, commit="0123abcd"))
    assert "| 207 | 207, a, b and 1 more | 100 | 40 (40%) |" in text
    assert "`ds2` (`/data/ds2`): `dvc repro external@ds2`" in text
    assert "git checkout 0123abcd\n" in text


def test_a_runs_card_gathers_its_splits_dates_and_configuration():
    site2 = [
        "+data@evaluate.external.site2.data=synthetic",
        "+evaluate.external.site2.label_map=null",
    ]
    cfg = compose_config(PROJECT / "conf", site2)
    cache = SimpleNamespace(
        meta={"dataset": "synthetic", "task": "superdiagnostic", "leads": ["I", "II"], "fs": 100},
        index=pd.DataFrame({"record_id": ["a", "b", "c", "d"]}),
        patients=np.array(["p1", "p1", "p2", "p3"]),
        classes=["NORM", "MI"],
        unit="record",
    )
    rows = {"train": np.array([0, 1, 2]), "test": np.array([3])}
    described = pd.DataFrame({"record_id": ["a", "b", "c", "d"],
                              "date": ["2001-05-01", "", "1999-02-03", "2020-01-01"]})  # fmt: skip
    card = model_card.from_run(
        cfg, cache, rows, described, name="n", test={"n_records": 1}, headline=["macro_auroc"],
        run_id="r", commit="", subgroups="## Subgroups",
    )  # fmt: skip
    assert card.splits == {"train": {"records": 3, "patients": 2},
                           "test": {"records": 1, "patients": 1}}  # fmt: skip
    assert card.dates == ("1999-02-03", "2001-05-01")  # the training records', known ones only
    assert card.unit == "records" and card.fs == 100.0 and card.model == cfg.model.name
    assert card.commit == "HEAD" and card.data_root == ""  # generated data has no root
    assert list(card.external) == ["site2"]
    assert card.preprocess == cfg.preprocess.model_dump(mode="json")
    no_dates = model_card.from_run(
        cfg, cache, rows, described.drop(columns="date"), name="n", test={}, headline=[],
        run_id="r", commit="abc", subgroups="",
    )  # fmt: skip
    assert no_dates.dates is None and no_dates.commit == "abc"
