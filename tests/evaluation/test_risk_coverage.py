"""Selective prediction: risk-coverage curves, their area and the error at a kept share."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgpipe.evaluation import metrics, risk_coverage


def test_curve_and_aurc_by_hand() -> None:
    errors = np.array([1.0, 0.0, 1.0, 0.0])
    confidence = np.array([0.8, 0.9, 0.6, 0.7])  # most confident first: 0, 1, 0, 1
    coverage, risk = risk_coverage.curve(errors, confidence)

    np.testing.assert_allclose(coverage, [0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(risk, [0.0, 0.5, 1 / 3, 0.5])
    assert risk_coverage.aurc(coverage, risk) == pytest.approx((0 + 0.5 + 1 / 3 + 0.5) / 4)


def test_perfect_ranking_has_no_risk_until_the_errors_begin() -> None:
    rng = np.random.default_rng(0)
    errors = (rng.random(1000) < 0.2).astype(float)
    confidence = rng.random(1000) - errors  # every error below every correct record
    coverage, risk = risk_coverage.curve(errors, confidence)

    correct = 1 - errors.mean()
    assert np.all(risk[coverage <= correct + 1e-12] == 0)
    assert np.all(risk[coverage > correct + 1e-12] > 0)
    assert risk[-1] == pytest.approx(errors.mean())


def test_ties_enter_together_whatever_the_order() -> None:
    errors = np.array([1.0, 0.0, 0.0, 1.0, 0.5])
    confidence = np.array([0.5, 0.5, 0.9, 0.2, 0.5])
    coverage, risk = risk_coverage.curve(errors, confidence)
    np.testing.assert_allclose(coverage, [0.2, 0.8, 1.0])
    np.testing.assert_allclose(risk, [0.0, 1.5 / 4, 2.5 / 5])

    rng = np.random.default_rng(1)
    errors = rng.random(300).round(1)
    confidence = rng.integers(0, 7, 300) / 7
    reference = risk_coverage.curve(errors, confidence)
    for _ in range(5):
        order = rng.permutation(300)
        shuffled = risk_coverage.curve(errors[order], confidence[order])
        np.testing.assert_array_equal(shuffled[0], reference[0])
        np.testing.assert_array_equal(shuffled[1], reference[1])
    assert len(reference[0]) == 7


def test_random_confidence_gives_about_the_error_rate() -> None:
    rng = np.random.default_rng(2)
    errors = (rng.random(20000) < 0.3).astype(float)
    result = risk_coverage.score(errors, rng.random(20000), n_bootstrap=100, seed=0)

    assert result["aurc"] == pytest.approx(errors.mean(), abs=0.02)
    assert result["risk_at"][1.0] == pytest.approx(errors.mean())


def test_informative_confidence_lowers_risk() -> None:
    rng = np.random.default_rng(3)
    confidence = rng.random(5000)
    errors = (rng.random(5000) > confidence).astype(float)  # less confident, more often wrong
    result = risk_coverage.score(errors, confidence, n_bootstrap=100, seed=0)

    risks = [result["risk_at"][share] for share in (0.5, 0.8, 0.9, 1.0)]
    assert risks == sorted(risks)
    assert result["aurc"] < errors.mean() - 0.1


def test_group_bootstrap_interval_contains_the_estimate() -> None:
    rng = np.random.default_rng(4)
    patients = np.repeat(np.arange(60), 5)
    confidence = rng.random(300)
    errors = (rng.random(300) > confidence).astype(float)
    result = risk_coverage.score(errors, confidence, n_bootstrap=300, seed=0, groups=patients)

    lo, hi = result["aurc_ci"]
    assert lo <= result["aurc"] <= hi
    assert result["n_groups"] == 60 and result["n_records"] == 300


def test_bootstrap_scores_the_resampled_records() -> None:
    rng = np.random.default_rng(5)
    patients = rng.integers(0, 30, 120)
    confidence = rng.integers(0, 20, 120) / 20  # with ties
    errors = rng.random(120).round(1)
    result = risk_coverage.score(errors, confidence, n_bootstrap=1, seed=7, groups=patients)

    counts, group = metrics.resample_groups(patients, 120, 1, seed=7)
    copies = np.repeat(np.arange(120), counts[0, group])
    expected = risk_coverage.aurc(*risk_coverage.curve(errors[copies], confidence[copies]))
    assert result["aurc_ci"] == pytest.approx([expected, expected])


def test_score_thins_the_curve_and_is_json_ready() -> None:
    rng = np.random.default_rng(6)
    errors = (rng.random(5000) < 0.1).astype(float)
    result = risk_coverage.score(errors, rng.random(5000), n_bootstrap=50, seed=0)

    assert len(result["coverage"]) == len(result["risk"]) <= 101
    assert result["coverage"][-1] == 1.0 and result["coverage"][0] <= 0.01
    assert np.all(np.diff(result["coverage"]) > 0)
    assert np.all(np.diff(result["coverage"]) < 0.02)
    json.dumps(result)


def test_risk_at_keeps_whole_blocks_of_ties() -> None:
    errors = np.array([0.0, 1.0, 1.0, 0.0])
    confidence = np.array([0.9, 0.5, 0.5, 0.1])
    result = risk_coverage.score(errors, confidence, n_bootstrap=10, seed=0, at=(0.25, 0.5, 1.0))
    assert result["risk_at"] == pytest.approx({0.25: 0.0, 0.5: 2 / 3, 1.0: 0.5})


def test_single_label_errors_and_confidence() -> None:
    y = np.array([0, 1, 2])
    p = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.2, 0.2, 0.6]])
    errors, confidence = risk_coverage.single_label(y, p)
    np.testing.assert_array_equal(errors, [0.0, 1.0, 0.0])
    np.testing.assert_allclose(confidence, [0.6, 0.5, 0.6])

    errors, confidence = risk_coverage.single_label(y, p, factors=np.array([0.4, 1.0, 1.0]))
    np.testing.assert_array_equal(errors, [1.0, 0.0, 0.0])  # record 0 now called class 1
    np.testing.assert_allclose(confidence, [0.3, 0.4, 0.6])


def test_multilabel_errors_and_confidence() -> None:
    y = np.array([[1, 0, 0], [0, 1, 1]])
    p = np.array([[0.9, 0.2, 0.45], [0.3, 0.8, 0.1]])
    thresholds = np.array([0.5, 0.5, 0.4])
    errors, confidence = risk_coverage.multilabel(y, p, thresholds)
    np.testing.assert_allclose(errors, [1 / 3, 1 / 3])
    np.testing.assert_allclose(confidence, [0.05, 0.2])


def test_per_class_miss_among_kept_records() -> None:
    y = np.array([[1, 0], [1, 0], [1, 1], [0, 0]])
    p = np.array([[0.9, 0.1], [0.2, 0.1], [0.8, 0.3], [0.1, 0.1]])
    confidence = np.array([0.9, 0.8, 0.3, 0.1])
    miss = risk_coverage.per_class_miss(y, p, np.array([0.5, 0.5]), confidence, (0.25, 0.5, 1.0))

    assert miss[0] == pytest.approx([0.0, 0.5, 1 / 3])
    assert miss[1] == [None, None, 1.0]


@pytest.mark.parametrize(
    ("errors", "confidence", "match"),
    [
        (np.zeros(3), np.zeros(4), "same"),
        (np.zeros(0), np.zeros(0), "non-empty"),
        (np.zeros(2), np.array([0.1, np.nan]), "finite"),
    ],
)
def test_invalid_inputs_are_refused(errors, confidence, match) -> None:
    with pytest.raises(ValueError, match=match):
        risk_coverage.curve(errors, confidence)


def test_invalid_coverage_is_refused() -> None:
    with pytest.raises(ValueError, match="increase"):
        risk_coverage.aurc(np.array([0.5, 0.5, 1.0]), np.zeros(3))
    with pytest.raises(ValueError, match="coverage"):
        risk_coverage.score(np.zeros(4), np.ones(4), n_bootstrap=5, seed=0, at=(0.0,))
