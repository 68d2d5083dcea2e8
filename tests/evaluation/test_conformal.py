"""Split-conformal prediction sets: calibration, sets and their test coverage."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgpipe.evaluation import conformal

N = 8000  # half calibration, half test


def _single_label(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Four classes, labels drawn from noisy logits, a model that sees only part of them."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.5, (n, 4))
    truth = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = (rng.random((n, 1)) > truth.cumsum(axis=1)).sum(axis=1)
    seen = logits + rng.normal(0, 1, logits.shape)
    return y, np.exp(seen) / np.exp(seen).sum(axis=1, keepdims=True)


def _multilabel(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Five classes of prevalence 2% to 50%, a noisy model."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1, (n, 5)) + np.log([0.02, 0.1, 0.2, 0.35, 0.5])
    y = (rng.random((n, 5)) < 1 / (1 + np.exp(-logits))).astype(np.int8)
    p = 1 / (1 + np.exp(-(logits + rng.normal(0, 1, logits.shape))))
    return y, p


@pytest.mark.parametrize("multilabel", [False, True])
@pytest.mark.parametrize("alpha", [0.1, 0.2])
def test_coverage_on_exchangeable_data_meets_the_target(multilabel: bool, alpha: float) -> None:
    y, p = (_multilabel if multilabel else _single_label)(N, seed=int(alpha * 10))
    cal = conformal.calibrate(y[: N // 2], p[: N // 2], alpha, multilabel)
    result = conformal.coverage(cal, y[N // 2 :], p[N // 2 :], n_bootstrap=200, seed=0)

    assert result["target"] == pytest.approx(1 - alpha)
    assert result["coverage"] == pytest.approx(1 - alpha, abs=0.03)
    assert result["coverage"] >= 1 - alpha - 0.02
    lo, hi = result["coverage_ci"]
    assert lo <= result["coverage"] <= hi
    assert result["n_records"] == N // 2
    if multilabel:  # Mondrian: the guarantee holds per class, rare positives included
        for entry in result["per_class"]:
            assert entry["coverage"] == pytest.approx(1 - alpha, abs=0.04)
        assert 1 <= result["mean_set_size"] <= 2
    else:
        assert 1 <= result["mean_set_size"] < 4


def test_lac_quantile_by_hand() -> None:
    y = np.array([0, 1, 0, 1])
    p = np.array([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2], [0.3, 0.7]])  # scores 0.1, 0.4, 0.2, 0.3
    cal = conformal.calibrate(y, p, alpha=0.4, multilabel=False)  # rank ceil(5 * 0.6) = 3

    assert cal.kind == "lac" and cal.n_calibration == 4
    assert cal.quantiles == pytest.approx((0.3,))
    test = np.array([[0.75, 0.25], [0.6, 0.4], [0.4, 0.6], [0.7, 0.3]])
    # 0.6 and 0.4 fall outside q: the quantile leaves those sets empty, so the likelier class
    expected = [[True, False], [True, False], [False, True], [True, False]]
    np.testing.assert_array_equal(conformal.sets(cal, test), expected)


def test_mondrian_quantiles_by_hand() -> None:
    y = np.array([[1], [1], [0], [0], [0]])
    p = np.array([[0.9], [0.6], [0.1], [0.3], [0.2]])
    cal = conformal.calibrate(y, p, alpha=0.5, multilabel=True)

    # present: scores 0.1, 0.4, rank ceil(3 * 0.5) = 2; absent: 0.1, 0.2, 0.3, rank 2
    assert cal.quantiles[0] == pytest.approx((0.2, 0.4))
    in_set = conformal.sets(cal, np.array([[0.1], [0.45], [0.7]]))
    # 0.45: neither value within its quantile; the set holds the likelier one, absent
    np.testing.assert_array_equal(in_set[:, 0], [[True, False], [True, False], [False, True]])


@pytest.mark.parametrize("multilabel", [False, True])
def test_rank_past_the_last_score_gives_full_sets(multilabel: bool) -> None:
    y, p = (_multilabel if multilabel else _single_label)(20, seed=1)
    cal = conformal.calibrate(y, p, 0.01, multilabel)  # rank ceil(21 * 0.99) = 21 > 20

    in_set = conformal.sets(cal, np.random.default_rng(2).random((7, p.shape[1])))
    assert in_set.all()


def test_class_without_calibration_positives_gets_both_values() -> None:
    y, p = _multilabel(500, seed=3)
    y[:, 0] = 0
    cal = conformal.calibrate(y, p, alpha=0.1, multilabel=True)
    assert cal.quantiles[0][1] is None and cal.quantiles[0][0] is not None

    test = np.random.default_rng(4).random((50, 5))
    test[:, 0] = np.linspace(0, cal.quantiles[0][0], 50)  # all low enough to be called absent
    in_set = conformal.sets(cal, test)
    assert in_set[:, 0].all()  # present cannot be ruled out without calibration positives
    always = conformal.sets(cal, np.ones((3, 5)))
    assert always[:, 0, 1].all()


def test_perfect_model_gives_singletons() -> None:
    y = np.arange(30) % 3  # rank ceil(31 * 0.9) = 28: a quantile from the scores
    single = conformal.calibrate(y, np.eye(3)[y], alpha=0.1, multilabel=False)
    result = conformal.coverage(single, y, np.eye(3)[y], n_bootstrap=50, seed=0)
    assert result["coverage"] == 1.0
    assert result["mean_set_size"] == 1.0 and result["singleton_share"] == 1.0

    yy = np.eye(3, dtype=np.int8)[y]
    multi = conformal.calibrate(yy, yy.astype(float), alpha=0.1, multilabel=True)
    result = conformal.coverage(multi, yy, yy.astype(float), n_bootstrap=50, seed=0)
    assert result["coverage"] == 1.0
    assert result["mean_set_size"] == 1.0 and result["singleton_share"] == 1.0
    assert result["coverage_ci"] == [1.0, 1.0]


def test_coverage_summary_by_hand() -> None:
    y = np.array([0, 1, 0, 1])
    p = np.array([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2], [0.3, 0.7]])
    cal = conformal.calibrate(y, p, alpha=0.4, multilabel=False)  # q = 0.3
    test_y = np.array([0, 0, 0])  # class 1 has no test records
    test_p = np.array([[0.75, 0.25], [0.4, 0.6], [0.25, 0.75]])  # sets {0}, {1} (empty), {1}
    result = conformal.coverage(cal, test_y, test_p, n_bootstrap=100, seed=0)

    assert result["coverage"] == pytest.approx(1 / 3)
    assert result["mean_set_size"] == pytest.approx(1.0)
    assert result["singleton_share"] == pytest.approx(1.0)
    assert result["per_class"][0]["coverage"] == pytest.approx(1 / 3)
    assert result["per_class"][1] == {"coverage": None, "mean_set_size": None, "n_records": 0}
    json.dumps(result)


def test_patient_bootstrap_keeps_records_together() -> None:
    y, p = _single_label(2000, seed=5)
    cal = conformal.calibrate(y[:1000], p[:1000], alpha=0.2, multilabel=False)
    y_test, p_test = y[1000:], p[1000:]
    # Ten records per patient, each patient's alike: the records are not independent.
    y_test, p_test = np.repeat(y_test[:100], 10), np.repeat(p_test[:100], 10, axis=0)
    patients = np.repeat(np.arange(100), 10)
    by_record = conformal.coverage(cal, y_test, p_test, n_bootstrap=300, seed=0)
    by_patient = conformal.coverage(cal, y_test, p_test, n_bootstrap=300, seed=0, groups=patients)

    assert by_patient["coverage"] == by_record["coverage"]
    assert by_patient["n_groups"] == 100
    lo, hi = by_patient["coverage_ci"]
    assert lo <= by_patient["coverage"] <= hi
    width = np.diff(by_patient["coverage_ci"])[0]
    assert width > 2 * np.diff(by_record["coverage_ci"])[0]


@pytest.mark.parametrize("multilabel", [False, True])
def test_round_trip_through_json(multilabel: bool) -> None:
    y, p = (_multilabel if multilabel else _single_label)(300, seed=6)
    if multilabel:
        y[:, 0] = 0
    cal = conformal.calibrate(y, p, 0.1, multilabel)
    back = conformal.Conformal.from_dict(json.loads(json.dumps(cal.to_dict())))

    assert back == cal
    np.testing.assert_array_equal(conformal.sets(back, p), conformal.sets(cal, p))


@pytest.mark.parametrize(
    ("y", "p", "alpha", "multilabel", "match"),
    [
        (np.array([0, 1]), np.full((2, 2), 0.5), 0.0, False, "alpha"),
        (np.array([0, 1]), np.full((2, 2), 0.5), 1.0, False, "alpha"),
        (np.array([0, 1, 1]), np.full((2, 2), 0.5), 0.1, False, r"\(2,\)"),
        (np.array([0, 2]), np.full((2, 2), 0.5), 0.1, False, "class ids"),
        (np.zeros((2, 3)), np.full((2, 2), 0.5), 0.1, True, "shape"),
        (np.array([0, 1]), np.full((2, 2), 1.5), 0.1, False, "probabilities"),
    ],
)
def test_invalid_inputs_are_refused(y, p, alpha, multilabel, match) -> None:
    with pytest.raises(ValueError, match=match):
        conformal.calibrate(y, p, alpha, multilabel)


def test_sets_refuse_a_different_number_of_classes() -> None:
    y, p = _multilabel(100, seed=7)
    cal = conformal.calibrate(y, p, alpha=0.1, multilabel=True)
    with pytest.raises(ValueError, match="classes"):
        conformal.sets(cal, p[:, :3])
