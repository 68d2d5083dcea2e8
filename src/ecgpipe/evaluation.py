"""Test-set evaluation: metrics with bootstrap intervals, plot data and figures, a Markdown report.

Inputs are the test split's ``y`` (N, C) 0/1 targets, ``p`` (N, C) probabilities, the per-class
``thresholds`` tuned on validation and the C class names. A class without both positives and
negatives has no AUROC/AUPRC: it is ``None`` in the results and left out of macro averages.

Intervals are 95% percentile bootstraps over records: every resample is drawn once and reused
for every statistic, and resamples where a statistic is undefined are left out of its interval.

Files written by :func:`write_plots` (``<name>`` is the class name with ``/`` replaced by ``_``,
see :func:`file_name`, so that ``LAO/LAE`` becomes ``LAO_LAE.csv``)::

    plots_dir/roc/<name>.csv         fpr,tpr,threshold      (classes with positives and negatives)
    plots_dir/pr/<name>.csv          recall,precision,threshold                     (likewise)
    plots_dir/confusion/<name>.csv   actual,predicted       one row per record: <class>, not <class>
    plots_dir/calibration.csv        bin_lower,bin_upper,mean_predicted,fraction_positive,count
    figures_dir/roc.png, pr.png, calibration.png, confusion.png

Numbers have six significant digits. The ROC files' first threshold is ``inf`` (scikit-learn's
point above every score); the PR files leave out the last point (recall 0, precision 1), which
has no threshold. The calibration file pools every (record, class) pair into 10 equal-width
bins, one row each; an empty bin has count 0 and empty mean and fraction cells.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from ecgpipe import atomic, metrics

ECE_BINS = 10
DPI = 150
RATES = ("precision", "recall", "f1", "specificity")


def _check(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray, classes: Sequence[str]) -> None:
    if y.ndim != 2 or y.shape != p.shape or len(y) == 0:
        raise ValueError(f"y and p must be the same non-empty (N, C); got {y.shape}, {p.shape}")
    if not y.shape[1] == len(thresholds) == len(classes):
        raise ValueError(
            f"{y.shape[1]} columns, {len(thresholds)} thresholds, {len(classes)} class names"
        )


def _num(x: float) -> float | None:
    """A JSON-ready float: NaN becomes ``None``."""
    return None if math.isnan(x) else float(x)


def _ci(lo: float, hi: float) -> list[float | None]:
    return [_num(lo), _num(hi)]


def _macro(values: np.ndarray) -> np.ndarray:
    """Mean over the last axis of the finite values (NaN where there is none)."""
    finite = np.isfinite(values)
    total = np.where(finite, values, 0.0).sum(axis=-1)
    n = finite.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / np.maximum(n, 1), np.nan)


def score(
    y: np.ndarray,
    p: np.ndarray,
    thresholds: np.ndarray,
    classes: Sequence[str],
    *,
    n_bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Headline and per-class metrics with 95% bootstrap intervals, as JSON-ready values."""
    y, p, thresholds = np.asarray(y).astype(np.int8), np.asarray(p, float), np.asarray(thresholds)
    _check(y, p, thresholds, classes)
    n, c = y.shape

    counts = metrics.resample_counts(metrics.resample_indices(n, n_bootstrap, seed), n)
    areas = [metrics.resampled_auroc_auprc(y[:, k], p[:, k], counts) for k in range(c)]
    boot_auroc, boot_auprc = (np.stack(a, axis=1) for a in zip(*areas, strict=True))  # (B, C)
    pooled = np.repeat(np.arange(n), c)  # the record of each (record, class) pair
    boot_micro, _ = metrics.resampled_auroc_auprc(y.ravel(), p.ravel(), counts, pooled)

    pred = p >= thresholds
    w = counts.astype(float)
    boot_rates = metrics.rates(
        tp=w @ (pred & (y == 1)),
        fp=w @ (pred & (y == 0)),
        fn=w @ (~pred & (y == 1)),
        tn=w @ (~pred & (y == 0)),
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
            "auroc": _num(auroc[k]),
            "auroc_ci": _ci(auroc_lo[k], auroc_hi[k]),
            "auprc": _num(auprc[k]),
            "auprc_ci": _ci(auprc_lo[k], auprc_hi[k]),
            "threshold": float(thresholds[k]),
        }
        for rate in RATES:
            entry[rate] = _num(at[rate][k])
            entry[f"{rate}_ci"] = _ci(rate_ci[rate][0][k], rate_ci[rate][1][k])
        per_class[name] = entry

    return {
        "macro_auroc": _num(_macro(auroc)),
        "macro_auroc_ci": _ci(*metrics.percentile_ci(_macro(boot_auroc))),
        "micro_auroc": _num(metrics.micro_auroc(y, p)),
        "micro_auroc_ci": _ci(*metrics.percentile_ci(boot_micro)),
        "macro_auprc": _num(_macro(auprc)),
        "macro_auprc_ci": _ci(*metrics.percentile_ci(_macro(boot_auprc))),
        "ece": metrics.calibration(y, p, ECE_BINS)["ece"],
        "n_records": n,
        "per_class": per_class,
    }


