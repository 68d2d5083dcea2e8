"""Metrics against scikit-learn, brute force and hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from ecgpipe.evaluation import metrics

# 8 records, 3 classes; the last class has no positives. Ties in class 0.
Y = np.array(
    [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 0], [1, 1, 0]],
    dtype=np.int8,
)
P = np.array(
    [
        [0.9, 0.2, 0.1],
        [0.4, 0.8, 0.3],
        [0.7, 0.6, 0.2],
        [0.4, 0.3, 0.9],
        [0.4, 0.1, 0.5],
        [0.2, 0.7, 0.4],
        [0.1, 0.4, 0.6],
        [0.8, 0.5, 0.7],
    ]
)


def test_indicator() -> None:
    assert metrics.indicator(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    assert metrics.indicator(Y, 3).dtype == np.int8


def test_auroc_auprc_match_sklearn_and_nan_for_a_degenerate_class() -> None:
    auroc, auprc = metrics.auroc(Y, P), metrics.auprc(Y, P)
    for c in range(2):
        assert auroc[c] == pytest.approx(roc_auc_score(Y[:, c], P[:, c]))
        assert auprc[c] == pytest.approx(average_precision_score(Y[:, c], P[:, c]))
    assert np.isnan(auroc[2]) and np.isnan(auprc[2])
    all_positive = np.ones((4, 1), dtype=np.int8)
    assert np.isnan(metrics.auroc(all_positive, P[:4, :1])[0])


def test_micro_auroc_matches_sklearn() -> None:
    assert metrics.micro_auroc(Y, P) == pytest.approx(roc_auc_score(Y.ravel(), P.ravel()))
    assert np.isnan(metrics.micro_auroc(np.zeros_like(Y), P))


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = np.sum(pred & (y == 1))
    return 2 * tp / (pred.sum() + y.sum())


def _brute_force_best_f1(y: np.ndarray, p: np.ndarray) -> float:
    return max(_f1(y, p >= s) for s in np.unique(p))


@pytest.mark.parametrize("seed", range(6))
def test_tune_thresholds_finds_the_best_f1(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = (rng.random((60, 3)) < [0.1, 0.3, 0.6]).astype(np.int8)
    y[0] = 1  # every class has a positive
    p = np.round(np.clip(0.3 * y + rng.random((60, 3)), 0, 1), 2)  # with ties
    thresholds = metrics.tune_thresholds(y, p)
    for c in range(3):
        best = _brute_force_best_f1(y[:, c], p[:, c])
        pred = p[:, c] >= thresholds[c]
        assert _f1(y[:, c], pred) == pytest.approx(best)
        assert _f1(y[:, c], pred) == pytest.approx(f1_score(y[:, c], pred))
        assert thresholds[c] not in p[:, c]  # strictly between two scores (or below all)


def test_tune_thresholds_degenerate_class_and_adjacent_floats() -> None:
    y = np.array([[1, 0], [0, 0]], dtype=np.int8)
    high = 0.3
    p = np.array([[high, 0.9], [np.nextafter(high, 0), 0.1]])
    thresholds = metrics.tune_thresholds(y, p)
    assert np.isnan(thresholds[1])  # no positive: no threshold, never called
    assert not (p[:, 1] >= thresholds[1]).any()
    assert (p[:, 0] >= thresholds[0]).tolist() == [True, False]
    every = metrics.tune_thresholds(np.ones((2, 1), np.int8), p[:, :1])
    assert every.tolist() == [0.5]  # no negative: the default


def test_at_thresholds_counts_by_hand() -> None:
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 0], [1, 0]])
    p = np.array([[0.9, 0.1], [0.3, 0.8], [0.6, 0.2], [0.1, 0.7], [0.5, 0.4]])
    out = metrics.at_thresholds(y, p, np.array([0.5, 0.5]))
    # class 0: predicted 1,0,1,0,1 vs actual 1,1,0,0,1 -> tp 2, fp 1, fn 1, tn 1
    # class 1: predicted 0,1,0,1,0 vs actual 0,0,1,0,0 -> tp 0, fp 2, fn 1, tn 2
    assert out["tp"].tolist() == [2, 0]
    assert out["fp"].tolist() == [1, 2]
    assert out["fn"].tolist() == [1, 1]
    assert out["tn"].tolist() == [1, 2]
    np.testing.assert_allclose(out["precision"], [2 / 3, 0.0])
    np.testing.assert_allclose(out["recall"], [2 / 3, 0.0])
    np.testing.assert_allclose(out["specificity"], [1 / 2, 2 / 4])
    np.testing.assert_allclose(out["f1"], [2 / 3, 0.0])


def test_rates_conventions_without_positives() -> None:
    out = metrics.rates(np.array([0]), np.array([0]), np.array([0]), np.array([5]))
    assert out["precision"][0] == 0.0
    assert np.isnan(out["recall"][0]) and np.isnan(out["f1"][0])
    assert out["specificity"][0] == 1.0


def test_calibration_perfect_bins_have_zero_ece() -> None:
    # 0.25 in bin 2 with 1 of 4 positive, 0.75 in bin 7 with 3 of 4 positive
    p = np.array([0.25] * 4 + [0.75] * 4)[:, None]
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])[:, None]
    cal = metrics.calibration(y, p)
    assert cal["ece"] == pytest.approx(0.0)
    assert cal["count"].tolist() == [0, 0, 4, 0, 0, 0, 0, 4, 0, 0]
    assert np.isnan(cal["mean_predicted"][0])


def test_calibration_hand_example() -> None:
    # bin 0: p 0.05, 0.05 with 1 positive -> |0.05 - 0.5| = 0.45, weight 2/4
    # bin 9: p 0.95, 1.0 with 1 positive -> |0.975 - 0.5| = 0.475, weight 2/4
    p = np.array([[0.05], [0.05], [0.95], [1.0]])
    y = np.array([[1], [0], [0], [1]])
    cal = metrics.calibration(y, p)
    assert cal["ece"] == pytest.approx(0.5 * 0.45 + 0.5 * 0.475)
    assert cal["count"][[0, 9]].tolist() == [2, 2]


def _problem(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) < 0.3).astype(np.int8)
    return y, np.clip(0.4 * y + 0.8 * rng.random((n, 2)), 0, 1)


def test_bootstrap_ci_contains_the_estimate_narrows_and_is_deterministic() -> None:
    y, p = _problem(100, 0)
    lo, hi = metrics.bootstrap_ci(y, p, metrics.micro_auroc, 60, seed=1)
    assert lo <= metrics.micro_auroc(y, p) <= hi
    assert (lo, hi) == metrics.bootstrap_ci(y, p, metrics.micro_auroc, 60, seed=1)
    assert (lo, hi) != metrics.bootstrap_ci(y, p, metrics.micro_auroc, 60, seed=2)
    big_y, big_p = _problem(1600, 0)
    big_lo, big_hi = metrics.bootstrap_ci(big_y, big_p, metrics.micro_auroc, 60, seed=1)
    assert big_hi - big_lo < (hi - lo) / 2


def test_bootstrap_ci_leaves_out_undefined_resamples() -> None:
    y = np.zeros((30, 1), dtype=np.int8)
    y[0] = 1  # most resamples lack the one positive
    lo, hi = metrics.bootstrap_ci(y, np.linspace(0, 1, 30)[:, None], metrics.micro_auroc, 50, 0)
    assert 0 <= lo <= hi <= 1
    lo, hi = metrics.bootstrap_ci(np.zeros_like(y), y.astype(float), metrics.micro_auroc, 20, 0)
    assert np.isnan(lo) and np.isnan(hi)


def test_resample_counts_match_indices() -> None:
    idx = metrics.resample_indices(7, 5, seed=3)
    assert idx.shape == (5, 7)
    counts = metrics.resample_counts(idx, 7)
    for row, c in zip(idx, counts, strict=True):
        assert c.tolist() == np.bincount(row, minlength=7).tolist()


@pytest.mark.parametrize("decimals", [1, 8])  # many ties, none
def test_resampled_auroc_auprc_match_sklearn_on_each_resample(decimals: int) -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(80) < 0.3).astype(np.int8)
    p = np.round(0.3 * y + rng.random(80), decimals)
    idx = metrics.resample_indices(80, 30, seed=4)
    auroc, auprc = metrics.resampled_auroc_auprc(y, p, metrics.resample_counts(idx, 80))
    for b, rows in enumerate(idx):
        assert auroc[b] == pytest.approx(roc_auc_score(y[rows], p[rows]))
        assert auprc[b] == pytest.approx(average_precision_score(y[rows], p[rows]))
    only_positives = np.zeros((1, 80))
    only_positives[0, y == 1] = 1
    auroc, auprc = metrics.resampled_auroc_auprc(y, p, only_positives)
    assert np.isnan(auroc[0]) and np.isnan(auprc[0])


def test_percentile_ci_ignores_nan() -> None:
    values = np.array([[1.0, np.nan], [2.0, np.nan], [np.nan, np.nan], [3.0, np.nan]])
    lo, hi = metrics.percentile_ci(values, level=0.5)
    assert (lo[0], hi[0]) == (1.5, 2.5)
    assert np.isnan(lo[1]) and np.isnan(hi[1])


def test_resampled_scores_pooled_records_and_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    idx = metrics.resample_indices(len(Y), 12, seed=5)
    counts = metrics.resample_counts(idx, len(Y))
    pooled = np.repeat(np.arange(len(Y)), Y.shape[1])
    whole, _ = metrics.resampled_auroc_auprc(Y.ravel(), P.ravel(), counts, pooled)
    for b, rows in enumerate(idx):
        assert whole[b] == pytest.approx(metrics.micro_auroc(Y[rows], P[rows]), nan_ok=True)
    monkeypatch.setattr(metrics, "BLOCK_CELLS", 50)  # 2 resamples per block
    blocks, _ = metrics.resampled_auroc_auprc(Y.ravel(), P.ravel(), counts, pooled)
    np.testing.assert_array_equal(blocks, whole)
    _, auprc = metrics.resampled_auroc_auprc(Y[:, 0], P[:, 0], counts)
    np.testing.assert_allclose(
        auprc, [average_precision_score(Y[rows, 0], P[rows, 0]) for rows in idx]
    )


def test_confusion_rates_equal_scikit_learn() -> None:
    rng = np.random.default_rng(1)
    y, pred = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    cm = metrics.confusion(y, pred, 4)
    assert cm.sum() == 200 and cm[1, 2] == np.sum((y == 1) & (pred == 2))
    r = metrics.confusion_rates(cm)
    np.testing.assert_allclose(r["f1"], f1_score(y, pred, average=None))
    assert r["accuracy"] == pytest.approx(np.mean(y == pred))
    stacked = metrics.confusion_rates(np.stack([cm, cm.T]))  # resamples on a leading axis
    np.testing.assert_allclose(stacked["f1"][0], r["f1"])
    np.testing.assert_allclose(stacked["recall"][1], r["precision"])


def test_challenge_f1_is_the_mean_of_its_classes() -> None:
    f1 = np.array([0.9, 0.8, 0.7, 0.1])
    assert metrics.challenge_f1("cinc2017", ["N", "A", "O", "~"], f1) == {
        "cinc2017_f1": pytest.approx(0.8)
    }
    assert metrics.challenge_f1("cinc2017", ["N", "O", "A"], f1[:3])[
        "cinc2017_f1"
    ] == pytest.approx(0.8)
    assert metrics.challenge_f1("ptbxl", ["N", "A", "O"], f1[:3]) == {}
    assert metrics.challenge_f1("cinc2017", ["N", "A"], f1[:2]) == {}  # O dropped: no score


def test_prior_correction_undoes_class_weights() -> None:
    counts = np.array([600, 100, 300])
    assert metrics.prior_correction(counts, 0.0, False).tolist() == [1.0, 1.0, 1.0]
    weighted = metrics.prior_correction(counts, 1.0, False)  # inverse-frequency CE weights
    np.testing.assert_allclose(weighted, counts / counts.max())
    np.testing.assert_allclose(metrics.prior_correction(counts, 0.0, True), weighted)
    # a balanced model's probabilities, corrected, give the posterior under the real prior
    p_balanced = np.array([[0.2, 0.5, 0.3]])
    prior = counts / counts.sum()
    posterior = p_balanced * prior / (p_balanced * prior).sum()
    assert metrics.predict_classes(p_balanced, weighted) == posterior.argmax()
    assert metrics.predict_classes(p_balanced) == 1
    # square-root weights: the prior the model saw is pi * pi ** -0.5 = sqrt(pi)
    half = metrics.prior_correction(counts, 0.5, False)
    np.testing.assert_allclose(half, np.sqrt(counts) / np.sqrt(counts).max())


def test_metric_names_are_mlflow_safe() -> None:
    assert metrics.metric_name("val/f1/~") == "val/f1/tilde"
    assert metrics.metric_name("test.per_class.LAO/LAE.f1") == "test.per_class.LAO/LAE.f1"
