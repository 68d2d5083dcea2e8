"""A model's scores on a held-out split judged as ``evaluate`` reports them: every figure with
its interval over patients, against the label-prior baseline, the plots, each patient, abstention
and prediction sets, subgroups, and the Markdown report of it all.

Plain values in (targets, probabilities, the labelling rule ``train`` chose, who each row is),
figures and report out: nothing here reads the model, the cache or MLflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgpipe.evaluation import (
    conformal,
    metrics,
    multiclass,
    multilabel,
    patients,
    plots,
    risk_coverage,
    subgroups,
)


@dataclass(frozen=True)
class Scores:
    """A model's scores on a split and what each row is."""

    y: np.ndarray
    """Targets: (N, C) indicators (multilabel) or (N,) class ids."""
    p: np.ndarray
    """(N, C) probabilities."""
    classes: list[str]
    decision: np.ndarray
    """The rule ``train`` chose: per-class thresholds (multilabel; NaN: never called) or the
    argmax's class factors."""
    rows: np.ndarray
    """Each row's place in the preprocessed cache."""
    patients: np.ndarray
    record_ids: np.ndarray
    multilabel: bool
    unit: str
    """``records``, or ``beats`` (then sensitivity and ppv, as AAMI EC57 names them)."""
    dataset: str

    @property
    def hits(self) -> np.ndarray:
        """(N, C) the labels decided."""
        if self.multilabel:
            return self.p >= self.decision
        return np.eye(len(self.classes), dtype=bool)[metrics.predict_classes(self.p, self.decision)]


@dataclass(frozen=True)
class Judged:
    test: dict
    """Every figure (``metrics/eval.json``'s ``test``)."""
    baseline: dict
    report: str
    """``reports/eval.md``."""
    subgroups: str
    """The report's subgroup section (the model card repeats it)."""


def judge(
    s: Scores,
    y_train: np.ndarray,
    *,
    title: str,
    rule: str,
    warning: str | None,
    attrs: dict[str, np.ndarray],
    calibration: conformal.Conformal,
    n_bootstrap: int,
    seed: int,
    plots_dir: Path,
    figures_dir: Path,
) -> Judged:
    """Score ``s`` against the label prior of ``y_train``, write the plots and figures, and give
    every figure with its report (``rule``: how single-label classes were decided; ``warning``:
    the report's first line, a leaky split say)."""
    boot = {"n_bootstrap": n_bootstrap, "seed": seed, "groups": s.patients}
    y, p, classes, thr = s.y, s.p, s.classes, s.decision
    if s.multilabel:
        test = multilabel.score(y, p, thr, classes, **boot)
        baseline = multilabel.score(
            y, multilabel.label_prior(y_train, len(y)), thr, classes, **boot
        )
        plots.write_plots(y, p, thr, classes, plots_dir, figures_dir)
        report = multilabel.markdown(test, baseline, classes, title)
        scorer = subgroups.multilabel_scorer(
            lambda y, p, groups: multilabel.score(y, p, thr, classes, **boot | {"groups": groups})
        )
        errors, confidence = risk_coverage.multilabel(y, p, thr)
        per_class = "auroc"
    else:
        kw = boot | {"dataset": s.dataset, "clinical": s.unit == "beats"}
        test = multiclass.score(y, p, thr, classes, **kw)
        prior = multiclass.label_prior(y_train, len(y), len(classes))
        baseline = multiclass.score(y, prior, None, classes, **kw)
        pred = metrics.predict_classes(p, thr)
        plots.write_plots_multiclass(y, pred, p, classes, plots_dir, figures_dir)
        report = multiclass.markdown(
            test, baseline, classes, title, rule, unit=s.unit, warning=warning
        )
        scorer = subgroups.multiclass_scorer(
            lambda y, p, groups: multiclass.score(y, p, thr, classes, **kw | {"groups": groups}),
            thr,
            len(classes),
        )
        errors, confidence = risk_coverage.single_label(y, p, thr)
        per_class = "sensitivity" if s.unit == "beats" else "recall"
    test["per_patient"] = patients.per_patient(
        s.patients,
        s.record_ids,
        metrics.indicator(y, len(classes)).astype(bool),
        s.hits,
        classes,
        single_label=not s.multilabel,
    )
    report += "\n" + abstain(test, s, errors, confidence, calibration, boot, plots_dir, figures_dir)
    test["subgroups"] = subgroups.score(
        attrs, y, p, s.patients, scorer, classes, n_bootstrap=n_bootstrap, seed=seed
    )
    by_group = subgroups.markdown(test["subgroups"], classes, per_class, s.unit)
    report += "\n" + by_group + "\n" + patients.markdown(test["per_patient"], classes, s.unit)
    return Judged(test, baseline, report, by_group)


def abstain(
    test: dict,
    s: Scores,
    errors: np.ndarray,
    confidence: np.ndarray,
    calibration: conformal.Conformal,
    boot: dict,
    plots_dir: Path,
    figures_dir: Path,
) -> str:
    """Risk against coverage and the prediction sets' coverage into ``test``, their figure and
    data; the report's sections."""
    risk = risk_coverage.score(errors, confidence, **boot)
    if s.multilabel:
        shares = list(risk["risk_at"])
        miss = risk_coverage.per_class_miss(s.y, s.p, s.decision, confidence, shares)
        risk["per_class_miss"] = {s.classes[k]: v for k, v in miss.items()}
    plots.write_risk_coverage(risk, plots_dir, figures_dir)
    sets = conformal.coverage(calibration, s.y, s.p, **boot)
    test["risk_coverage"], test["conformal"] = risk, sets
    shown: Sequence[str] | None = s.classes if s.multilabel else None
    return (
        risk_coverage.markdown(risk, shown)
        + "\n"
        + conformal.markdown(sets, s.classes, calibration.n_calibration)
    )
