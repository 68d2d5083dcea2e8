"""The test figures per subgroup of patients (age band, sex, site, device, a user's own column).

A pooled figure can hide a group the model fails (TRIPOD+AI, CONSORT-AI and the FDA ask for
figures by sex, age and site). For each attribute the data describes (the manifest's further
columns, :mod:`ecgpipe.data.manifest`) and each of its values, :func:`score` gives every figure
the pooled evaluation gives (headline and per class, with 95% intervals over that subgroup's
patients), and the gap of the headline figure to the rest of the test split with a **paired**
interval: each bootstrap resample draws patients from the whole split, and the subgroup and the
rest are scored on that same draw, so the interval holds what the two have in common.

A subgroup is marked too small to judge where it, or the rest, has fewer than
:data:`MIN_PATIENTS` patients; a class with fewer than :data:`MIN_POSITIVES` positives in the
subgroup is named as too rare there (its figures stay, with their wide intervals).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ecgpipe.evaluation import metrics
from ecgpipe.evaluation.formats import ci, f3, macro, md, num, with_ci

MIN_PATIENTS = 20
"""A subgroup (or the rest) with fewer patients than this is too small to judge."""
MIN_POSITIVES = 10
"""A class with fewer positives than this in a subgroup is too rare there to judge."""
AGE_BANDS = ((18, "<18"), (40, "18-39"), (60, "40-59"), (80, "60-79"), (math.inf, "80+"))
"""Upper bounds (exclusive) of the age bands, years."""
UNKNOWN = "unknown"
NAMES = {"macro_auroc": "macro AUROC", "macro_f1": "macro F1", "auroc": "AUROC"}
DEFAULT = ("age", "sex", "site", "device")
"""What ``evaluate.subgroups: null`` takes, where the data has it."""


def age_band(text: str) -> str:
    """The band of an age in years (``UNKNOWN`` where it is not a number)."""
    try:
        age = float(text)
    except ValueError:
        return UNKNOWN
    if not math.isfinite(age) or age < 0:
        return UNKNOWN
    return next(band for bound, band in AGE_BANDS if age < bound)


def attributes(
    described: pd.DataFrame, record_ids: np.ndarray, names: Sequence[str] | None
) -> dict[str, np.ndarray]:
    """Each attribute -> every row's value (``age`` as its band, empty as ``unknown``) for rows
    of records ``record_ids``, from the manifest ``described`` (one row per record). ``names``
    None: those of :data:`DEFAULT` the manifest has with two known values or more."""
    table = described.set_index("record_id")
    if names is None:
        names = [n for n in DEFAULT if n in table and table[n].replace("", np.nan).nunique() > 1]
    elif missing := [n for n in names if n not in table]:
        extra = [c for c in table.columns if c not in _MANIFEST]
        raise ValueError(
            f"evaluate.subgroups: {missing} not described in the manifest; it has "
            f"{', '.join(extra) or 'no further columns'}"
        )
    out = {}
    for name in names:
        values = table[name].reindex(record_ids).fillna("").astype(str).to_numpy()
        values = np.array([age_band(v) for v in values]) if name == "age" else values
        out[name] = np.where(values == "", UNKNOWN, values)
    return out


_MANIFEST = (
    "patient_id", "path", "fs", "n_leads", "leads", "n_samples", "labels", "label_error", "fold",
)  # fmt: skip


@dataclass(frozen=True)
class Scorer:
    """How one kind of evaluation scores a part of the test split."""

    full: Callable[[np.ndarray, np.ndarray, np.ndarray], dict]
    """(y, p, patients) -> every figure, as the pooled evaluation gives them."""
    headline: str
    """The figure whose gap to the rest is given (a key of ``full``'s result)."""
    resampled: Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
    """(y, p, counts (B, G), each row's patient index) -> the headline per resample (B,)."""
    positives: Callable[[np.ndarray], np.ndarray]
    """y -> positives per class."""


def multilabel_scorer(score: Callable[[np.ndarray, np.ndarray, np.ndarray], dict]) -> Scorer:
    """Macro AUROC's gap; ``score(y, p, patients)`` the pooled figures."""

    def resampled(y, p, counts, group):
        areas = [metrics.resampled_auroc_auprc(y[:, k], p[:, k], counts, group)[0]
                 for k in range(y.shape[1])]  # fmt: skip
        return macro(np.stack(areas, axis=1))

    return Scorer(score, "macro_auroc", resampled, lambda y: y.sum(axis=0))


def multiclass_scorer(
    score: Callable[[np.ndarray, np.ndarray, np.ndarray], dict], factors: np.ndarray | None, n: int
) -> Scorer:
    """Macro F1's gap (``n`` classes, labelled by the argmax with ``factors``); ``score(y, p,
    patients)`` the pooled figures."""

    def resampled(y, p, counts, group):
        pred = metrics.predict_classes(p, factors)
        cells = metrics.per_group(np.eye(n * n)[y * n + pred], group, counts.shape[1])
        f1 = metrics.confusion_rates((counts @ cells).reshape(-1, n, n))["f1"]
        f1[:, np.bincount(y, minlength=n) == 0] = np.nan  # a class absent here: no F1
        return macro(f1)

    return Scorer(score, "macro_f1", resampled, lambda y: np.bincount(y, minlength=n))


def score(
    attrs: dict[str, np.ndarray],
    y: np.ndarray,
    p: np.ndarray,
    patients: np.ndarray,
    scorer: Scorer,
    classes: Sequence[str],
    *,
    n_bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """Per attribute and value: its rows' figures, the headline's gap to the rest with a paired
    interval, and whether it is too small to judge (JSON-ready)."""
    counts, group = metrics.resample_groups(patients, len(y), n_bootstrap, seed)
    out: dict[str, Any] = {
        "headline": scorer.headline,
        "min_patients": MIN_PATIENTS,
        "min_positives": MIN_POSITIVES,
        "attributes": {},
    }
    for name, values in attrs.items():
        groups = {}
        for value in sorted(set(values), key=lambda v: (v == UNKNOWN, v)):
            inside = values == value
            n_in, n_out = (len(set(patients[m])) for m in (inside, ~inside))
            figures = scorer.full(y[inside], p[inside], patients[inside])
            entry: dict[str, Any] = {
                "n_records": int(inside.sum()),
                "n_patients": n_in,
                "too_small": bool(n_in < MIN_PATIENTS or n_out < MIN_PATIENTS),
                "rare_classes": [
                    c
                    for c, k in zip(classes, scorer.positives(y[inside]), strict=True)
                    if k < MIN_POSITIVES
                ],
                "gap": None,
                "gap_ci": [None, None],
                "figures": figures,
            }
            if n_out:
                gap = [
                    scorer.resampled(y[inside], p[inside], w, group[inside])
                    - scorer.resampled(y[~inside], p[~inside], w, group[~inside])
                    for w in (np.ones((1, counts.shape[1])), counts)  # the point, the draws
                ]
                entry["gap"] = num(float(gap[0][0]))
                entry["gap_ci"] = ci(*metrics.percentile_ci(gap[1]))
            groups[value] = entry
        out["attributes"][name] = groups
    return out


def markdown(result: dict, classes: Sequence[str], per_class: str, unit: str = "records") -> str:
    """A section of the evaluation report: a row per subgroup, its headline with its interval,
    the gap to the rest, ``per_class`` (a key of each class's figures) for up to 8 classes."""
    attrs = result["attributes"]
    if not attrs:
        return ""
    head = NAMES.get(result["headline"], result["headline"])
    shown = list(classes) if len(classes) <= 8 else []
    lines = [
        "## Subgroups",
        "",
        f"Each subgroup's {head} with its 95% interval over its own patients, and its gap to the "
        f"rest of the test split (subgroup minus rest) with a paired interval: one bootstrap "
        f"draw of patients scores both. A subgroup with fewer than {result['min_patients']} "
        f"patients, or whose rest has fewer, is too small to judge; classes with fewer than "
        f"{result['min_positives']} positives in it are named. "
        + (f"Per class: {NAMES.get(per_class, per_class)}." if shown else "Per class: eval.json."),
        "",
        f"| Attribute | Group | {unit.capitalize()} | Patients | {head} [95% CI] | Gap to the rest "
        "[95% CI] | " + "".join(f"{md(c)} | " for c in shown) + "Note |",
        "|---|---|--:|--:|---|---|" + "--:|" * len(shown) + "---|",
    ]
    for name, groups in attrs.items():
        for value, g in groups.items():
            f = g["figures"]
            note = "too small to judge" if g["too_small"] else ""
            if g["rare_classes"]:
                rare = f"few positives: {', '.join(md(c) for c in g['rare_classes'])}"
                note = f"{note}; {rare}" if note else rare
            gap = "n/a" if g["gap"] is None else f"{g['gap']:+.3f}"
            if g["gap"] is not None and None not in g["gap_ci"]:
                gap += f" [{g['gap_ci'][0]:+.3f}, {g['gap_ci'][1]:+.3f}]"
            cells = [
                md(name),
                md(value),
                str(g["n_records"]),
                str(g["n_patients"]),
                with_ci(f[result["headline"]], f[f"{result['headline']}_ci"]),
                gap,
                *(f3(f["per_class"].get(c, {}).get(per_class)) for c in shown),
                note,
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
