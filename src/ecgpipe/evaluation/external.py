"""External validation: a trained model judged on another dataset, beside its own test split.

The set's labels are mapped onto the model's classes (:func:`map_labels`); a record whose labels
map onto none of them (or, for a single-label model, onto more than one) is left out with that
reason, never scored as a negative. A class the set has no record of is *absent*: reported as
such, left out of the macro averages, never scored as zero (:func:`score`). The report
(:func:`markdown`) puts every figure beside the same figure on the in-distribution test split.
:func:`judge` does it all for a set's :class:`~ecgpipe.evaluation.judge.Scores`, with each
patient and subgroup as ``evaluate`` gives them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgpipe.evaluation import multiclass, multilabel, patients, subgroups
from ecgpipe.evaluation.formats import f3, md, with_ci
from ecgpipe.evaluation.judge import Scores


@dataclass(frozen=True)
class Mapped:
    """The set's records as the model's classes."""

    truth: np.ndarray
    """(n, C) booleans: the model classes each record is (rows of left-out records all False)."""
    reasons: list[str]
    """Per record, why it is left out; empty where it is kept."""
    label_counts: dict[str, int]
    """Records per label of the set."""
    mapped_to: dict[str, list[str]]
    """Each label of the set -> the model classes it counts as (empty: not mapped)."""

    @property
    def kept(self) -> np.ndarray:
        return np.array([not r for r in self.reasons], dtype=bool)


def translation(
    classes: Sequence[str], label_map: Mapping[str, Sequence[str]] | None
) -> dict[str, list[str]]:
    """Each model class -> the set's labels that mean it (``None``: the class's own name).
    Raises ValueError for a key that is not a model class."""
    if label_map is None:
        return {c: [c] for c in classes}
    if unknown := [k for k in label_map if k not in classes]:
        raise ValueError(
            f"label_map names {unknown}, which the model does not have (it has "
            f"{', '.join(classes)})"
        )
    return {c: list(label_map.get(c, [])) for c in classes}


def map_labels(
    labels: Sequence[Sequence[str]],
    classes: Sequence[str],
    label_map: Mapping[str, Sequence[str]] | None,
    *,
    single_label: bool,
) -> Mapped:
    """Each record's labels (the set's names) as the model's classes, or why it is left out."""
    means = translation(classes, label_map)
    counts: Counter[str] = Counter(label for record in labels for label in set(record))
    mapped_to = {
        label: [c for c in classes if label in means[c]] for label in sorted(counts, key=str)
    }
    truth = np.zeros((len(labels), len(classes)), dtype=bool)
    reasons = []
    for i, record in enumerate(labels):
        hit = [k for k, c in enumerate(classes) if set(record) & set(means[c])]
        if not record:
            reasons.append("no label")
        elif not hit:
            reasons.append(f"its labels ({', '.join(sorted(record))}) map onto no model class")
        elif single_label and len(hit) > 1:
            names = ", ".join(classes[k] for k in hit)
            reasons.append(f"its labels map onto several classes of a single-label model: {names}")
        else:
            truth[i, hit] = True
            reasons.append("")
    return Mapped(truth, reasons, dict(counts), mapped_to)


def score(
    truth: np.ndarray,
    p: np.ndarray,
    classes: Sequence[str],
    *,
    thresholds: np.ndarray | None,
    factors: np.ndarray | None,
    dataset: str,
    groups: np.ndarray,
    n_bootstrap: int,
    seed: int,
    clinical: bool = False,
) -> dict[str, Any]:
    """The metrics of ``evaluate`` on the kept records, with the absent classes named.

    Multilabel (``thresholds`` given): the classes the set has are scored, as their own columns;
    single-label: every class can be predicted, but an absent one's F1 and recall are undefined;
    ``clinical``: recall and precision named sensitivity and ppv (heartbeats, as AAMI EC57).
    """
    classes = list(classes)
    present = truth.any(axis=0)
    absent = [c for c, here in zip(classes, present, strict=True) if not here]
    kw = {"groups": groups, "n_bootstrap": n_bootstrap, "seed": seed}
    if thresholds is not None:
        cols = np.flatnonzero(present)
        if not len(cols):
            raise ValueError("the set has no record of any of the model's classes")
        names = [classes[k] for k in cols]
        result = multilabel.score(truth[:, cols], p[:, cols], thresholds[cols], names, **kw)
    else:
        y = truth.argmax(axis=1)
        result = multiclass.score(y, p, factors, classes, dataset=dataset, clinical=clinical, **kw)
    return result | {"absent_classes": absent}


