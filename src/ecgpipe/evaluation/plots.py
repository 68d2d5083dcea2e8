"""DVC plot data (CSV) and PNG figures of a test evaluation, multilabel or single-label.

Files written (``<name>`` is the class name with ``/`` replaced by ``_``, see :func:`file_name`,
so that ``LAO/LAE`` becomes ``LAO_LAE.csv``; ``~`` stays)::

    plots_dir/roc/<name>.csv         fpr,tpr,threshold      (classes with positives and negatives;
                                                             one-vs-rest for single-label data)
    plots_dir/pr/<name>.csv          recall,precision,threshold                     (likewise)
    plots_dir/confusion/<name>.csv   actual,predicted       multilabel: one row per record,
                                                             <class> or not <class>
    plots_dir/confusion/classes.csv  actual,predicted       single-label: one row per record
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

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from ecgpipe.core import atomic
from ecgpipe.evaluation import metrics
from ecgpipe.evaluation.multilabel import ECE_BINS, check

DPI = 150


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


def save_png(fig: Figure, path: Path) -> None:
    """``fig`` as a PNG at ``path``, written atomically."""
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
    check(y, p, thresholds, classes)
    names = _file_names(classes)
    for k, (cls, name) in enumerate(zip(classes, names, strict=True)):
        pred = np.where(p[:, k] >= thresholds[k], cls, f"not {cls}")
        actual = np.where(y[:, k] == 1, cls, f"not {cls}")
        atomic.write_text(
            Path(plots_dir) / "confusion" / f"{name}.csv",
            _csv(["actual", "predicted"], zip(actual, pred, strict=True)),
        )
    _write_curves(y, p, classes, Path(plots_dir), Path(figures_dir))
    save_png(
        _confusion_figure(y, p >= thresholds, classes, thresholds),
        Path(figures_dir) / "confusion.png",
    )


def _file_names(classes: Sequence[str]) -> list[str]:
    names = [file_name(cls) for cls in classes]
    if len(set(names)) < len(names):
        raise ValueError(f"class names collide as file names: {list(classes)}")
    return names


def _write_curves(
    y: np.ndarray, p: np.ndarray, classes: Sequence[str], plots_dir: Path, figures_dir: Path
) -> None:
    """ROC and PR curves per class (one-vs-rest) and the pooled reliability diagram."""
    auroc, auprc = metrics.auroc(y, p), metrics.auprc(y, p)
    roc_fig, pr_fig = Figure(figsize=(6.5, 6)), Figure(figsize=(6.5, 6))
    roc_ax, pr_ax = roc_fig.add_subplot(), pr_fig.add_subplot()
    for k, (cls, name) in enumerate(zip(classes, _file_names(classes), strict=True)):
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
    save_png(roc_fig, figures_dir / "roc.png")
    save_png(pr_fig, figures_dir / "pr.png")

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
    save_png(_calibration_figure(cal), figures_dir / "calibration.png")


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


def write_plots_multiclass(
    y: np.ndarray,
    pred: np.ndarray,
    p: np.ndarray,
    classes: Sequence[str],
    plots_dir: Path,
    figures_dir: Path,
) -> None:
    """Single-label data: one-vs-rest ROC and PR curves, reliability, and the confusion matrix
    of the predicted classes (``plots_dir/confusion/classes.csv``, ``confusion.png``)."""
    classes = list(classes)
    names = np.asarray(classes, dtype=object)
    atomic.write_text(
        Path(plots_dir) / "confusion" / "classes.csv",
        _csv(["actual", "predicted"], zip(names[y], names[pred], strict=True)),
    )
    _write_curves(
        metrics.indicator(y, len(classes)), p, classes, Path(plots_dir), Path(figures_dir)
    )
    cm = metrics.confusion(y, pred, len(classes))
    save_png(_matrix_figure(cm, classes), Path(figures_dir) / "confusion.png")


def _matrix_figure(cm: np.ndarray, classes: list[str]) -> Figure:
    size = 1.2 + 0.9 * len(classes)
    fig = Figure(figsize=(size + 1, size), layout="constrained")
    ax = fig.add_subplot()
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for (i, j), count in np.ndenumerate(cm):
        color = "white" if share[i, j] > 0.5 else "black"
        ax.text(j, i, f"{count}\n{share[i, j]:.0%}", ha="center", va="center", color=color)
    ticks = list(range(len(classes)))
    ax.set_xticks(ticks, classes)
    ax.set_yticks(ticks, classes)
    ax.set(xlabel="Predicted", ylabel="Actual")
    ax.set_title("Confusion matrix, test split (share of each actual class)")
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def write_risk_coverage(result: dict, plots_dir: Path, figures_dir: Path) -> None:
    """The risk-coverage curve of :func:`ecgpipe.evaluation.risk_coverage.score`'s ``result``:
    ``plots_dir/risk_coverage.csv`` (coverage, risk) and ``risk_coverage.png``."""
    coverage, risk = np.asarray(result["coverage"]), np.asarray(result["risk"])
    atomic.write_text(
        Path(plots_dir) / "risk_coverage.csv",
        _csv(["coverage", "risk"], zip(_fmts(coverage), _fmts(risk), strict=True)),
    )
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    ax.plot(coverage, risk, "-", label=f"model (AURC {result['aurc']:.3f})")
    ax.axhline(risk[-1], ls="--", color="grey", label="keeping every record")
    ax.set(xlabel="Share of records kept (the most confident)", ylabel="Error among them")
    ax.set(xlim=(0, 1), ylim=(0, max(float(risk.max()) * 1.1, 0.01)))
    ax.set_title("Risk against coverage (test split)")
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(alpha=0.3)
    save_png(fig, Path(figures_dir) / "risk_coverage.png")
