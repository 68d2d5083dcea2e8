"""The headline figures: what the stages declare as DVC metrics, so that ``dvc metrics show`` and
``dvc exp show`` list the dozen columns a person compares across experiments, within 200
columns (a test checks it).

Each is a small JSON file beside the stage's detailed report, which stays where it was and holds
everything (every integrity check, per-class figures, every patient, the MLflow run) as a plain
stage output:

- ``validate``: ``metrics/integrity.json`` (details: ``reports/integrity.json``);
- ``split``: ``metrics/split.json`` (``reports/split.json``);
- ``evaluate``: ``metrics/test.json`` (``metrics/eval.json``);
- ``external@NAME``: ``metrics/external_NAME.json`` (``metrics/external/NAME.json``).

The file names what was counted, so the data files' keys are the counts' bare names. The test
headline is one figure with its bootstrap 95% interval: macro AUROC for multilabel data, else
the first of the CinC 2017 score, macro F1, accuracy and macro AUROC the evaluation has;
single-label data adds accuracy, which the label-prior baseline (always the most frequent
class) makes telling. Nothing already shown is repeated (the records read are the kept and the
excluded; the test split's size is ``split.json``'s) and no identifier is a metric.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SINGLE_LABEL = ("cinc2017_f1", "macro_f1", "accuracy", "macro_auroc")
"""Single-label data: the headline figure is the first of these the evaluation has."""
MULTILABEL = ("macro_auroc", "micro_auroc", "macro_auprc")
"""Multilabel data: the headline figure, then the others shown beside it."""
BASELINE = ("macro_auroc", "accuracy", "macro_f1", "cinc2017_f1")
"""What of the label-prior baseline goes to MLflow as metrics (all of it is in eval.json)."""


def integrity(report: Mapping[str, Any]) -> dict:
    """``validate``'s counts: records kept and excluded."""
    return {"kept": report["n_kept"], "excluded": report["n_excluded"]}


def split(report: Mapping[str, Any]) -> dict:
    """``split``'s sizes (records, or beats for beat data) and the patients in two splits."""
    sizes = {name: report[name]["n_records"] for name in ("train", "val", "test")}
    return {**sizes, "patient_overlap": report["patient_overlap"]}


def shown(figures: Mapping[str, Any], multilabel: bool) -> list[str]:
    """The figures of an evaluation that a log line, the runs table and the model card show,
    the headline first."""
    return list(MULTILABEL) if multilabel else [k for k in SINGLE_LABEL if k in figures]


def metric(figures: Mapping[str, Any], multilabel: bool) -> str:
    """The headline figure of an evaluation's ``figures`` (see the module's docstring)."""
    return shown(figures, multilabel)[0]


def figures(scored: Mapping[str, Any], multilabel: bool) -> dict:
    """The headline figure of ``scored`` with its interval (``_lo``, ``_hi``), accuracy for
    single-label data."""
    key = metric(scored, multilabel)
    lo, hi = scored.get(f"{key}_ci") or (None, None)
    out = {key: scored[key], f"{key}_lo": lo, f"{key}_hi": hi}
    if not multilabel and key != "accuracy" and "accuracy" in scored:
        out["accuracy"] = scored["accuracy"]
    return out


def test(result: Mapping[str, Any], multilabel: bool) -> dict:
    """``evaluate``'s headline from what it writes to ``metrics/eval.json``: the test split's
    headline figures and the label-prior baseline's."""
    scored, baseline = result["test"], result["baseline"]
    key = metric(scored, multilabel)
    beside = [key] + (["accuracy"] if not multilabel and key != "accuracy" else [])
    out: dict[str, Any] = {"leaky_split": True} if result.get("leaky_split") else {}
    return out | {
        "test": figures(scored, multilabel),
        "baseline": {k: baseline[k] for k in beside if k in baseline},
    }


def external(name: str, result: Mapping[str, Any], multilabel: bool) -> dict:
    """``external@NAME``'s headline: the set's headline figures, as the test split's."""
    return {"external": {name: figures(result, multilabel)}}
