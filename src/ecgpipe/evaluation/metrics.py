"""Classification metrics on (N, C) scores: AUROC/AUPRC, tuned thresholds, bootstrap intervals.

Plain NumPy and scikit-learn, so evaluation does not need torch. Multilabel targets are (N, C)
0/1; single-label targets are (N,) class ids, turned one-vs-rest. A class with only one kind of
target in a sample has no AUROC: it is NaN there and left out of macro averages.

Bootstrap resamples are drawn once by :func:`resample_indices`; :func:`resampled_auroc_auprc`
scores all of them at once from per-record resample counts (a record drawn k times weighs k),
which gives exactly what scikit-learn gives on each resample, much faster.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def indicator(y: np.ndarray, n_classes: int) -> np.ndarray:
    """(N, C) 0/1 targets from (N, C) indicators or (N,) class ids."""
    return y.astype(np.int8) if y.ndim == 2 else np.eye(n_classes, dtype=np.int8)[y]


def _per_class(fn, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    out = np.full(y.shape[1], np.nan)
    for c in range(y.shape[1]):
        if 0 < y[:, c].sum() < len(y):
            out[c] = fn(y[:, c], p[:, c])
    return out


def auroc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-class AUROC (NaN where a class has no positives or no negatives)."""
    return _per_class(roc_auc_score, y, p)


