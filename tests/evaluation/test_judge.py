"""A split's scores judged from plain values: every section of the report, and what each rests
on (the patients for intervals, the labelling rule train chose, the calibration)."""

from __future__ import annotations

import numpy as np

from ecgpipe.evaluation import conformal, judge


def test_a_single_label_split_is_judged_with_every_section(tmp_path):
    rng = np.random.default_rng(0)
    n, classes = 300, ["N", "A", "O"]
    y = rng.integers(0, 3, n)
    p = np.eye(3)[y] * 0.5 + rng.random((n, 3)) * 0.6
    p /= p.sum(axis=1, keepdims=True)
    patients = (np.arange(n) // 2).astype(str)
    scores = judge.Scores(
        y=y, p=p, classes=classes, decision=np.ones(3), rows=np.arange(n) + 1000,
        patients=patients, record_ids=np.arange(n).astype(str), multilabel=False,
        unit="records", dataset="",
    )  # fmt: skip
    calibration = conformal.calibrate(y[:100], p[:100], 0.1, multilabel=False)
    sex = np.where(np.arange(n) % 4 < 2, "F", "M")
    judged = judge.judge(
        scores, y, title="t", rule="argmax", warning=None, attrs={"sex": sex},
        calibration=calibration, n_bootstrap=30, seed=0, plots_dir=tmp_path / "plots",
        figures_dir=tmp_path / "figures",
    )  # fmt: skip
    test = judged.test
    assert test["accuracy"] == np.mean(p.argmax(axis=1) == y)
    assert test["n_groups"] == 150  # intervals over patients, two records each
    assert len(test["per_patient"]) == 150
    assert set(test["subgroups"]["attributes"]["sex"]) == {"F", "M"}
    assert test["conformal"]["kind"] == "lac" and test["risk_coverage"]["n_records"] == n
    for section in (
        "## Per class",
        "## Abstention",
        "## Prediction sets",
        "## Subgroups",
        "## Per patient",
    ):
        assert section in judged.report, section  # fmt: skip
    assert judged.subgroups in judged.report
    assert (tmp_path / "figures/risk_coverage.png").is_file()
    assert (tmp_path / "plots/confusion/classes.csv").is_file()
    assert judged.baseline["accuracy"] == np.mean(y == np.bincount(y).argmax())
