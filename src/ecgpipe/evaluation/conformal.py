"""Split-conformal prediction sets, calibrated on the validation split, and their test coverage.

A model's probabilities become sets of labels that hold the true one with probability at least
``1 - alpha`` whenever calibration and test records are exchangeable (drawn alike):

- ``"lac"`` (single-label, least ambiguous set-valued classifier): the nonconformity score of a
  record is ``1 - p[y]``; the set holds each class whose score is within the calibrated quantile.
- ``"mondrian"`` (multilabel): each class is a yes/no question, calibrated separately for the
  records where it is present (score ``1 - p``) and absent (score ``p``), so the guarantee holds
  per class and per label value, rare positives included. A value without calibration records
  has no quantile (``None``) and is always in the set: no guarantee, so no claim.

The quantile is the ``ceil((n + 1)(1 - alpha))``-th smallest of the n calibration scores; when
that rank exceeds n every label is in every set (a quantile of 1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgpipe.evaluation import metrics
from ecgpipe.evaluation.formats import ci, f3, md, num, with_ci

KINDS = ("lac", "mondrian")


@dataclass(frozen=True)
class Conformal:
    """Calibrated quantiles. ``"lac"``: ``(q,)``; ``"mondrian"``: a ``(q_absent, q_present)``
    pair per class, ``None`` for a value without calibration records."""

    kind: str
    alpha: float
    quantiles: tuple
    n_calibration: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: plain floats, lists and ``None``."""
        if self.kind == "lac":
            quantiles: list = [float(self.quantiles[0])]
        else:
            quantiles = [[_plain(q) for q in pair] for pair in self.quantiles]
        return {
            "kind": self.kind,
            "alpha": float(self.alpha),
            "quantiles": quantiles,
            "n_calibration": int(self.n_calibration),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Conformal:
        """The inverse of :meth:`to_dict`."""
        kind = d["kind"]
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if kind == "lac":
            quantiles: tuple = (float(d["quantiles"][0]),)
        else:
            quantiles = tuple(tuple(_plain(q) for q in pair) for pair in d["quantiles"])
        return cls(kind, float(d["alpha"]), quantiles, int(d["n_calibration"]))


def _plain(q: float | None) -> float | None:
    return None if q is None else float(q)


def _quantile(scores: np.ndarray, alpha: float) -> float | None:
    """The ``ceil((n + 1)(1 - alpha))``-th smallest score; 1 past the last; ``None`` if empty."""
    n = len(scores)
    if n == 0:
        return None
    rank = math.ceil((n + 1) * (1 - alpha) - 1e-9)  # tolerance: 10 * 0.9 must give rank 9
    if rank > n:
        return 1.0
    return float(np.partition(scores, rank - 1)[rank - 1])


def _check_p(p: np.ndarray) -> None:
    if p.ndim != 2 or len(p) == 0 or p.shape[1] == 0:
        raise ValueError(f"p must be a non-empty (N, C) array, got shape {p.shape}")
    if not np.all((p >= 0) & (p <= 1)):
        raise ValueError("p must hold probabilities in [0, 1] (no NaN)")


def _check_y(y: np.ndarray, p: np.ndarray, multilabel: bool) -> None:
    if multilabel:
        if y.shape != p.shape:
            raise ValueError(f"multilabel y must have p's shape {p.shape}, got {y.shape}")
        if not np.all((y == 0) | (y == 1)):
            raise ValueError("multilabel y must hold 0/1 values")
    else:
        if y.shape != (len(p),) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"single-label y must be ({len(p)},) integer class ids, got {y.dtype} {y.shape}"
            )
        if y.min() < 0 or y.max() >= p.shape[1]:
            raise ValueError(f"class ids must lie in [0, {p.shape[1]}), got {y.min()}..{y.max()}")


