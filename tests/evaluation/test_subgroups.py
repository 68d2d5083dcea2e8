"""Figures per subgroup of patients: age bands, the manifest's columns, the gap to the rest with
a paired patient bootstrap (checked against scikit-learn on the same draws), the small-subgroup
rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from ecgpipe.evaluation import metrics, multiclass, multilabel, subgroups

CLASSES = ["A", "B"]


@pytest.mark.parametrize(
    ("age", "band"),
    [("17.9", "<18"), ("18", "18-39"), ("39.5", "18-39"), ("40", "40-59"), ("79", "60-79"),
     ("80", "80+"), ("90", "80+"), ("", "unknown"), ("n/a", "unknown"), ("-3", "unknown")],
)  # fmt: skip
def test_ages_fall_in_their_bands(age, band):
    assert subgroups.age_band(age) == band


def test_attributes_are_read_from_the_manifest_by_record():
    described = pd.DataFrame(
        {
            "record_id": ["r1", "r2", "r3"],
            "age": ["25", "67", ""],
            "sex": ["F", "M", "F"],
            "site": ["0", "0", "0"],  # one site: nothing to compare
            "scanner": ["x", "", "y"],
        }
    )
    got = subgroups.attributes(described, np.array(["r3", "r1", "r1", "r2"]), None)
    assert list(got) == ["age", "sex"]
    assert got["age"].tolist() == ["unknown", "18-39", "18-39", "60-79"]
    assert got["sex"].tolist() == ["F", "F", "F", "M"]
    own = subgroups.attributes(described, np.array(["r2"]), ["scanner"])
    assert own["scanner"].tolist() == ["unknown"]
    with pytest.raises(ValueError, match=r"\['ward'\] not described in the manifest; it has age, "):
        subgroups.attributes(described, np.array(["r1"]), ["ward"])


def cohort(n_patients: int = 60, seed: int = 0):
    """Two records per patient; the model is better on women than on men."""
    rng = np.random.default_rng(seed)
    patients = np.repeat(np.arange(n_patients), 2).astype(str)
    sex = np.where(np.repeat(rng.random(n_patients) < 0.5, 2), "F", "M")
    y = (rng.random((len(patients), 2)) < 0.4).astype(np.int8)
    signal = np.where(sex == "F", 2.0, 0.7)[:, None]
    p = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(0, 1, y.shape))))
    return y, p, patients, sex


def test_the_gap_to_the_rest_has_a_paired_interval_over_patients():
    y, p, patients, sex = cohort()
    thr = np.full(2, 0.5)
    scorer = subgroups.multilabel_scorer(
        lambda y, p, groups: multilabel.score(
            y, p, thr, CLASSES, n_bootstrap=30, seed=1, groups=groups
        )
    )
    got = subgroups.score({"sex": sex}, y, p, patients, scorer, CLASSES, n_bootstrap=30, seed=1)
    women = got["attributes"]["sex"]["F"]
    men = got["attributes"]["sex"]["M"]

    def macro(mask, rows=None):
        rows = np.flatnonzero(mask) if rows is None else rows
        return np.mean([roc_auc_score(y[rows, k], p[rows, k]) for k in range(2)])

    assert women["figures"]["macro_auroc"] == pytest.approx(macro(sex == "F"))
    assert women["gap"] == pytest.approx(macro(sex == "F") - macro(sex == "M"))
    assert men["gap"] == pytest.approx(-women["gap"]) and women["gap"] > 0.1
    # the same draws of patients, each with both its records, score both sides
    counts, group = metrics.resample_groups(patients, len(y), 30, 1)
    gaps = []
    for c in counts:
        rows = np.repeat(np.arange(len(y)), c[group])
        gaps.append(macro(None, rows[sex[rows] == "F"]) - macro(None, rows[sex[rows] == "M"]))
    lo, hi = np.quantile(gaps, [0.025, 0.975])
    assert women["gap_ci"] == pytest.approx([lo, hi])
    assert women["n_patients"] + men["n_patients"] == 60 and not women["too_small"]
    assert women["n_records"] == int((sex == "F").sum())


def test_macro_f1_gap_for_single_label_data_and_the_small_subgroup_rule():
    rng = np.random.default_rng(3)
    n = 200
    y = rng.integers(0, 3, n)
    p = np.eye(3)[y] * 0.6 + rng.random((n, 3)) * 0.5
    patients = np.arange(n).astype(str)
    site = np.where(np.arange(n) < 12, "small", "big")  # 12 patients: too few to judge
    names = ["N", "A", "O"]
    scorer = subgroups.multiclass_scorer(
        lambda y, p, groups: multiclass.score(y, p, None, names, dataset="", n_bootstrap=20,
                                              seed=0, groups=groups),
        None,
        3,
    )  # fmt: skip
    got = subgroups.score({"site": site}, y, p, patients, scorer, names, n_bootstrap=20, seed=0)
    small, big = got["attributes"]["site"]["small"], got["attributes"]["site"]["big"]
    pred = p.argmax(axis=1)
    f1 = {k: f1_score(y[m], pred[m], average="macro") for k, m in
          (("small", site == "small"), ("big", site == "big"))}  # fmt: skip
    assert small["gap"] == pytest.approx(f1["small"] - f1["big"])
    assert small["too_small"] and big["too_small"]  # the rest of "big" is the 12
    assert set(small["rare_classes"]) == set(names)  # 12 records: under 10 of each
    text = subgroups.markdown(got, names, "recall")
    assert "| site | small | 12 | 12 |" in text and "too small to judge" in text
    assert subgroups.markdown({"attributes": {}}, names, "recall") == ""
