"""Single-label evaluation against scikit-learn: point estimates, bootstrap intervals, the
label-prior baseline, the challenge score, plot files and the report."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, precision_recall_fscore_support, roc_auc_score

from ecgpipe.evaluation import metrics, multiclass, plots

CLASSES = ["N", "A", "O", "~"]


def problem(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class ids at CinC-like prevalence and softmax scores that know them imperfectly."""
    rng = np.random.default_rng(seed)
    y = rng.choice(4, n, p=[0.6, 0.1, 0.25, 0.05])
    logits = rng.normal(0, 1, (n, 4)) + 1.5 * np.eye(4)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, p


@pytest.fixture(scope="module")
def scored() -> tuple[np.ndarray, np.ndarray, dict]:
    y, p = problem()
    return y, p, multiclass.score(y, p, None, CLASSES, dataset="cinc2017", n_bootstrap=200, seed=0)


def test_point_estimates_equal_scikit_learn(scored):
    y, p, result = scored
    pred = p.argmax(axis=1)
    precision, recall, f1, support = precision_recall_fscore_support(y, pred, labels=range(4))
    assert result["accuracy"] == pytest.approx(accuracy_score(y, pred))
    assert result["macro_f1"] == pytest.approx(f1.mean())
    assert result["macro_auroc"] == pytest.approx(
        roc_auc_score(y, p, multi_class="ovr", average="macro")
    )
    assert result["cinc2017_f1"] == pytest.approx(f1[:3].mean())
    for k, cls in enumerate(CLASSES):
        m = result["per_class"][cls]
        assert (m["precision"], m["recall"], m["f1"]) == pytest.approx(
            (precision[k], recall[k], f1[k])
        )
        assert m["support"] == support[k]
        assert m["auroc"] == pytest.approx(roc_auc_score(y == k, p[:, k]))
    assert result["confusion"]["actual_by_predicted"] == metrics.confusion(y, pred, 4).tolist()
    json.dumps(result, allow_nan=False)


def test_intervals_equal_scikit_learn_on_the_same_resamples(scored):
    y, p, result = scored
    draws = metrics.resample_indices(len(y), 200, 0)
    f1s, accuracies, aurocs = [], [], []
    for idx in draws:
        pred = p[idx].argmax(axis=1)
        f1 = precision_recall_fscore_support(y[idx], pred, labels=range(4), zero_division=0)[2]
        f1s.append(f1[:3].mean())
        accuracies.append(accuracy_score(y[idx], pred))
        aurocs.append(roc_auc_score(y[idx] == 1, p[idx, 1]))
    for key, values in (("cinc2017_f1", f1s), ("accuracy", accuracies)):
        assert result[f"{key}_ci"] == pytest.approx(list(np.percentile(values, [2.5, 97.5])))
    assert result["per_class"]["A"]["auroc_ci"] == pytest.approx(
        list(np.percentile(aurocs, [2.5, 97.5]))
    )
    lo, hi = result["macro_f1_ci"]
    assert lo < result["macro_f1"] < hi


def test_intervals_resample_patients_with_all_their_rows():
    """Beats of one record are not independent: a resample draws records (groups) and takes
    every beat of each, as a hand-written record bootstrap with scikit-learn does."""
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(12).astype(str), 40)
    skill = rng.uniform(0.3, 3.0, 12)[np.repeat(np.arange(12), 40)]  # some records are hard
    y = rng.choice(4, len(groups), p=[0.6, 0.1, 0.25, 0.05])
    logits = rng.normal(0, 1, (len(y), 4)) + skill[:, None] * np.eye(4)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    kw = {"dataset": "", "n_bootstrap": 200, "seed": 0}
    by_record = multiclass.score(y, p, None, CLASSES, groups=groups, clinical=True, **kw)
    ids = np.unique(groups)
    accuracies, sensitivities = [], []
    for draw in metrics.resample_indices(len(ids), 200, 0):
        idx = np.concatenate([np.flatnonzero(groups == ids[g]) for g in draw])
        pred = p[idx].argmax(axis=1)
        accuracies.append(accuracy_score(y[idx], pred))
        recall = precision_recall_fscore_support(y[idx], pred, labels=range(4), zero_division=0)
        sensitivities.append(recall[1][0])
    assert by_record["accuracy_ci"] == pytest.approx(list(np.percentile(accuracies, [2.5, 97.5])))
    n = by_record["per_class"]["N"]
    assert n["sensitivity_ci"] == pytest.approx(list(np.percentile(sensitivities, [2.5, 97.5])))
    assert {"sensitivity", "ppv", "specificity", "f1"} <= set(n) and "precision" not in n
    assert by_record["n_groups"] == 12
    by_beat = multiclass.score(y, p, None, CLASSES, **kw)
    assert np.diff(by_record["accuracy_ci"])[0] > 2 * np.diff(by_beat["accuracy_ci"])[0]