def calibrate(y: np.ndarray, p: np.ndarray, alpha: float, multilabel: bool) -> Conformal:
    """Quantiles from validation targets ``y`` ((N,) class ids, or (N, C) 0/1 if ``multilabel``)
    and probabilities ``p`` (N, C), for sets that miss with probability at most ``alpha``."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    y, p = np.asarray(y), np.asarray(p, float)
    _check_p(p)
    _check_y(y, p, multilabel)
    if not multilabel:
        scores = 1 - p[np.arange(len(y)), y]
        return Conformal("lac", float(alpha), (_quantile(scores, alpha),), len(y))
    quantiles = tuple(
        (_quantile(p[y[:, k] == 0, k], alpha), _quantile(1 - p[y[:, k] == 1, k], alpha))
        for k in range(p.shape[1])
    )
    return Conformal("mondrian", float(alpha), quantiles, len(y))


def _bound(q: float | None) -> float:
    return np.inf if q is None else q


def sets(conformal: Conformal, p: np.ndarray) -> np.ndarray:
    """Prediction sets for probabilities ``p`` (N, C). ``"lac"``: (N, C), True where the class is
    in the record's set; ``"mondrian"``: (N, C, 2), ``[..., 0]`` absent and ``[..., 1]`` present
    in the set. A set the quantiles leave empty holds the likelier label instead (the most
    probable class; present where p >= 0.5): sets only grow, so coverage stays at least
    ``1 - alpha``, and no record is answered with nothing."""
    p = np.asarray(p, float)
    _check_p(p)
    if conformal.kind == "lac":
        member = 1 - p <= conformal.quantiles[0]
        empty = ~member.any(axis=1)
        member[empty, p[empty].argmax(axis=1)] = True
        return member
    if p.shape[1] != len(conformal.quantiles):
        raise ValueError(f"p has {p.shape[1]} classes, calibrated for {len(conformal.quantiles)}")
    q_absent, q_present = (
        np.array([_bound(pair[v]) for pair in conformal.quantiles]) for v in (0, 1)
    )
    member = np.stack([p <= q_absent, 1 - p <= q_present], axis=-1)
    empty = ~member.any(axis=-1)
    member[..., 1] |= empty & (p >= 0.5)
    member[..., 0] |= empty & (p < 0.5)
    return member


def coverage(
    conformal: Conformal,
    y: np.ndarray,
    p: np.ndarray,
    *,
    n_bootstrap: int,
    seed: int,
    groups: np.ndarray | None = None,
) -> dict[str, Any]:
    """Empirical coverage of the sets on test ``y`` and ``p``, JSON-ready.

    ``coverage``: share of records (multilabel: of (record, class) pairs) whose true label is in
    the set, with ``coverage_ci`` a 95% percentile bootstrap over ``groups`` (patients; by
    default each record its own). ``mean_set_size``: labels per set (multilabel: values per
    pair, 0 to 2); ``singleton_share``: share of sets with exactly one. ``per_class``, a list in
    class order: coverage and mean set size among the records of each class (multilabel: over
    all records, and coverage among those where the class is absent and present); ``None``
    where a class has no such records.
    """
    multilabel = conformal.kind == "mondrian"
    y, p = np.asarray(y), np.asarray(p, float)
    _check_p(p)
    _check_y(y, p, multilabel)
    n, c = p.shape
    in_set = sets(conformal, p)
    size = in_set.sum(axis=-1)
    if multilabel:
        covered = np.take_along_axis(in_set, y[..., None].astype(np.intp), axis=-1)[..., 0]
        per_class = [_mondrian_class(covered[:, k], size[:, k], y[:, k]) for k in range(c)]
    else:
        covered = in_set[np.arange(n), y]
        per_class = [_lac_class(covered[y == k], size[y == k]) for k in range(c)]

    counts, group = metrics.resample_groups(groups, n, n_bootstrap, seed)
    n_groups = counts.shape[1]
    w = counts.astype(float)
    per_record = covered.reshape(n, -1).mean(axis=1)  # a record's pairs all go with it
    boot_covered = w @ metrics.per_group(per_record, group, n_groups)
    boot_records = w @ np.bincount(group, minlength=n_groups)
    lo, hi = metrics.percentile_ci(boot_covered / boot_records)

    return {
        "kind": conformal.kind,
        "alpha": float(conformal.alpha),
        "target": 1 - float(conformal.alpha),
        "coverage": float(covered.mean()),
        "coverage_ci": ci(float(lo), float(hi)),
        "mean_set_size": float(size.mean()),
        "singleton_share": float((size == 1).mean()),
        "n_records": n,
        "n_groups": n_groups,
        "per_class": per_class,
    }


def _mean(values: np.ndarray) -> float | None:
    return num(values.mean()) if len(values) else None


def _lac_class(covered: np.ndarray, size: np.ndarray) -> dict[str, Any]:
    return {
        "coverage": _mean(covered),
        "mean_set_size": _mean(size),
        "n_records": len(covered),
    }


def _mondrian_class(covered: np.ndarray, size: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    return {
        "coverage": _mean(covered),
        "coverage_absent": _mean(covered[y == 0]),
        "coverage_present": _mean(covered[y == 1]),
        "mean_set_size": _mean(size),
        "n_present": int(y.sum()),
    }


def markdown(result: dict, classes: Sequence[str], n_calibration: int) -> str:
    """The report's section: coverage on test against its target, set sizes, per class."""
    multilabel = result["kind"] == "mondrian"
    lines = [
        "## Prediction sets (split conformal)",
        "",
        f"Calibrated on the {n_calibration} validation "
        f"{'records, per class and label value (Mondrian)' if multilabel else 'records'} to hold "
        f"the true {'value of each class' if multilabel else 'class'} at least "
        f"{result['target']:.0%} of the time (alpha {result['alpha']:g}); on the test split they "
        f"hold it **{with_ci(result['coverage'], result['coverage_ci'])}** of the time (95% "
        f"interval over patients), {result['mean_set_size']:.2f} "
        f"{'values per class' if multilabel else 'classes per set'} on average, "
        f"{result['singleton_share']:.0%} of them a single one. `ecgpipe predict` gives each "
        "record's set beside its probabilities.",
        "",
    ]
    per_class = dict(zip(classes, result["per_class"], strict=True))
    if multilabel:
        lines += [
            "| Class | Coverage | when absent | when present | Mean set size | Positives |",
            "|---|--:|--:|--:|--:|--:|",
        ]
        for c, m in per_class.items():
            lines.append(
                f"| {md(c)} | {f3(m['coverage'])} | {f3(m['coverage_absent'])} | "
                f"{f3(m['coverage_present'])} | {f3(m['mean_set_size'])} | {m['n_present']} |"
            )
    else:
        lines += ["| Class | Coverage | Mean set size | Records |", "|---|--:|--:|--:|"]
        for c, m in per_class.items():
            if m is None or not m["n_records"]:
                lines.append(f"| {md(c)} | absent | absent | 0 |")
                continue
            lines.append(
                f"| {md(c)} | {f3(m['coverage'])} | {f3(m['mean_set_size'])} | {m['n_records']} |"
            )
    return "\n".join(lines) + "\n"
