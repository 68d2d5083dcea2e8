"""Single-label test metrics (CinC 2017 style) with bootstrap intervals, and their report.

Inputs are the test split's ``y`` (N,) class ids, ``p`` (N, C) probabilities and the class
factors of the decision rule chosen in training (``None``: the plain argmax; see
:func:`ecgpipe.evaluation.metrics.prior_correction`). The predicted class is the argmax of
``p`` times the factors. AUROC and AUPRC are one-vs-rest per class; a class without test records
has none.

Intervals are 95% percentile bootstraps over patients (``groups``; by default each row its own):
a resample draws patients with replacement and takes all their rows, since rows of one patient
(the beats of a record) are not independent. Every resample is drawn once and reused for every
statistic (its confusion matrix is the resample's patient counts times each patient's cells).

``clinical`` names the per-class rates as the AAMI EC57 convention does: ``sensitivity`` for
recall and ``ppv`` (positive predictivity) for precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgpipe.evaluation import metrics
from ecgpipe.evaluation.formats import ci, f3, macro, md, num, with_ci
from ecgpipe.evaluation.multilabel import ECE_BINS

RATES = ("precision", "recall", "f1", "specificity")
CLINICAL = {"precision": "ppv", "recall": "sensitivity"}


def check(y: np.ndarray, p: np.ndarray, classes: Sequence[str]) -> None:
    if y.ndim != 1 or p.ndim != 2 or len(y) != len(p) or len(y) == 0:
        raise ValueError(f"y must be (N,) and p (N, C), non-empty; got {y.shape}, {p.shape}")
    if p.shape[1] != len(classes) or y.min() < 0 or y.max() >= len(classes):
        raise ValueError(f"{p.shape[1]} columns and class ids up to {y.max()} for {len(classes)}")


def score(
    y: np.ndarray,
    p: np.ndarray,
    factors: np.ndarray | None,
    classes: Sequence[str],
    *,
    dataset: str,
    n_bootstrap: int,
    seed: int,
    groups: np.ndarray | None = None,
    clinical: bool = False,
) -> dict[str, Any]:
    """Accuracy, macro F1, one-vs-rest AUROC/AUPRC, per-class rates (and the dataset's
    challenge score), each with a 95% bootstrap interval over ``groups``, as JSON-ready values."""
    y, p = np.asarray(y, np.int64), np.asarray(p, float)
    check(y, p, classes)
    n, c = p.shape
    classes = list(classes)
    pred = metrics.predict_classes(p, factors)
    onehot = metrics.indicator(y, c)

    counts, group = metrics.resample_groups(groups, n, n_bootstrap, seed)
    n_groups = counts.shape[1]
    cells = metrics.per_group(np.eye(c * c)[y * c + pred], group, n_groups)
    boot = metrics.confusion_rates((counts @ cells).reshape(-1, c, c))
    areas = [metrics.resampled_auroc_auprc(onehot[:, k], p[:, k], counts, group) for k in range(c)]
    boot_auroc, boot_auprc = (np.stack(a, axis=1) for a in zip(*areas, strict=True))

    cm = metrics.confusion(y, pred, c)
    point = metrics.confusion_rates(cm)
    # a class without records here (another dataset's, say) has no F1: not a zero
    absent = cm.sum(axis=1) == 0
    point["f1"][absent] = boot["f1"][:, absent] = np.nan
    auroc, auprc = metrics.auroc(onehot, p), metrics.auprc(onehot, p)
    interval = {name: metrics.percentile_ci(boot[name]) for name in RATES}
    auroc_lo, auroc_hi = metrics.percentile_ci(boot_auroc)
    auprc_lo, auprc_hi = metrics.percentile_ci(boot_auprc)

    per_class = {}
    for k, name in enumerate(classes):
        entry: dict[str, Any] = {"support": int(cm[k].sum()), "predicted": int(cm[:, k].sum())}
        for rate in RATES:  # a class absent here has no figure (its false calls: "predicted")
            key = CLINICAL.get(rate, rate) if clinical else rate
            entry[key] = None if absent[k] else num(point[rate][k])
            entry[f"{key}_ci"] = [None, None] if absent[k] else ci(*(b[k] for b in interval[rate]))
        entry |= {
            "auroc": num(auroc[k]),
            "auroc_ci": ci(auroc_lo[k], auroc_hi[k]),
            "auprc": num(auprc[k]),
            "auprc_ci": ci(auprc_lo[k], auprc_hi[k]),
        }
        per_class[name] = entry

    result: dict[str, Any] = {
        "accuracy": num(point["accuracy"]),
        "accuracy_ci": ci(*metrics.percentile_ci(boot["accuracy"])),
        "macro_f1": num(macro(point["f1"])),
        "macro_f1_ci": ci(*metrics.percentile_ci(macro(boot["f1"]))),
    }
    point_f1 = np.where(absent, np.nan, np.nan_to_num(point["f1"]))
    boot_f1 = np.where(absent, np.nan, np.nan_to_num(boot["f1"]))
    for key, value in metrics.challenge_f1(dataset, classes, point_f1).items():
        result[key] = num(float(value))
        result[f"{key}_ci"] = ci(
            *metrics.percentile_ci(metrics.challenge_f1(dataset, classes, boot_f1)[key])
        )
    return result | {
        "macro_auroc": num(macro(auroc)),
        "macro_auroc_ci": ci(*metrics.percentile_ci(macro(boot_auroc))),
        "macro_auprc": num(macro(auprc)),
        "macro_auprc_ci": ci(*metrics.percentile_ci(macro(boot_auprc))),
        "ece": metrics.calibration(onehot, p, ECE_BINS)["ece"],
        "n_records": n,
        "n_groups": n_groups,
        "confusion": {"actual_by_predicted": cm.tolist(), "classes": classes},
        "per_class": per_class,
    }


def label_prior(y_train: np.ndarray, n: int, n_classes: int) -> np.ndarray:
    """The label-prior baseline's (n, C) scores: every record gets the training class shares,
    so it always predicts the majority class, and each class's AUROC is 0.5."""
    if y_train.ndim != 1:
        raise ValueError(f"y_train must be (N,) class ids, got shape {y_train.shape}")
    shares = np.bincount(y_train, minlength=n_classes) / max(len(y_train), 1)
    return np.tile(shares, (n, 1))