def test_factors_move_the_predicted_class():
    y, p = problem()
    plain = multiclass.score(y, p, None, CLASSES, dataset="x", n_bootstrap=20, seed=0)
    shifted = multiclass.score(
        y, p, np.array([1.0, 5.0, 1.0, 1.0]), CLASSES, dataset="x", n_bootstrap=20, seed=0
    )
    assert shifted["per_class"]["A"]["predicted"] > plain["per_class"]["A"]["predicted"]
    assert shifted["macro_auroc"] == plain["macro_auroc"]  # scores are unchanged
    assert "cinc2017_f1" not in plain  # only CinC 2017 has that score


def test_label_prior_predicts_the_majority_class():
    y, _ = problem()
    prior = multiclass.label_prior(np.array([0, 0, 0, 1, 2]), len(y), 4)
    result = multiclass.score(y, prior, None, CLASSES, dataset="cinc2017", n_bootstrap=20, seed=0)
    assert result["per_class"]["N"]["predicted"] == len(y)
    assert result["accuracy"] == pytest.approx(np.mean(y == 0))
    assert result["macro_auroc"] == 0.5


def test_inputs_are_checked():
    y, p = problem(20)
    with pytest.raises(ValueError, match="columns"):
        multiclass.score(y, p[:, :3], None, CLASSES, dataset="x", n_bootstrap=10, seed=0)
    with pytest.raises(ValueError, match=r"y must be \(N,\)"):
        multiclass.score(np.eye(4)[y], p, None, CLASSES, dataset="x", n_bootstrap=10, seed=0)


def test_plot_files_and_figures(tmp_path, scored):
    y, p, _ = scored
    pred = p.argmax(axis=1)
    plots.write_plots_multiclass(y, pred, p, CLASSES, tmp_path / "plots", tmp_path / "figures")
    with open(tmp_path / "plots/confusion/classes.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["actual", "predicted"] and len(rows) == len(y) + 1
    assert rows[1] == [CLASSES[y[0]], CLASSES[pred[0]]]
    for cls in CLASSES:
        assert (tmp_path / "plots/roc" / f"{cls}.csv").is_file()
    for name in ("roc", "pr", "calibration", "confusion"):
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 5000


def test_report_puts_model_beside_the_prior(scored):
    y, _, result = scored
    prior = multiclass.label_prior(y, len(y), 4)
    baseline = multiclass.score(y, prior, None, CLASSES, dataset="cinc2017", n_bootstrap=20, seed=0)
    text = multiclass.markdown(result, baseline, CLASSES, "cnn1d on cinc2017", "argmax")
    assert text.startswith("# cnn1d on cinc2017\n")
    assert f"| cinc2017 challenge F1 (N, A, O) | {result['cinc2017_f1']:.3f} [" in text
    assert "| **~** |" in text and "The predicted class is the argmax" in text


def test_a_class_absent_from_the_split_has_no_figure_not_a_zero():
    y, p = problem()
    y = np.where(y == 1, 0, y)  # no A record left, though the model still calls some A
    result = multiclass.score(y, p, None, CLASSES, dataset="cinc2017", n_bootstrap=50, seed=0)
    a = result["per_class"]["A"]
    assert a["support"] == 0 and a["predicted"] > 0
    for key in ("precision", "recall", "f1", "specificity", "auroc"):
        assert a[key] is None and a.get(f"{key}_ci", [None, None]) == [None, None], key
    f1s = [result["per_class"][c]["f1"] for c in ("N", "O", "~")]
    assert result["macro_f1"] == pytest.approx(np.mean(f1s))  # left out of the mean
    text = multiclass.markdown(result, result, CLASSES, "t", "argmax")
    assert f"| A | 0 | {a['predicted']} | absent | absent | absent | absent | absent |" in text
