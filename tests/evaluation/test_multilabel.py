"""Evaluation: scores with bootstrap intervals, the label-prior baseline, plots, the report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, precision_recall_curve, roc_auc_score, roc_curve

from ecgpipe.evaluation import metrics, multilabel
from ecgpipe.evaluation import plots as evaluation_plots

CLASSES = ["CD", "LAO/LAE", "ST|T", "RARE"]
N = 240


def _problem(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """CD and LAO/LAE informative, ST|T random, RARE without positives."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 4)) < [0.3, 0.2, 0.4, 0.0]).astype(np.int8)
    signal = np.array([1.0, 0.5, 0.0, 0.0])
    p = 1 / (1 + np.exp(-(2 * signal * (2 * y - 1) + rng.normal(0, 1, (n, 4)))))
    return y, p


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, p = _problem(N)
    return y, p, metrics.tune_thresholds(y, p)


@pytest.fixture(scope="module")
def scored(problem) -> dict:
    y, p, thresholds = problem
    return multilabel.score(y, p, thresholds, CLASSES, n_bootstrap=200, seed=0)


def _intervals(result: dict):
    """Every (name, estimate, [lo, hi]) pair in a score result."""
    for key in ("macro_auroc", "micro_auroc", "macro_auprc"):
        yield key, result[key], result[f"{key}_ci"]
    for cls, m in result["per_class"].items():
        for key in ("auroc", "auprc", "precision", "recall", "f1", "specificity"):
            yield f"{cls}.{key}", m[key], m[f"{key}_ci"]


def test_score_macro_between_classes_and_intervals_hold_estimates(scored: dict) -> None:
    per_class = scored["per_class"]
    assert list(per_class) == CLASSES
    aurocs = [per_class[c]["auroc"] for c in CLASSES[:3]]
    assert aurocs[0] > aurocs[1] > 0.6 and abs(aurocs[2] - 0.5) < 0.12
    assert min(aurocs) < scored["macro_auroc"] < max(aurocs)
    assert scored["macro_auroc"] == pytest.approx(np.mean(aurocs))
    assert scored["n_records"] == N
    assert 0 <= scored["ece"] <= 1
    for name, estimate, (lo, hi) in _intervals(scored):
        if estimate is None:
            continue
        assert lo <= hi, name
        assert lo - 1e-12 <= estimate <= hi + 1e-12, name


def test_score_class_without_positives_is_none_and_json_ready(scored: dict) -> None:
    rare = scored["per_class"]["RARE"]
    assert rare["support"] == 0
    assert rare["auroc"] is None and rare["auroc_ci"] == [None, None]
    assert rare["auprc"] is None and rare["recall"] is None
    # absent, not zero: no precision, F1 or specificity either, and no threshold was tuned
    assert all(rare[k] is None for k in ("precision", "f1", "specificity", "threshold"))
    text = json.dumps(scored, allow_nan=False)
    assert json.loads(text) == scored


def test_score_intervals_match_the_scikit_learn_bootstrap(problem) -> None:
    """The vectorised bootstrap reproduces ``metrics.bootstrap_ci`` (scikit-learn) exactly."""
    y, p, thresholds = problem
    result = multilabel.score(y, p, thresholds, CLASSES, n_bootstrap=40, seed=3)
    micro = metrics.bootstrap_ci(y, p, metrics.micro_auroc, 40, seed=3)
    np.testing.assert_allclose(result["micro_auroc_ci"], micro)
    auroc_lao = metrics.bootstrap_ci(y, p, lambda a, b: metrics.auroc(a, b)[1], 40, seed=3)
    np.testing.assert_allclose(result["per_class"]["LAO/LAE"]["auroc_ci"], auroc_lao)
    macro = metrics.bootstrap_ci(y, p, lambda a, b: np.nanmean(metrics.auprc(a, b)), 40, seed=3)
    np.testing.assert_allclose(result["macro_auprc_ci"], macro)
    f1 = metrics.bootstrap_ci(
        y, p, lambda a, b: metrics.at_thresholds(a, b, thresholds)["f1"][0], 40, seed=3
    )
    np.testing.assert_allclose(result["per_class"]["CD"]["f1_ci"], f1)


