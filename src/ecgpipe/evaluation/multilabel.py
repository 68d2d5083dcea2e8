"""Multilabel test metrics (PTB-XL style) with bootstrap intervals, and their Markdown report.

Inputs are the test split's ``y`` (N, C) 0/1 targets, ``p`` (N, C) probabilities, the per-class
``thresholds`` tuned on validation and the C class names. A class without both positives and
negatives has no AUROC/AUPRC: it is ``None`` in the results and left out of macro averages.

Intervals are 95% percentile bootstraps over patients (``groups``; by default each record its
own): a resample draws patients with replacement, each with all its records, since one patient's
records are not independent. Every resample is drawn once and reused for every statistic, and
resamples where a statistic is undefined are left out of its interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgpipe.evaluation import metrics
from ecgpipe.evaluation.formats import ci, f3, macro, md, num, with_ci

ECE_BINS = 10
RATES = ("precision", "recall", "f1", "specificity")
ABSENT = " | ".join(["absent"] * len(RATES))


def check(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray, classes: Sequence[str]) -> None:
    if y.ndim != 2 or y.shape != p.shape or len(y) == 0:
        raise ValueError(f"y and p must be the same non-empty (N, C); got {y.shape}, {p.shape}")
    per_row = thresholds.shape == y.shape
    if not y.shape[1] == len(classes) or not (per_row or thresholds.shape == (len(classes),)):
        raise ValueError(
            f"{y.shape[1]} columns, thresholds of shape {thresholds.shape}, "
            f"{len(classes)} class names"
        )


def score(
    y: np.ndarray,
    p: np.ndarray,
    thresholds: np.ndarray,
    classes: Sequence[str],
    *,
    n_bootstrap: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Headline and per-class metrics with 95% bootstrap intervals over ``groups`` (patients;
    by default each record its own), as JSON-ready values. ``thresholds``: (C,), or (N, C) a
    row each (a cross-validation's records, each at its fold's thresholds)."""
    y, p, thresholds = np.asarray(y).astype(np.int8), np.asarray(p, float), np.asarray(thresholds)
    check(y, p, thresholds, classes)
    n, c = y.shape

    counts, group = metrics.resample_groups(groups, n, n_bootstrap, seed)
    n_groups = counts.shape[1]
    areas = [metrics.resampled_auroc_auprc(y[:, k], p[:, k], counts, group) for k in range(c)]
    boot_auroc, boot_auprc = (np.stack(a, axis=1) for a in zip(*areas, strict=True))  # (B, C)
    pooled = np.repeat(group, c)  # the patient of each (record, class) pair
    boot_micro, _ = metrics.resampled_auroc_auprc(y.ravel(), p.ravel(), counts, pooled)

    pred = p >= thresholds
    w = counts.astype(float)

    def total(hit: np.ndarray) -> np.ndarray:
        return w @ metrics.per_group(hit.astype(float), group, n_groups)

    boot_rates = metrics.rates(
        tp=total(pred & (y == 1)),
        fp=total(pred & (y == 0)),
        fn=total(~pred & (y == 1)),
        tn=total(~pred & (y == 0)),
    )

    auroc, auprc = metrics.auroc(y, p), metrics.auprc(y, p)
    at = metrics.at_thresholds(y, p, thresholds)
    auroc_lo, auroc_hi = metrics.percentile_ci(boot_auroc)
    auprc_lo, auprc_hi = metrics.percentile_ci(boot_auprc)
    rate_ci = {name: metrics.percentile_ci(boot_rates[name]) for name in RATES}

    per_class = {}
    for k, name in enumerate(classes):
        entry: dict[str, Any] = {
            "support": int(y[:, k].sum()),
            "auroc": num(auroc[k]),
            "auroc_ci": ci(auroc_lo[k], auroc_hi[k]),
            "auprc": num(auprc[k]),
            "auprc_ci": ci(auprc_lo[k], auprc_hi[k]),
            "threshold": num(float(thresholds[k])) if thresholds.ndim == 1 else None,
        }
        present = entry["support"] > 0  # a class absent here has no figure, not a zero
        for rate in RATES:
            entry[rate] = num(at[rate][k]) if present else None
            entry[f"{rate}_ci"] = (
                ci(rate_ci[rate][0][k], rate_ci[rate][1][k]) if present else [None, None]
            )
        per_class[name] = entry

    return {
        "macro_auroc": num(macro(auroc)),
        "macro_auroc_ci": ci(*metrics.percentile_ci(macro(boot_auroc))),
        "micro_auroc": num(metrics.micro_auroc(y, p)),
        "micro_auroc_ci": ci(*metrics.percentile_ci(boot_micro)),
        "macro_auprc": num(macro(auprc)),
        "macro_auprc_ci": ci(*metrics.percentile_ci(macro(boot_auprc))),
        "ece": metrics.calibration(y, p, ECE_BINS)["ece"],
        "n_records": n,
        "n_groups": n_groups,
        "per_class": per_class,
    }


