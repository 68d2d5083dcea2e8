"""External validation: labels mapped onto the model's classes, absent classes never scored."""

import numpy as np
import pytest

from ecgpipe.evaluation import external, judge, multiclass

CLASSES = ["NORM", "MI", "CD"]


def test_labels_map_onto_the_model_classes_and_the_rest_is_left_out_with_its_reason():
    labels = [["NSR"], ["LBBB", "IAVB"], ["AF"], [], ["NSR", "RBBB"]]
    m = external.map_labels(
        labels, CLASSES, {"NORM": ["NSR"], "CD": ["LBBB", "RBBB"]}, single_label=False
    )
    assert m.truth.tolist() == [
        [True, False, False],
        [False, False, True],
        [False, False, False],
        [False, False, False],
        [True, False, True],
    ]
    assert m.kept.tolist() == [True, True, False, False, True]
    assert "(AF) map onto no model class" in m.reasons[2] and m.reasons[3] == "no label"
    assert m.mapped_to == {
        "AF": [], "IAVB": [], "LBBB": ["CD"], "NSR": ["NORM"], "RBBB": ["CD"]
    }  # fmt: skip
    assert m.label_counts["NSR"] == 2


def test_without_a_map_classes_match_by_name_and_a_single_label_model_refuses_two():
    m = external.map_labels([["MI"], ["MI", "CD"]], CLASSES, None, single_label=True)
    assert m.truth[0].tolist() == [False, True, False]
    assert m.kept.tolist() == [True, False]
    assert "several classes of a single-label model: MI, CD" in m.reasons[1]


def test_a_map_naming_a_class_the_model_lacks_is_refused():
    with pytest.raises(ValueError, match=r"\['AFIB'\], which the model does not have"):
        external.map_labels([["AF"]], CLASSES, {"AFIB": ["AF"]}, single_label=True)


def _data(rng, n=120):
    y = rng.integers(0, 2, (n, 3)).astype(bool)
    y[:, 2] = False  # CD absent
    p = np.clip(y + rng.normal(0, 0.6, y.shape), 0, 1)
    return y, p


def test_multilabel_absent_classes_are_named_and_left_out_of_the_macro_averages():
    y, p = _data(np.random.default_rng(0))
    kw = {"groups": np.arange(len(y)).astype(str), "n_bootstrap": 50, "seed": 0}
    out = external.score(y, p, CLASSES, thresholds=np.full(3, 0.5), factors=None, dataset="x", **kw)
    assert out["absent_classes"] == ["CD"] and set(out["per_class"]) == {"NORM", "MI"}
    aurocs = [out["per_class"][c]["auroc"] for c in ("NORM", "MI")]
    assert out["macro_auroc"] == pytest.approx(np.mean(aurocs))


def test_multiclass_an_absent_class_has_no_f1_rather_than_zero():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 200)  # class 2 never occurs ...
    p = rng.dirichlet(np.ones(3), 200)
    p[:20, 2] = 5  # ... but is predicted
    p /= p.sum(1, keepdims=True)
    truth = np.eye(3, dtype=bool)[y]
    kw = {"groups": np.arange(200).astype(str), "n_bootstrap": 50, "seed": 0}
    out = external.score(truth, p, CLASSES, thresholds=None, factors=None, dataset="x", **kw)
    assert out["absent_classes"] == ["CD"]
    assert out["per_class"]["CD"]["f1"] is None and out["per_class"]["CD"]["predicted"] >= 20
    f1 = [out["per_class"][c]["f1"] for c in ("NORM", "MI")]
    assert out["macro_f1"] == pytest.approx(np.mean(f1))
    # the in-distribution scoring is unchanged where every class is present
    full = multiclass.score(np.arange(200) % 3, p, None, CLASSES, dataset="x", **kw)
    assert all(full["per_class"][c]["f1"] is not None for c in CLASSES)


def test_the_report_puts_each_figure_beside_the_test_split_and_says_what_is_absent():
    y, p = _data(np.random.default_rng(2))
    kw = {"groups": np.arange(len(y)).astype(str), "n_bootstrap": 50, "seed": 0}
    out = external.score(y, p, CLASSES, thresholds=np.full(3, 0.5), factors=None, dataset="x", **kw)
    inside = external.score(
        np.c_[y[:, :2], ~y[:, 0]], p, CLASSES, thresholds=np.full(3, 0.5), factors=None,
        dataset="x", **kw,
    )  # fmt: skip
    labels = [["NSR"] if row[0] else ["IMI"] for row in y]
    mapped = external.map_labels(labels, CLASSES, {"NORM": ["NSR"]}, single_label=False)
    text = external.markdown(
        "site2", out, inside, mapped, [("r1", "lead I is flat")], kind="multilabel", source="/d"
    )
    assert "| Macro AUROC | " in text and "Test split (in-distribution)" in text
    row = next(line for line in text.splitlines() if line.startswith("| CD |"))
    assert "absent" in row and f"{inside['per_class']['CD']['auroc']:.3f}" in row
    assert "Absent from this set" in text and "| IMI |" in text and "not mapped" in text
    assert "| r1 | lead I is flat |" in text


def test_a_sets_scores_are_judged_with_each_patient_subgroup_and_what_was_left_out():
    y, p = _data(np.random.default_rng(3))
    n = len(y)
    s = judge.Scores(
        y=y, p=p, classes=CLASSES, decision=np.full(3, 0.5), rows=np.arange(n),
        patients=(np.arange(n) // 3).astype(str), record_ids=np.arange(n).astype(str),
        multilabel=True, unit="records", dataset="x",
    )  # fmt: skip
    labels = [["NSR"] if row[0] else ["IMI"] for row in y] + [["AF"]]
    mapped = external.map_labels(
        labels, CLASSES, {"NORM": ["NSR"], "MI": ["IMI"]}, single_label=False
    )
    inside = external.score(
        np.c_[y[:, :2], ~y[:, 0]], p, CLASSES, thresholds=np.full(3, 0.5), factors=None,
        dataset="x", groups=s.patients, n_bootstrap=20, seed=0,
    )  # fmt: skip
    sex = np.where(np.arange(n) % 2, "F", "M")
    result, report = external.judge(
        "site2", s, {"sex": sex}, inside, mapped, [("r1", "lead I is flat")],
        source="/d", n_bootstrap=20, seed=0,
    )  # fmt: skip
    alone = external.score(
        y, p, CLASSES, thresholds=np.full(3, 0.5), factors=None, dataset="x",
        groups=s.patients, n_bootstrap=20, seed=0,
    )  # fmt: skip
    assert result["macro_auroc"] == alone["macro_auroc"] and result["absent_classes"] == ["CD"]
    assert len(result["per_patient"]) == n // 3 and result["n_groups"] == n // 3
    assert set(result["subgroups"]["attributes"]["sex"]) == {"F", "M"}
    assert result["n_left_out"] == {"unscorable": 1, "unlabelled": 1}
    for section in ("# External validation: site2", "## Subgroups", "## Per patient"):
        assert section in report, section
    assert "| r1 | lead I is flat |" in report
