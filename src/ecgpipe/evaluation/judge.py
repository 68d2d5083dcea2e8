"""A model's scores on a held-out split judged as ``evaluate`` reports them: every figure with
its interval over patients, against the label-prior baseline, the plots, each patient, abstention
and prediction sets, subgroups, and the Markdown report of it all.

Plain values in (targets, probabilities, the labelling rule ``train`` chose, who each row is,
taken from an open cache by :meth:`Scores.of`), figures and report out: nothing here reads the
model, files or MLflow. ``external@NAME`` judges its sets' :class:`Scores` too
(:func:`ecgpipe.evaluation.external.judge`).
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
from ecgpipe.processing.cache import Cache

LEAKY = (
    "LEAKY SPLIT (split.strategy=random): beats of the same patients are in training and test, "
    "so these figures overstate how the model does on a new patient; see the patient-disjoint "
    "protocol (experiment=mitdb_interpatient) for an honest estimate."
)
"""The report's first line, and a warning, after a random split."""
ADAPTED = (
    "Transductive, reported apart from the figures above: each test record was read whole, the "
    "beats the model called N gave the patient's own references (NN intervals, template beat), "
    "and every beat was scored again against them (evaluate.adapt; ecgpipe predict --adapt). "
    "Test split"
)
"""The scope line of the adapted figures' section (``evaluate.adapt``)."""


@dataclass(frozen=True)
class Scores:
    """A model's scores on a split and what each row is."""

    y: np.ndarray
    """Targets: (N, C) indicators (multilabel) or (N,) class ids."""
    p: np.ndarray
    """(N, C) probabilities."""
    classes: list[str]
    decision: np.ndarray | None
    """The rule ``train`` chose: per-class thresholds (multilabel; NaN: never called) or the
    argmax's class factors (None: a plain argmax)."""
    rows: np.ndarray
    """Each row's place in the preprocessed cache (of an external set: its kept rows in order)."""
    patients: np.ndarray
    record_ids: np.ndarray
    multilabel: bool
    unit: str
    """``records``, or ``beats`` (then sensitivity and ppv, as AAMI EC57 names them)."""
    dataset: str

    @classmethod
    def of(
        cls, cache: Cache, rows: np.ndarray, y: np.ndarray, p: np.ndarray, decision: np.ndarray
    ) -> Scores:
        """The scores of a preprocessed ``cache``'s ``rows``."""
        return cls(
            y=y,
            p=p,
            classes=cache.classes,
            decision=decision,
            rows=rows,
            patients=cache.patients[rows],  # intervals resample patients, all records of each
            record_ids=cache.index["record_id"].to_numpy()[rows],
            multilabel=cache.meta["label_kind"] == "multilabel",
            unit="beats" if cache.unit == "beat" else "records",
            dataset=cache.meta["dataset"],
        )

    @property
    def truth(self) -> np.ndarray:
        """(N, C) the true labels."""
        return metrics.indicator(self.y, len(self.classes)).astype(bool)

    @property
    def hits(self) -> np.ndarray:
        """(N, C) the labels decided."""
        if self.multilabel:
            return self.p >= self.decision
        return np.eye(len(self.classes), dtype=bool)[metrics.predict_classes(self.p, self.decision)]

    @property
    def per_class(self) -> str:
        """The per-class figure the subgroup tables show."""
        return "auroc" if self.multilabel else "sensitivity" if self.unit == "beats" else "recall"

    def per_patient(self) -> list[dict]:
        """Every patient's rows, worst first (:func:`ecgpipe.evaluation.patients.per_patient`)."""
        return patients.per_patient(
            self.patients,
            self.record_ids,
            self.truth,
            self.hits,
            self.classes,
            single_label=not self.multilabel,
        )


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
    test["per_patient"] = s.per_patient()
    report += "\n" + abstain(test, s, errors, confidence, calibration, boot, plots_dir, figures_dir)
    test["subgroups"] = subgroups.score(
        attrs, y, p, s.patients, scorer, classes, n_bootstrap=n_bootstrap, seed=seed
    )
    by_group = subgroups.markdown(test["subgroups"], classes, s.per_class, s.unit)
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


def rule(argmax: str) -> str:
    """How single-label classes were decided, as the report says it (``argmax``: the rule
    ``train`` chose, ``argmax`` or a re-weighting)."""
    return "argmax of the probabilities" + (
        "" if argmax == "argmax" else ", re-weighted back to the training prior"
    )


def adapted(
    s: Scores, p: np.ndarray, baseline: dict, *, title: str, rule: str, n_bootstrap: int, seed: int
) -> tuple[dict, str]:
    """A beat model's probabilities ``p`` adapted to each record (``evaluate.adapt``) judged
    as ``s`` is: their figures and the report's section, apart from the inductive ones."""
    kw = {"dataset": s.dataset, "clinical": True, "n_bootstrap": n_bootstrap,
          "seed": seed, "groups": s.patients}  # fmt: skip
    scored = multiclass.score(s.y, p, s.decision, s.classes, **kw)
    report = multiclass.markdown(
        scored, baseline, s.classes, f"{title}, adapted to each test record", rule,
        unit="beats", scope=ADAPTED,
    )  # fmt: skip
    return scored, report