def test_intervals_resample_patients_with_all_their_records() -> None:
    """Records of one patient are not independent: a resample draws patients (groups) and
    takes every record of each, as a hand-written patient bootstrap with scikit-learn does."""
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(12).astype(str), 20)
    skill = rng.uniform(-0.5, 2.0, 12)[np.repeat(np.arange(12), 20)]  # some patients are hard
    y = (rng.random((len(groups), 4)) < [0.3, 0.2, 0.4, 0.0]).astype(np.int8)
    p = 1 / (1 + np.exp(-(skill[:, None] * (2 * y - 1) + rng.normal(0, 1, y.shape))))
    thresholds = metrics.tune_thresholds(y, p)
    kw = {"n_bootstrap": 200, "seed": 0}
    by_patient = multilabel.score(y, p, thresholds, CLASSES, groups=groups, **kw)
    ids = np.unique(groups)
    aurocs, f1s, macro = [], [], []
    for draw in metrics.resample_indices(len(ids), 200, 0):
        idx = np.concatenate([np.flatnonzero(groups == ids[g]) for g in draw])
        aurocs.append(roc_auc_score(y[idx, 0], p[idx, 0]))
        f1s.append(f1_score(y[idx, 1], p[idx, 1] >= thresholds[1], zero_division=0))
        macro.append(np.mean([roc_auc_score(y[idx, k], p[idx, k]) for k in range(3)]))
    cd, lao = by_patient["per_class"]["CD"], by_patient["per_class"]["LAO/LAE"]
    assert cd["auroc_ci"] == pytest.approx(list(np.percentile(aurocs, [2.5, 97.5])))
    assert lao["f1_ci"] == pytest.approx(list(np.percentile(f1s, [2.5, 97.5])))
    assert by_patient["macro_auroc_ci"] == pytest.approx(list(np.percentile(macro, [2.5, 97.5])))
    assert by_patient["n_groups"] == 12
    by_record = multilabel.score(y, p, thresholds, CLASSES, **kw)
    width = np.diff(by_patient["macro_auroc_ci"])[0]
    assert width > 1.5 * np.diff(by_record["macro_auroc_ci"])[0]


def test_score_is_deterministic_from_seed(problem, scored: dict) -> None:
    y, p, thresholds = problem
    again = multilabel.score(y, p, thresholds, CLASSES, n_bootstrap=200, seed=0)
    other = multilabel.score(y, p, thresholds, CLASSES, n_bootstrap=200, seed=1)
    assert again == scored
    assert other["macro_auroc_ci"] != scored["macro_auroc_ci"]


def test_score_rejects_mismatched_inputs(problem) -> None:
    y, p, thresholds = problem
    with pytest.raises(ValueError, match="same"):
        multilabel.score(y, p[:, :3], thresholds, CLASSES, n_bootstrap=10, seed=0)
    with pytest.raises(ValueError, match="class names"):
        multilabel.score(y, p, thresholds, CLASSES[:3], n_bootstrap=10, seed=0)


def test_label_prior_scores_training_prevalence_with_auroc_one_half(problem) -> None:
    y, _, _ = problem
    y_train, _ = _problem(500, seed=1)
    prior = multilabel.label_prior(y_train, len(y))
    assert prior.shape == y.shape
    np.testing.assert_allclose(prior[7], y_train.mean(axis=0))
    auroc = metrics.auroc(y, prior)
    assert auroc[:3].tolist() == [0.5, 0.5, 0.5] and np.isnan(auroc[3])
    result = multilabel.score(y, prior, np.full(4, 0.5), CLASSES, n_bootstrap=20, seed=0)
    assert result["macro_auroc"] == 0.5 and result["macro_auroc_ci"] == [0.5, 0.5]


def test_file_name_replaces_slashes() -> None:
    assert evaluation_plots.file_name("LAO/LAE") == "LAO_LAE"
    assert evaluation_plots.file_name("NORM") == "NORM"


def _rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="") as fh:
        header, *rows = csv.reader(fh)
    return header, rows


@pytest.fixture(scope="module")
def plotted(problem, tmp_path_factory) -> tuple[Path, Path]:
    y, p, thresholds = problem
    root = tmp_path_factory.mktemp("eval")
    evaluation_plots.write_plots(y, p, thresholds, CLASSES, root / "plots", root / "figures")
    return root / "plots", root / "figures"