def label_prior(y_train: np.ndarray, n: int) -> np.ndarray:
    """The label-prior baseline's (n, C) scores: every record gets the training prevalences.

    Constant scores tie every positive with every negative, so each class's AUROC is 0.5.
    """
    if y_train.ndim != 2:
        raise ValueError(f"y_train must be (N, C) indicators, got shape {y_train.shape}")
    return np.tile(y_train.mean(axis=0, dtype=float), (n, 1))


def markdown(
    test: dict, baseline: dict, classes: list[str], title: str, scope: str = "Test split"
) -> str:
    """A Markdown report of :func:`score` results: model vs label-prior baseline, per class."""
    lines = [
        f"# {title}",
        "",
        f"{scope}: {test['n_records']} records, {len(classes)} classes. "
        "Brackets hold 95% percentile-bootstrap intervals over "
        + (
            "records."
            if test["n_groups"] == test["n_records"]
            else f"their {test['n_groups']} patients (all the records of each)."
        ),
        "",
        "| Metric | Model | Label prior |",
        "|---|---|---|",
    ]
    for label, key in (
        ("Macro AUROC", "macro_auroc"),
        ("Micro AUROC", "micro_auroc"),
        ("Macro AUPRC", "macro_auprc"),
    ):
        model = with_ci(test[key], test[f"{key}_ci"])
        prior = with_ci(baseline[key], baseline[f"{key}_ci"])
        lines.append(f"| {label} | {model} | {prior} |")
    lines += [
        f"| ECE ({ECE_BINS} bins, all classes pooled) "
        f"| {f3(test['ece'])} | {f3(baseline['ece'])} |",
        "",
        "## Per class",
        "",
        "| Class | Support | AUROC [95% CI] | AUPRC | Threshold | Precision | Recall | F1 "
        "| Specificity |",
        "|---|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    for cls in classes:
        m = test["per_class"][cls]
        threshold = "none" if m["threshold"] is None else f3(m["threshold"])
        if not m["support"]:
            lines.append(f"| {md(cls)} | 0 | absent | absent | {threshold} | {ABSENT} |")
            continue
        cells = [
            md(cls),
            str(m["support"]),
            with_ci(m["auroc"], m["auroc_ci"]),
            f3(m["auprc"]),
            threshold,
            *(f3(m[rate]) for rate in RATES),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Thresholds were tuned per class on the validation split (maximising F1) and applied "
        "unchanged to the test split; precision, recall, F1 and specificity are at those "
        "thresholds.",
    ]
    if untuned := [cls for cls in classes if test["per_class"][cls].get("threshold", 0) is None]:
        lines += [
            "",
            f"No validation record has {', '.join(md(c) for c in untuned)}: no threshold could "
            "be tuned, so the model never calls them (their scores are still given).",
        ]
    n = test["n_records"]
    for what, support in (("positives", 0), ("negatives", n)):
        missing = [cls for cls in classes if test["per_class"][cls]["support"] == support]
        if missing:
            lines += [
                "",
                f"Classes without {what} in the test split (AUROC and AUPRC undefined, left out "
                f"of the macro averages{'; absent: no figure at all' if not support else ''}): "
                f"{', '.join(md(cls) for cls in missing)}.",
            ]
    return "\n".join(lines) + "\n"