HEADLINE = (
    ("Accuracy", "accuracy"),
    ("Macro F1", "macro_f1"),
    ("Macro AUROC (one-vs-rest)", "macro_auroc"),
    ("Macro AUPRC (one-vs-rest)", "macro_auprc"),
)


def markdown(
    test: dict,
    baseline: dict,
    classes: list[str],
    title: str,
    rule: str,
    *,
    unit: str = "records",
    warning: str | None = None,
    scope: str = "Test split",
) -> str:
    """A Markdown report of :func:`score` results: model vs label-prior baseline, per class,
    and the confusion matrix; ``warning`` (a leaky split, say) is its first line."""
    over = (
        "records"
        if test["n_groups"] == test["n_records"] and unit == "records"
        else f"{test['n_groups']} patients (all the {unit} of each)"
    )
    lines = [
        *([f"**{warning}**", ""] if warning else []),
        f"# {title}",
        "",
        f"{scope}: {test['n_records']} {unit}, {len(classes)} classes, one label each. "
        f"Brackets hold 95% percentile-bootstrap intervals over {over}.",
        "",
        "| Metric | Model | Label prior |",
        "|---|---|---|",
    ]
    challenge = [
        (f"{key.removesuffix('_f1')} challenge F1 ({', '.join(metrics.CHALLENGE_F1[d])})", key)
        for d in metrics.CHALLENGE_F1
        if (key := f"{d}_f1") in test
    ]
    for label, key in (*challenge, *HEADLINE):
        model = with_ci(test[key], test[f"{key}_ci"])
        prior = with_ci(baseline[key], baseline[f"{key}_ci"])
        lines.append(f"| {label} | {model} | {prior} |")
    clinical = "ppv" in test["per_class"][classes[0]]
    precision, recall = ("ppv", "sensitivity") if clinical else ("precision", "recall")
    lines += [
        f"| ECE ({ECE_BINS} bins, one-vs-rest pooled) "
        f"| {f3(test['ece'])} | {f3(baseline['ece'])} |",
        "",
        "## Per class",
        "",
        f"| Class | Support | Predicted | {precision.upper() if clinical else 'Precision'} | "
        f"{recall.capitalize()} [95% CI] | F1 [95% CI] | Specificity | AUROC |",
        "|---|--:|--:|--:|---|---|--:|--:|",
    ]
    for cls in classes:
        m = test["per_class"][cls]
        if not m["support"]:  # no figure for a class the split lacks, not a zero
            lines.append(f"| {md(cls)} | 0 | {m['predicted']} |" + " absent |" * 5)
            continue
        cells = [
            md(cls),
            str(m["support"]),
            str(m["predicted"]),
            f3(m[precision]),
            with_ci(m[recall], m[f"{recall}_ci"]),
            with_ci(m["f1"], m["f1_ci"]),
            f3(m["specificity"]),
            f3(m["auroc"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    matrix = test["confusion"]["actual_by_predicted"]
    lines += [
        "",
        "## Confusion matrix (rows: actual, columns: predicted)",
        "",
        "| | " + " | ".join(md(c) for c in classes) + " |",
        "|---|" + "--:|" * len(classes),
        *(
            f"| **{md(cls)}** | " + " | ".join(str(v) for v in row) + " |"
            for cls, row in zip(classes, matrix, strict=True)
        ),
        "",
        f"The predicted class is the {rule}, chosen in training (nothing was tuned on the test "
        "split). The label prior always predicts the most frequent training class.",
    ]
    return "\n".join(lines) + "\n"
