"""Per-patient figures on the test split: the patients a model fails, which a pooled figure hides.

For each test patient: its records, how many records (or beats) it has and how many were
labelled wrong, and per class the support, how often the class was predicted, sensitivity
(recall) and PPV (precision); for single-label data also which classes its misses went to
(``missed_as``: true class -> predicted class -> count, the most missed first). Patients come
worst first: by the share of their records or beats labelled wrong (for multilabel data, a
record is wrong unless its label set is exactly right), then by how many they have.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ecgpipe.evaluation.formats import md


def per_patient(
    patients: np.ndarray,
    records: np.ndarray,
    truth: np.ndarray,
    pred: np.ndarray,
    classes: Sequence[str],
    *,
    single_label: bool,
) -> list[dict[str, Any]]:
    """One JSON-ready entry per patient, worst first. ``truth`` and ``pred``: (N, C) booleans,
    a row per record (or beat); ``patients`` and ``records``: (N,) the row's patient and record."""
    patients, records = np.asarray(patients).astype(str), np.asarray(records).astype(str)
    truth, pred = np.asarray(truth, bool), np.asarray(pred, bool)
    if not (len(patients) == len(records) == len(truth) == len(pred)):
        raise ValueError("patients, records, truth and pred must have one row each per sample")
    if truth.shape != pred.shape or truth.shape[1:] != (len(classes),):
        raise ValueError(f"truth and pred must be (N, {len(classes)}); got {truth.shape}")
    rows = []
    for patient in np.unique(patients):
        at = patients == patient
        t, q = truth[at], pred[at]
        wrong = (t != q).any(axis=1)
        row: dict[str, Any] = {
            "patient": str(patient),
            "records": sorted(set(records[at].tolist()), key=_natural),
            "n": int(at.sum()),
            "n_wrong": int(wrong.sum()),
            "error_rate": float(wrong.mean()),
            "per_class": _per_class(t, q, classes),
        }
        if single_label:
            row["missed_as"] = _missed_as(t.argmax(axis=1), q.argmax(axis=1), classes)
        rows.append(row)
    return sorted(rows, key=lambda r: (-r["error_rate"], -r["n"], r["patient"]))


def _natural(name: str) -> list:
    """Sort key that puts ``335`` before ``1100`` and ``rec9`` before ``rec10``."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name)]


def _per_class(t: np.ndarray, q: np.ndarray, classes: Sequence[str]) -> dict[str, dict]:
    """Support, predicted count, sensitivity and PPV of each class the patient has or was given
    (``None`` where undefined: no true, or no predicted, rows)."""
    out = {}
    for k, name in enumerate(classes):
        support, called = int(t[:, k].sum()), int(q[:, k].sum())
        if support or called:
            hits = int((t[:, k] & q[:, k]).sum())
            out[name] = {
                "support": support,
                "predicted": called,
                "sensitivity": hits / support if support else None,
                "ppv": hits / called if called else None,
            }
    return out


def _missed_as(y: np.ndarray, pred: np.ndarray, classes: Sequence[str]) -> dict[str, dict]:
    out: dict[str, dict[str, int]] = {}
    for true, given in zip(y[y != pred], pred[y != pred], strict=True):
        to = out.setdefault(classes[true], {})
        to[classes[given]] = to.get(classes[given], 0) + 1
    most = sorted(out.items(), key=lambda kv: -sum(kv[1].values()))  # the largest misses first
    return {k: dict(sorted(v.items(), key=lambda kv: -kv[1])) for k, v in most}


def _rate(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def _class_cell(s: dict | None) -> str:
    """``Se / +P (support)``; empty for a class the patient neither has nor was given."""
    return "" if s is None else f"{_rate(s['sensitivity'])} / {_rate(s['ppv'])} ({s['support']})"


def _records(names: list[str], shown: int = 5) -> str:
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" (+{more} more)" if more > 0 else "")


def markdown(
    rows: list[dict[str, Any]], classes: Sequence[str], unit: str, scope: str = "test "
) -> str:
    """The per-patient section of a report: every (``scope``) patient, worst first."""
    single = any("missed_as" in r for r in rows)
    head = ["Patient", "Records", unit.capitalize(), "Wrong"]
    head += [f"{c}: Se / +P (n)" for c in classes] + (["Misses went to"] if single else [])
    lines = [
        "## Per patient",
        "",
        f"Every {scope}patient, worst first (by the share of its {unit} labelled wrong). "
        "Per class: sensitivity / positive predictivity (the patient's true count); "
        "– where undefined.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        cells = [md(r["patient"]), md(_records(r["records"])), str(r["n"])]
        cells.append(f"{r['n_wrong']} ({r['error_rate']:.0%})")
        cells += [_class_cell(r["per_class"].get(c)) for c in classes]
        if single:
            went = r["missed_as"].items()
            cells.append(md(", ".join(f"{t}→{g} {n}" for t, to in went for g, n in to.items())))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def table(rows: list[dict[str, Any]], classes: Sequence[str]) -> str:
    """The same as CSV (the MLflow artifact): a row per patient, a column per class figure."""
    out = io.StringIO()
    fields = ["patient", "records", "n", "n_wrong", "error_rate"]
    fields += [f"{c}_{k}" for c in classes for k in ("support", "predicted", "sensitivity", "ppv")]
    single = any("missed_as" in r for r in rows)
    writer = csv.DictWriter(out, fields + (["missed_as"] if single else []), lineterminator="\n")
    writer.writeheader()
    for r in rows:
        line = {k: r[k] for k in ("patient", "n", "n_wrong", "error_rate")}
        line["records"] = ";".join(r["records"])
        for c, s in r["per_class"].items():
            line |= {f"{c}_{k}": "" if v is None else v for k, v in s.items()}
        if single:
            line["missed_as"] = ";".join(
                f"{t}>{g}:{n}" for t, to in r["missed_as"].items() for g, n in to.items()
            )
        writer.writerow(line)
    return out.getvalue()