def judge(
    name: str,
    s: Scores,
    attrs: dict[str, np.ndarray],
    inside: dict[str, Any],
    mapped: Mapped,
    failures: Sequence[tuple[str, str]],
    *,
    source: str,
    n_bootstrap: int,
    seed: int,
) -> tuple[dict[str, Any], str]:
    """Set ``name``'s figures (:func:`score`) with every patient, every subgroup and what was
    left out, and its report beside the test split's figures ``inside``."""
    thresholds, factors = (s.decision, None) if s.multilabel else (None, s.decision)
    kw = {"thresholds": thresholds, "factors": factors, "dataset": s.dataset,
          "n_bootstrap": n_bootstrap, "seed": seed, "clinical": s.unit == "beats"}  # fmt: skip
    classes, truth = s.classes, s.truth
    result = score(truth, s.p, classes, groups=s.patients, **kw)
    result["per_patient"] = s.per_patient()
    eye = np.eye(len(classes))
    scorer = (
        subgroups.multilabel_scorer(lambda y, p, g: score(y, p, classes, groups=g, **kw))
        if s.multilabel
        else subgroups.multiclass_scorer(
            lambda y, p, g: score(eye[y], p, classes, groups=g, **kw), factors, len(eye)
        )
    )
    result["subgroups"] = subgroups.score(
        attrs, s.y, s.p, s.patients, scorer, classes, n_bootstrap=n_bootstrap, seed=seed
    )
    result["n_left_out"] = {
        "unscorable": len(failures),
        "unlabelled": int(sum(map(bool, mapped.reasons))),
    }
    kind = "multilabel" if s.multilabel else "multiclass"
    report = (
        markdown(name, result, inside, mapped, failures, kind=kind, source=source, unit=s.unit)
        + "\n"
        + subgroups.markdown(result["subgroups"], classes, s.per_class, s.unit)
        + "\n"
        + patients.markdown(result["per_patient"], classes, s.unit, scope="")
    )
    return result, report


HEADLINE = {
    "multilabel": (
        ("Macro AUROC", "macro_auroc"),
        ("Micro AUROC", "micro_auroc"),
        ("Macro AUPRC", "macro_auprc"),
    ),
    "multiclass": (
        ("Accuracy", "accuracy"),
        ("Macro F1", "macro_f1"),
        ("Challenge score (mean F1 of N, A, O)", "cinc2017_f1"),
        ("Macro AUROC (one-vs-rest)", "macro_auroc"),
    ),
}
PER_CLASS = {"multilabel": ("auroc", "f1"), "multiclass": ("f1", "auroc")}


def markdown(
    name: str,
    result: dict[str, Any],
    inside: dict[str, Any],
    mapped: Mapped,
    failures: Sequence[tuple[str, str]],
    *,
    kind: str,
    source: str,
    unit: str = "records",
) -> str:
    """The report of one external set: headline and per-class figures beside the test split's
    (``inside``, from ``metrics/eval.json``), what was mapped, and what was left out."""
    classes = list(inside["per_class"])
    absent = result["absent_classes"]
    lines = [
        f"# External validation: {md(name)}",
        "",
        f"{result['n_records']} {unit} of {result['n_groups']} patients from {md(source)}, "
        "scored by the served model as `ecgpipe predict` scores them. Brackets hold 95% "
        "bootstrap intervals over patients. Beside each figure: the same on the model's own "
        f"test split ({inside['n_records']} {unit}).",
        "",
        "| Metric | External | Test split (in-distribution) |",
        "|---|---|---|",
    ]
    for label, key in HEADLINE[kind]:
        if key in result or key in inside:
            lines.append(f"| {label} | {_cell(result, key)} | {_cell(inside, key)} |")
    if absent:
        lines += [
            "",
            f"Absent from this set (not scored, left out of the macro averages): "
            f"{', '.join(md(c) for c in absent)}.",
        ]
    n = result["n_records"]
    if kind == "multilabel" and (
        everywhere := [c for c, m in result["per_class"].items() if m["support"] == n]
    ):
        lines += [
            "",
            "Classes that every record has (AUROC undefined): "
            f"{', '.join(md(c) for c in everywhere)}.",
        ]
    first, second = PER_CLASS[kind]
    lines += [
        "",
        "## Per class",
        "",
        f"| Class | Support | {first.upper()} external | {first.upper()} test split "
        f"| {second.upper()} external | {second.upper()} test split |",
        "|---|--:|---|---|--:|--:|",
    ]
    for c in classes:
        out = result["per_class"].get(c)
        here = inside["per_class"][c]
        if c in absent:
            lines.append(
                f"| {md(c)} | 0 | absent | {with_ci(here[first], here[f'{first}_ci'])} "
                f"| absent | {f3(here[second])} |"
            )
            continue
        assert out is not None
        lines.append(
            f"| {md(c)} | {out['support']} | {with_ci(out[first], out[f'{first}_ci'])} "
            f"| {with_ci(here[first], here[f'{first}_ci'])} | {f3(out[second])} "
            f"| {f3(here[second])} |"
        )
    lines += [
        "",
        "## Labels",
        "",
        f"| Label of the set | {unit.capitalize()} | Counted as |",
        "|---|--:|---|",
    ]
    for label, to in mapped.mapped_to.items():
        lines.append(
            f"| {md(label)} | {mapped.label_counts[label]} | "
            f"{md(', '.join(to)) if to else 'not mapped'} |"
        )
    left = Counter(r for r in mapped.reasons if r)
    lines += [
        "",
        "## Left out",
        "",
        f"{len(failures)} records could not be scored and "
        f"{sum(left.values())} {unit} have no label the model knows.",
    ]
    if failures or left:
        lines += ["", "| Record(s) | Why |", "|---|---|"]
        lines += [f"| {md(r)} | {md(why)} |" for r, why in failures]
        lines += [f"| {n} {unit} | {md(why)} |" for why, n in left.most_common()]
    return "\n".join(lines) + "\n"


def _cell(result: dict[str, Any], key: str) -> str:
    if key not in result:
        return "n/a"
    return with_ci(result[key], result[f"{key}_ci"])
