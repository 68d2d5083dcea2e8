"""Selective prediction: the error a model makes on the records it keeps when it may abstain.

Records are ranked by a confidence, most confident first; keeping the top share (the
*coverage*) and abstaining on the rest gives a *risk*, the mean error of the kept records. The
risk-coverage curve traces that trade-off and its area (AURC) sums it up: lower is better, and a
confidence that ranks no better than chance gives about the overall error rate.

Records of equal confidence cannot be told apart, so they are kept or dropped together: the
curve only has points at the end of each block of ties, whatever the input order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgpipe.evaluation import metrics
from ecgpipe.evaluation.formats import ci, f3, md, num, with_ci

PLOT_POINTS = 101


def _check(errors: np.ndarray, confidence: np.ndarray) -> None:
    if errors.ndim != 1 or errors.shape != confidence.shape or len(errors) == 0:
        raise ValueError(
            f"errors and confidence must be the same non-empty (N,); "
            f"got {errors.shape}, {confidence.shape}"
        )
    if not (np.all(np.isfinite(errors)) and np.all(np.isfinite(confidence))):
        raise ValueError("errors and confidence must be finite")


def _ranked(errors: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The order, most confident first (ties by error, so that sums do not depend on input
    order), and the last position of each block of equal confidence."""
    order = np.lexsort((errors, -confidence))
    c = confidence[order]
    return order, np.flatnonzero(np.r_[c[1:] != c[:-1], True])


