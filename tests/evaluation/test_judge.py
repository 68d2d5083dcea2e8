"""A split's scores judged from plain values: every section of the report, and what each rests
on (the patients for intervals, the labelling rule train chose, the calibration)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd

from ecgpipe.evaluation import conformal, judge, multiclass


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


def test_scores_of_a_cache_say_who_each_row_is():
    cache = SimpleNamespace(
        classes=["N", "S", "V"],
        patients=np.array(["p1", "p1", "p2", "p3"]),
        index=pd.DataFrame({"record_id": ["r1", "r2", "r3", "r4"]}),
        meta={"label_kind": "beat", "dataset": "mitdb"},
        unit="beat",
    )
    rows, y, p = np.array([1, 3]), np.array([0, 2]), np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    s = judge.Scores.of(cache, rows, y, p, np.ones(3))
    assert s.record_ids.tolist() == ["r2", "r4"] and s.patients.tolist() == ["p1", "p3"]
    assert not s.multilabel and s.unit == "beats" and s.per_class == "sensitivity"
    assert s.truth.tolist() == s.hits.tolist() == [[True, False, False], [False, False, True]]
    assert [r["patient"] for r in s.per_patient()] == ["p1", "p3"]


def test_the_argmax_rule_says_whether_it_was_re_weighted():
    assert judge.rule("argmax") == "argmax of the probabilities"
    assert judge.rule("prior").endswith(", re-weighted back to the training prior")


def test_adapted_scores_are_judged_apart_against_the_same_baseline():
    rng = np.random.default_rng(1)
    n, classes = 200, ["N", "S", "V"]
    y = rng.integers(0, 3, n)
    p = rng.dirichlet(np.ones(3), n)
    s = judge.Scores(
        y=y, p=p, classes=classes, decision=np.ones(3), rows=np.arange(n),
        patients=(np.arange(n) // 10).astype(str), record_ids=np.arange(n).astype(str),
        multilabel=False, unit="beats", dataset="mitdb",
    )  # fmt: skip
    baseline = multiclass.score(
        y, np.tile(np.bincount(y) / n, (n, 1)), None, classes, dataset="mitdb", clinical=True,
        n_bootstrap=20, seed=0, groups=s.patients,
    )  # fmt: skip
    better = np.eye(3)[y] * 0.5 + p * 0.5
    figures, section = judge.adapted(s, better, baseline, title="t", rule="argmax",
                                     n_bootstrap=20, seed=0)  # fmt: skip
    assert figures["accuracy"] == 1.0 and "sensitivity" in figures["per_class"]["S"]
    assert "t, adapted to each test record" in section and "Transductive" in section