def auprc(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-class average precision (area under the precision-recall curve)."""
    return _per_class(average_precision_score, y, p)


def micro_auroc(y: np.ndarray, p: np.ndarray) -> float:
    """AUROC over all (record, class) pairs pooled (NaN without both kinds of target)."""
    flat = y.ravel()
    return float(roc_auc_score(flat, p.ravel())) if 0 < flat.sum() < flat.size else float("nan")


def tune_thresholds(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-class threshold maximising F1 on (validation) targets. A class without positives has
    none (NaN: never called, as nothing says where to call it); one without negatives, 0.5."""
    thresholds = np.full(y.shape[1], 0.5)
    for c in range(y.shape[1]):
        pos = y[:, c].sum()
        if pos == 0:
            thresholds[c] = np.nan
        if not 0 < pos < len(y):
            continue
        order = np.argsort(-p[:, c], kind="stable")
        scores, hits = p[order, c], y[order, c]
        tp = np.cumsum(hits)
        k = np.arange(1, len(y) + 1)
        f1 = 2 * tp / (k + pos)
        last = np.r_[scores[1:] != scores[:-1], True]  # cut only between distinct scores
        best = np.flatnonzero(last)[np.argmax(f1[last])]
        below = scores[best + 1] if best + 1 < len(scores) else scores[best] - 1e-6
        middle = (scores[best] + below) / 2
        # Between two adjacent floats the midpoint rounds onto one of them: keep the upper one.
        thresholds[c] = middle if middle > below else scores[best]
    return thresholds


def rates(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> dict[str, np.ndarray]:
    """Precision (0 without predicted positives), recall, specificity and F1 from counts.

    Recall is NaN without positives, specificity NaN without negatives, F1 NaN without either
    positives or predicted positives. Works elementwise on arrays of any shape.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "precision": np.where(tp + fp > 0, tp / (tp + fp), 0.0),
            "recall": np.where(tp + fn > 0, tp / (tp + fn), np.nan),
            "specificity": np.where(tn + fp > 0, tn / (tn + fp), np.nan),
            "f1": np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan),
        }


def at_thresholds(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall (sensitivity), specificity and F1 of ``p >= thresholds``."""
    pred = p >= thresholds
    tp = (pred & (y == 1)).sum(axis=0)
    fp = (pred & (y == 0)).sum(axis=0)
    fn = (~pred & (y == 1)).sum(axis=0)
    tn = (~pred & (y == 0)).sum(axis=0)
    return {**rates(tp, fp, fn, tn), "tp": tp, "fp": fp, "fn": fn, "tn": tn}


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> dict:
    """Expected calibration error over all (record, class) pairs, and the reliability curve.

    Bins are equal-width on [0, 1], each closed below (the last one closed at 1 too); the curve
    is NaN in empty bins.
    """
    flat_y, flat_p = y.ravel().astype(float), p.ravel()
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(flat_p, edges[1:-1]), 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    conf = np.bincount(which, flat_p, minlength=bins)
    acc = np.bincount(which, flat_y, minlength=bins)
    filled = count > 0
    mean_p = np.where(filled, conf / np.maximum(count, 1), np.nan)
    frac = np.where(filled, acc / np.maximum(count, 1), np.nan)
    ece = float(np.nansum(count / count.sum() * np.abs(mean_p - frac)))
    return {
        "ece": ece,
        "bin_edges": edges,
        "mean_predicted": mean_p,
        "fraction_positive": frac,
        "count": count,
    }


def resample_indices(n: int, n_resamples: int, seed: int) -> np.ndarray:
    """(n_resamples, n) record indices drawn with replacement, deterministic from ``seed``."""
    return np.random.default_rng(seed).integers(0, n, (n_resamples, n))


def resample_counts(indices: np.ndarray, n: int) -> np.ndarray:
    """(B, n) how many times each of ``n`` records occurs in each row of (B, m) ``indices``."""
    b = len(indices)
    flat = (indices + n * np.arange(b)[:, None]).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n)


def resample_groups(
    groups: np.ndarray | None, n: int, n_resamples: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """A cluster bootstrap: (B, G) how often each of the G groups (patients) is drawn per
    resample, and (n,) each item's group. ``groups`` ``None``: every item its own group."""
    if groups is None:
        group, n_groups = np.arange(n), n
    else:
        ids, group = np.unique(np.asarray(groups), return_inverse=True)
        n_groups = len(ids)
    return resample_counts(resample_indices(n_groups, n_resamples, seed), n_groups), group


def per_group(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sums of ``values`` (n, ...) over each group's items: (G, ...)."""
    out = np.zeros((n_groups, *values.shape[1:]))
    np.add.at(out, group, values)
    return out


BLOCK_CELLS = 1 << 18
"""Resamples are scored in blocks of about this many (resample, item) cells, bounding memory."""


def resampled_auroc_auprc(
    y: np.ndarray, p: np.ndarray, w: np.ndarray, records: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """AUROC and average precision of binary ``y`` (M,) by scores ``p`` (M,) per row of ``w``.

    ``w`` (B, N) holds each resample's record counts; item i weighs ``w[:, records[i]]`` (by
    default ``records[i] = i`` and M = N), so pooled (record, class) pairs share their record's
    count. Both equal scikit-learn's on the resampled items (ties count one half in AUROC); NaN
    for a resample without both kinds of target.
    """
    order = np.argsort(-p, kind="stable")
    s = p[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])  # one group per distinct score
    cols = order if records is None else records[order]
    hits = y[order].astype(bool)
    step = max(1, BLOCK_CELLS // len(p))
    auroc, auprc = [], []
    for i in range(0, len(w), step):
        weights = w[i : i + step, cols].astype(float)
        pos = np.where(hits, weights, 0.0)
        neg = weights - pos
        if len(starts) < len(s):
            pos, neg = (np.add.reduceat(a, starts, axis=1) for a in (pos, neg))
        tp, fp = np.cumsum(pos, axis=1), np.cumsum(neg, axis=1)  # at or above each score
        n_pos, n_neg = tp[:, -1], fp[:, -1]
        with np.errstate(invalid="ignore", divide="ignore"):
            below = n_neg[:, None] - fp  # negatives scored strictly lower
            auc = (pos * (below + neg / 2)).sum(axis=1) / (n_pos * n_neg)
            precision = tp / np.where(tp + fp > 0, tp + fp, 1)
            ap = (pos * precision).sum(axis=1) / n_pos
        defined = (n_pos > 0) & (n_neg > 0)
        auroc.append(np.where(defined, auc, np.nan))
        auprc.append(np.where(defined, ap, np.nan))
    return np.concatenate(auroc), np.concatenate(auprc)


def percentile_ci(values: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along axis 0 of resampled ``values``, ignoring NaN (NaN if all are)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        lo, hi = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return lo, hi


def bootstrap_ci(
    y: np.ndarray,
    p: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], float],
    n: int,
    seed: int,
    level: float = 0.95,
) -> tuple[float, float]:
    """Percentile interval of ``statistic(y, p)`` over ``n`` resamples of the records.

    Resamples where the statistic is not finite are left out.
    """
    values = [statistic(y[idx], p[idx]) for idx in resample_indices(len(y), n, seed)]
    lo, hi = percentile_ci(np.asarray(values, dtype=float), level)
    return float(lo), float(hi)


# --------------------------------------------------------------------------- single-label

CHALLENGE_F1: dict[str, tuple[str, ...]] = {"cinc2017": ("N", "A", "O")}
"""Datasets whose challenge scores the mean F1 of some classes: the score is ``<dataset>_f1``."""


def challenge_f1(dataset: str, classes: list[str], f1: np.ndarray) -> dict[str, float]:
    """``{"cinc2017_f1": mean F1 of N, A and O}`` for a dataset that has such a score; else ``{}``.

    ``f1`` is per class, in ``classes`` order, with any leading (resample) axes.
    """
    scored = CHALLENGE_F1.get(dataset)
    if scored is None or not set(scored) <= set(classes):
        return {}
    return {f"{dataset}_f1": f1[..., [classes.index(c) for c in scored]].mean(axis=-1)}


def prior_correction(counts: np.ndarray, weight_power: float, balanced: bool) -> np.ndarray:
    """Per-class factors that turn a re-weighted model's probabilities back to the training prior.

    A model trained with class weights ``w ~ pi ** -weight_power`` (1: inverse frequency, 0.5:
    its square root, 0: none) or a class-balanced sampler learns posteriors under the prior it
    saw, ``pi~ ~ pi_sampled * w``; multiplying by ``pi / pi~`` (Bayes' rule) restores the
    training prior ``pi``, whose argmax maximises accuracy. Without weights or sampler the
    factors are all 1.
    """
    prior = np.maximum(np.asarray(counts, float), 1) / max(np.sum(counts), 1)
    seen = np.full_like(prior, 1 / len(prior)) if balanced else prior
    seen = seen * prior**-weight_power
    seen = seen / seen.sum()
    factors = prior / seen
    return factors / factors.max()


def predict_classes(p: np.ndarray, factors: np.ndarray | None = None) -> np.ndarray:
    """(N,) class ids: the argmax of ``p`` (N, C), each column scaled by ``factors`` first."""
    return np.argmax(p if factors is None else p * factors, axis=1)


def confusion(y: np.ndarray, pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(C, C) counts: rows actual class, columns predicted."""
    return np.bincount(y * n_classes + pred, minlength=n_classes**2).reshape(n_classes, n_classes)


def confusion_rates(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall, specificity and F1 (see :func:`rates`) of (..., C, C) counts,
    and accuracy (...,)."""
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    actual, predicted = cm.sum(axis=-1), cm.sum(axis=-2)
    total = actual.sum(axis=-1, keepdims=True)
    out = rates(tp, predicted - tp, actual - tp, total - actual - predicted + tp)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["accuracy"] = tp.sum(axis=-1) / total[..., 0]
    return out


def metric_name(key: str) -> str:
    """``key`` as an MLflow metric name: characters it refuses spelled out (``~`` -> ``tilde``)."""
    return re.sub(
        r"[^\w\-. /]", lambda m: unicodedata.name(m.group(), "char").lower().replace(" ", "_"), key
    )