def test_write_plots_writes_every_file(plotted) -> None:
    plots, figures = plotted
    names = ["CD", "LAO_LAE", "ST|T"]
    expected = {f"{kind}/{name}.csv" for kind in ("roc", "pr") for name in names}
    expected |= {f"confusion/{name}.csv" for name in [*names, "RARE"]}  # no curves for RARE
    expected.add("calibration.csv")
    written = {str(f.relative_to(plots)) for f in plots.rglob("*") if f.is_file()}
    assert written == expected
    pngs = sorted(f.name for f in figures.iterdir())
    assert pngs == ["calibration.png", "confusion.png", "pr.png", "roc.png"]
    for png in figures.iterdir():
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert len(data) > 10_000, png.name


def test_write_plots_csvs_have_the_right_columns_and_rows(problem, plotted) -> None:
    y, p, thresholds = problem
    plots, _ = plotted
    header, rows = _rows(plots / "roc" / "LAO_LAE.csv")
    fpr, _, _ = roc_curve(y[:, 1], p[:, 1])
    assert header == ["fpr", "tpr", "threshold"] and len(rows) == len(fpr)
    assert rows[0][2] == "inf" and float(rows[-1][1]) == 1.0
    header, rows = _rows(plots / "pr" / "LAO_LAE.csv")
    _, _, pr_thresholds = precision_recall_curve(y[:, 1], p[:, 1])
    assert header == ["recall", "precision", "threshold"] and len(rows) == len(pr_thresholds)
    assert all(row[2] for row in rows)
    at = metrics.at_thresholds(y, p, thresholds)
    for k, cls in enumerate(CLASSES):
        header, rows = _rows(plots / "confusion" / f"{evaluation_plots.file_name(cls)}.csv")
        assert header == ["actual", "predicted"] and len(rows) == N
        assert {v for row in rows for v in row} <= {cls, f"not {cls}"}
        assert rows.count([cls, cls]) == at["tp"][k]
        assert rows.count([f"not {cls}", cls]) == at["fp"][k]
    header, rows = _rows(plots / "calibration.csv")
    assert header == ["bin_lower", "bin_upper", "mean_predicted", "fraction_positive", "count"]
    assert len(rows) == 10
    assert sum(int(row[4]) for row in rows) == y.size
    assert float(rows[0][0]) == 0 and float(rows[-1][1]) == 1


def test_write_plots_rejects_colliding_file_names(problem, tmp_path: Path) -> None:
    y, p, thresholds = problem
    with pytest.raises(ValueError, match="collide"):
        evaluation_plots.write_plots(
            y, p, thresholds, ["A/B", "A_B", "C", "D"], tmp_path / "p", tmp_path / "f"
        )


def test_markdown_report(problem, scored: dict) -> None:
    y, _, _ = problem
    prior = multilabel.label_prior(y, len(y))
    baseline = multilabel.score(y, prior, np.full(4, 0.5), CLASSES, n_bootstrap=20, seed=0)
    text = multilabel.markdown(scored, baseline, CLASSES, "cnn1d on the test split")
    assert text.startswith("# cnn1d on the test split\n")
    lo, hi = scored["macro_auroc_ci"]
    assert f"| Macro AUROC | {scored['macro_auroc']:.3f} [{lo:.3f}, {hi:.3f}] | 0.500" in text
    assert f"{scored['micro_auroc']:.3f}" in text
    assert f"{scored['macro_auprc']:.3f}" in text
    assert f"{scored['ece']:.3f}" in text
    for cls in ["CD", "LAO/LAE", "RARE"]:
        assert f"| {cls} |" in text
    assert "| ST\\|T |" in text  # pipes escaped
    assert "tuned per class on the validation split" in text
    assert "without positives in the test split" in text and text.rstrip().endswith("RARE.")
    assert "| RARE | 0 | absent | absent | none | absent |" in text
    assert "No validation record has RARE: no threshold" in text
    table = [line for line in text.splitlines() if line.startswith("| ")]
    per_class = table[5:]  # after the headline table's header and 4 rows
    assert len(per_class) == 1 + len(CLASSES)
    assert {line.replace("\\|", "").count("|") for line in per_class} == {10}