def label_prior(y_train: np.ndarray, n: int) -> np.ndarray:
    """The label-prior baseline's (n, C) scores: every record gets the training prevalences.

    Constant scores tie every positive with every negative, so each class's AUROC is 0.5.
    """
    if y_train.ndim != 2:
        raise ValueError(f"y_train must be (N, C) indicators, got shape {y_train.shape}")
    return np.tile(y_train.mean(axis=0, dtype=float), (n, 1))


def file_name(cls: str) -> str:
    """A class's plot file stem: ``/`` replaced by ``_`` (``LAO/LAE`` -> ``LAO_LAE``)."""
    return cls.replace("/", "_")


def _csv(header: Sequence[str], rows: Iterable[Iterable[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def _fmt(x: float) -> str:
    """Six significant digits; empty for NaN (a missing value in DVC's plots)."""
    return "" if math.isnan(x) else f"{x:.6g}"


def _fmts(values: np.ndarray) -> list[str]:
    return [_fmt(v) for v in values]


def _png(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    atomic.write_bytes(path, buf.getvalue())


def _legend(ax: Axes, n_entries: int) -> None:
    if n_entries <= 12:
        ax.legend(loc="lower right", fontsize="small")
    else:  # many classes: beside the axes, in columns of at most 25
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1),
            fontsize="x-small",
            ncol=math.ceil(n_entries / 25),
        )


def write_plots(
    y: np.ndarray,
    p: np.ndarray,
    thresholds: np.ndarray,
    classes: Sequence[str],
    plots_dir: Path,
    figures_dir: Path,
) -> None:
    """Write DVC plot data (CSV) under ``plots_dir`` and PNG figures under ``figures_dir``.

    See the module docstring for the layout. Every file is written atomically; ROC and PR files
    are skipped for a class without both positives and negatives.
    """
    y, p, thresholds = np.asarray(y).astype(np.int8), np.asarray(p, float), np.asarray(thresholds)
    _check(y, p, thresholds, classes)
    plots_dir, figures_dir = Path(plots_dir), Path(figures_dir)
    names = [file_name(cls) for cls in classes]
    if len(set(names)) < len(names):
        raise ValueError(f"class names collide as file names: {list(classes)}")
    auroc, auprc = metrics.auroc(y, p), metrics.auprc(y, p)

    roc_fig, pr_fig = Figure(figsize=(6.5, 6)), Figure(figsize=(6.5, 6))
    roc_ax, pr_ax = roc_fig.add_subplot(), pr_fig.add_subplot()
    for k, (cls, name) in enumerate(zip(classes, names, strict=True)):
        pred = np.where(p[:, k] >= thresholds[k], cls, f"not {cls}")
        actual = np.where(y[:, k] == 1, cls, f"not {cls}")
        atomic.write_text(
            plots_dir / "confusion" / f"{name}.csv",
            _csv(["actual", "predicted"], zip(actual, pred, strict=True)),
        )
        if np.isnan(auroc[k]):
            support = int(y[:, k].sum())
            why = "no positives" if support == 0 else "no negatives"
            for ax in (roc_ax, pr_ax):
                ax.plot([], [], " ", label=f"{cls}: n/a ({why})")
            continue
        fpr, tpr, roc_t = roc_curve(y[:, k], p[:, k])
        atomic.write_text(
            plots_dir / "roc" / f"{name}.csv",
            _csv(["fpr", "tpr", "threshold"], zip(*map(_fmts, (fpr, tpr, roc_t)), strict=True)),
        )
        precision, recall, pr_t = precision_recall_curve(y[:, k], p[:, k])
        atomic.write_text(
            plots_dir / "pr" / f"{name}.csv",
            _csv(
                ["recall", "precision", "threshold"],
                # the last point (recall 0, precision 1) has no threshold
                zip(*map(_fmts, (recall[:-1], precision[:-1], pr_t)), strict=True),
            ),
        )
        roc_ax.plot(fpr, tpr, label=f"{cls} (AUROC {auroc[k]:.3f})")
        pr_ax.plot(recall, precision, drawstyle="steps-post", label=f"{cls} (AUPRC {auprc[k]:.3f})")

    roc_ax.plot([0, 1], [0, 1], "--", color="grey", label="chance")
    roc_ax.set(xlabel="False positive rate (1 - specificity)", ylabel="True positive rate")
    roc_ax.set_title("ROC curves, test split")
    pr_ax.set(xlabel="Recall (sensitivity)", ylabel="Precision")
    pr_ax.set_title("Precision-recall curves, test split")
    for ax in (roc_ax, pr_ax):
        ax.set(xlim=(0, 1), ylim=(0, 1.02))
        ax.grid(alpha=0.3)
        _legend(ax, len(classes) + (ax is roc_ax))
    _png(roc_fig, figures_dir / "roc.png")
    _png(pr_fig, figures_dir / "pr.png")

    cal = metrics.calibration(y, p, ECE_BINS)
    edges = cal["bin_edges"]
    atomic.write_text(
        plots_dir / "calibration.csv",
        _csv(
            ["bin_lower", "bin_upper", "mean_predicted", "fraction_positive", "count"],
            zip(
                *map(
                    _fmts, (edges[:-1], edges[1:], cal["mean_predicted"], cal["fraction_positive"])
                ),
                cal["count"],
                strict=True,
            ),
        ),
    )
    _png(_calibration_figure(cal), figures_dir / "calibration.png")
    _png(_confusion_figure(y, p >= thresholds, classes, thresholds), figures_dir / "confusion.png")


def _calibration_figure(cal: dict) -> Figure:
    fig = Figure(figsize=(6, 7))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    edges, filled = cal["bin_edges"], cal["count"] > 0
    top.plot([0, 1], [0, 1], "--", color="grey", label="perfectly calibrated")
    top.plot(cal["mean_predicted"][filled], cal["fraction_positive"][filled], "o-", label="model")
    top.set(ylabel="Fraction positive", xlim=(0, 1), ylim=(0, 1.02))
    top.set_title(f"Reliability, all classes pooled (ECE {cal['ece']:.3f}, {ECE_BINS} bins)")
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)
    bottom.bar(edges[:-1], cal["count"], width=np.diff(edges), align="edge", edgecolor="white")
    bottom.set(xlabel="Mean predicted probability", ylabel="(record, class) pairs")
    bottom.grid(alpha=0.3)
    return fig


def _confusion_figure(
    y: np.ndarray, pred: np.ndarray, classes: Sequence[str], thresholds: np.ndarray
) -> Figure:
    cols = min(len(classes), 5)
    rows = math.ceil(len(classes) / cols)
    fig = Figure(figsize=(2.8 * cols, 2.8 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, k, cls in zip(axes, range(len(classes)), classes, strict=False):
        actual = y[:, k] == 1
        matrix = np.array(
            [
                [(~actual & ~pred[:, k]).sum(), (~actual & pred[:, k]).sum()],
                [(actual & ~pred[:, k]).sum(), (actual & pred[:, k]).sum()],
            ]
        )
        ax.imshow(matrix, cmap="Blues", vmin=0, vmax=max(matrix.max(), 1))
        for (i, j), count in np.ndenumerate(matrix):
            dark = count > matrix.max() / 2
            ax.text(j, i, str(count), ha="center", va="center", color="white" if dark else "black")
        ticks = [f"not {cls}", cls]
        ax.set_xticks([0, 1], ticks, fontsize="small")
        ax.set_yticks([0, 1], ticks, fontsize="small", rotation=90, va="center")
        ax.set(xlabel="Predicted", ylabel="Actual")
        ax.set_title(f"{cls} (threshold {thresholds[k]:.3f})", fontsize="medium")
    for ax in axes[len(classes) :]:
        ax.set_axis_off()
    fig.suptitle("Confusion matrices at the validation-tuned thresholds, test split")
    return fig


def _md(value: Any) -> str:
    """A table cell: pipes escaped so that the row keeps its columns."""
    return str(value).replace("|", "\\|")


def _f3(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _with_ci(x: float | None, ci: Sequence[float | None]) -> str:
    if x is None:
        return "n/a"
    lo, hi = ci
    return _f3(x) if lo is None or hi is None else f"{x:.3f} [{lo:.3f}, {hi:.3f}]"


def markdown(test: dict, baseline: dict, classes: list[str], title: str) -> str:
    """A Markdown report of :func:`score` results: model vs label-prior baseline, per class."""
    lines = [
        f"# {title}",
        "",
        f"Test split: {test['n_records']} records, {len(classes)} classes. "
        "Brackets hold 95% percentile-bootstrap intervals over records.",
        "",
        "| Metric | Model | Label prior |",
        "|---|---|---|",
    ]
    for label, key in (
        ("Macro AUROC", "macro_auroc"),
        ("Micro AUROC", "micro_auroc"),
        ("Macro AUPRC", "macro_auprc"),
    ):
        model = _with_ci(test[key], test[f"{key}_ci"])
        prior = _with_ci(baseline[key], baseline[f"{key}_ci"])
        lines.append(f"| {label} | {model} | {prior} |")
    lines += [
        f"| ECE ({ECE_BINS} bins, all classes pooled) "
        f"| {_f3(test['ece'])} | {_f3(baseline['ece'])} |",
        "",
        "## Per class",
        "",
        "| Class | Support | AUROC [95% CI] | AUPRC | Threshold | Precision | Recall | F1 "
        "| Specificity |",
        "|---|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    for cls in classes:
        m = test["per_class"][cls]
        cells = [
            _md(cls),
            str(m["support"]),
            _with_ci(m["auroc"], m["auroc_ci"]),
            _f3(m["auprc"]),
            _f3(m["threshold"]),
            *(_f3(m[rate]) for rate in RATES),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "Thresholds were tuned per class on the validation split (maximising F1) and applied "
        "unchanged to the test split; precision, recall, F1 and specificity are at those "
        "thresholds.",
    ]
    n = test["n_records"]
    for what, support in (("positives", 0), ("negatives", n)):
        missing = [cls for cls in classes if test["per_class"][cls]["support"] == support]
        if missing:
            lines += [
                "",
                f"Classes without {what} in the test split (AUROC and AUPRC undefined, left out "
                f"of the macro averages): {', '.join(_md(cls) for cls in missing)}.",
            ]
    return "\n".join(lines) + "\n"