def curve(errors: np.ndarray, confidence: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coverage (k / N) and risk (mean error of the k most confident records) at the end of each
    block of equal confidence, coverage increasing to 1."""
    errors, confidence = np.asarray(errors, float), np.asarray(confidence, float)
    _check(errors, confidence)
    order, ends = _ranked(errors, confidence)
    kept = ends + 1
    return kept / len(errors), np.cumsum(errors[order])[ends] / kept


def aurc(coverage: np.ndarray, risk: np.ndarray) -> float:
    """Area under the risk-coverage curve: ``sum_j risk_j * (coverage_j - coverage_{j-1})``
    (``coverage_0 = 0``), each point's risk weighted by the coverage it adds. Without ties this
    is the mean risk over k = 1..N kept records."""
    coverage, risk = np.asarray(coverage, float), np.asarray(risk, float)
    if coverage.ndim != 1 or coverage.shape != risk.shape or len(coverage) == 0:
        raise ValueError(f"coverage and risk must be the same non-empty (K,); got {coverage.shape}")
    added = np.diff(coverage, prepend=0.0)
    if np.any(added <= 0) or coverage[-1] > 1:
        raise ValueError("coverage must increase strictly within (0, 1]")
    return float(risk @ added)


def single_label(
    y: np.ndarray, p: np.ndarray, factors: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Errors (1.0 where the predicted class, the argmax of ``p * factors``, is not ``y``) and
    confidence (the probability of the predicted class) of (N,) class ids and (N, C) ``p``."""
    y, p = np.asarray(y), np.asarray(p, float)
    if p.ndim != 2 or y.shape != (len(p),):
        raise ValueError(f"y must be (N,) and p (N, C); got {y.shape}, {p.shape}")
    pred = metrics.predict_classes(p, factors)
    return (pred != y).astype(float), p[np.arange(len(p)), pred]


def multilabel(
    y: np.ndarray, p: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Errors (each record's share of classes labelled wrongly by ``p >= thresholds``) and
    confidence (its smallest margin ``|p - threshold|`` over the classes with a threshold) of
    (N, C) ``y``, ``p``; ``thresholds`` (C,), or (N, C) a row each, NaN where a class has none."""
    y, p, thresholds = np.asarray(y), np.asarray(p, float), np.asarray(thresholds, float)
    if p.ndim != 2 or y.shape != p.shape or thresholds.shape not in (p.shape, p.shape[1:]):
        raise ValueError(
            f"y and p must be the same (N, C) and thresholds (C,) or (N, C); "
            f"got {y.shape}, {p.shape}, {thresholds.shape}"
        )
    margin = np.abs(p - thresholds)
    margin = np.where(np.isnan(margin), np.inf, margin).min(axis=1)  # untuned classes: no call
    return ((p >= thresholds) != (y == 1)).mean(axis=1), np.where(np.isinf(margin), 0.0, margin)


def _kept(confidence: np.ndarray, share: float) -> np.ndarray:
    """Mask of the most confident ``share`` of the records: the fewest whole blocks of ties that
    make up at least that share."""
    if not 0 < share <= 1:
        raise ValueError(f"coverage must lie in (0, 1], got {share}")
    k = max(1, math.ceil(share * len(confidence) - 1e-9))
    return confidence >= np.sort(confidence)[::-1][k - 1]


def per_class_miss(
    y: np.ndarray,
    p: np.ndarray,
    thresholds: np.ndarray,
    confidence: np.ndarray,
    coverages: Sequence[float],
) -> dict[int, list[float | None]]:
    """Per class, its miss rate (1 - sensitivity at ``thresholds``) among the records kept at
    each of ``coverages`` (see :func:`score`); ``None`` where no positive is kept."""
    y, p, confidence = np.asarray(y), np.asarray(p, float), np.asarray(confidence, float)
    if p.ndim != 2 or y.shape != p.shape or confidence.shape != (len(p),):
        raise ValueError(
            f"y and p must be the same (N, C) and confidence (N,); "
            f"got {y.shape}, {p.shape}, {confidence.shape}"
        )
    positive = (y == 1).astype(float)
    missed = positive * (p < np.asarray(thresholds, float))
    kept = np.stack([_kept(confidence, share) for share in coverages]).astype(float)  # (S, N)
    n_positive, n_missed = kept @ positive, kept @ missed  # (S, C)
    with np.errstate(invalid="ignore", divide="ignore"):
        miss = n_missed / n_positive
    return {k: [num(m) for m in miss[:, k]] for k in range(p.shape[1])}


def _resampled_aurc(
    errors: np.ndarray, confidence: np.ndarray, counts: np.ndarray, group: np.ndarray
) -> np.ndarray:
    """AURC per resample, each record weighing ``counts[:, group]`` (copies of one record tie)."""
    order, ends = _ranked(errors, confidence)
    starts = np.r_[0, ends[:-1] + 1]
    step = max(1, metrics.BLOCK_CELLS // len(errors))
    out = []
    for i in range(0, len(counts), step):
        w = counts[i : i + step, group[order]].astype(float)
        added = np.add.reduceat(w, starts, axis=1)  # records each block adds
        wrong = np.add.reduceat(w * errors[order], starts, axis=1)
        kept = np.cumsum(added, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            risk = np.where(kept > 0, np.cumsum(wrong, axis=1) / kept, 0.0)
        out.append((risk * added).sum(axis=1) / kept[:, -1])
    return np.concatenate(out)


def score(
    errors: np.ndarray,
    confidence: np.ndarray,
    *,
    n_bootstrap: int,
    seed: int,
    groups: np.ndarray | None = None,
    at: Sequence[float] = (1.0, 0.9, 0.8, 0.5),
) -> dict[str, Any]:
    """AURC with a 95% percentile bootstrap interval over ``groups`` (patients; by default each
    record its own), ``risk_at`` each coverage in ``at`` (the mean error of the fewest most
    confident records, whole blocks of ties, that make up that share) and the curve thinned to
    at most 101 points for plotting, as JSON-ready values."""
    errors, confidence = np.asarray(errors, float), np.asarray(confidence, float)
    cov, risk = curve(errors, confidence)
    counts, group = metrics.resample_groups(groups, len(errors), n_bootstrap, seed)
    lo, hi = metrics.percentile_ci(_resampled_aurc(errors, confidence, counts, group))
    shown = np.unique(np.searchsorted(cov, np.linspace(0, 1, PLOT_POINTS) - 1e-9))
    return {
        "aurc": aurc(cov, risk),
        "aurc_ci": ci(float(lo), float(hi)),
        "risk_at": {float(share): float(errors[_kept(confidence, share)].mean()) for share in at},
        "coverage": cov[shown].tolist(),
        "risk": risk[shown].tolist(),
        "n_records": len(errors),
        "n_groups": counts.shape[1],
    }


def markdown(result: dict, classes: Sequence[str] | None = None) -> str:
    """The report's section: the risk at each kept share, AURC, and (multilabel) each class's
    miss rate among the kept records."""
    at = list(result["risk_at"])
    lines = [
        "## Abstention: risk against coverage",
        "",
        "If the model may hand its least confident records to a cardiologist, the error it makes "
        "on those it keeps (multilabel: the share of classes labelled wrongly; confidence: the "
        "smallest distance of a probability to its threshold; single-label: the predicted "
        "class's probability). The area under the curve (AURC, lower is better) has its 95% "
        f"interval over patients: **{with_ci(result['aurc'], result['aurc_ci'])}**. Figure: "
        "`reports/figures/risk_coverage.png`; data: `plots/risk_coverage.csv`.",
        "",
        "| Records kept | " + " | ".join(f"{float(s):.0%}" for s in at) + " |",
        "|---|" + "--:|" * len(at),
        "| Error among them | " + " | ".join(f3(result["risk_at"][s]) for s in at) + " |",
    ]
    if classes is not None and "per_class_miss" in result:
        lines += ["", "Per class, 1 - sensitivity among the kept records:", ""]
        lines += ["| Class | " + " | ".join(f"{float(s):.0%}" for s in at) + " |"]
        lines += ["|---|" + "--:|" * len(at)]
        for c in classes:
            miss = result["per_class_miss"][c]
            lines.append(f"| {md(c)} | " + " | ".join(f3(m) for m in miss) + " |")
    return "\n".join(lines) + "\n"
