"""A k-fold cross-validation's folds pooled into one evaluation.

Each fold's run (``split.strategy=kfold``, ``split.fold=f``) tested its own patients; pooled,
every labelled record is scored once, by a model that never saw its patient, each at its own
fold's decision (thresholds or class factors tuned on that fold's validation split). The pooled
figures get bootstrap intervals over patients, as ``evaluate``'s; beside them, each fold's own
test figures and a per-patient table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import ModelDir, Paths, load_npy, read_json
from ecgpipe.evaluation import headline, metrics, multiclass, multilabel, patients, predictions
from ecgpipe.evaluation.formats import with_ci
from ecgpipe.processing.cache import Cache


class CrossValidationError(PipelineError):
    """The folds cannot be pooled: one is missing, or they do not partition the records."""


@dataclass(frozen=True)
class Fold:
    """One fold's run: where it wrote (``models/``, ``reports/``, ``metrics/``) and its run."""

    fold: int
    results: Path
    run_id: str = ""


def pool(root: Path, folds: list[Fold], k: int, n_bootstrap: int, seed: int, out: Path) -> dict:
    """Pool the ``k`` folds' test predictions (under ``root``'s ``data/``) into ``out``:
    ``eval.json``, ``eval.md``, ``per_patient.csv`` and ``predictions.csv`` (with each record's
    fold). Refuses folds that are missing, repeated, or tested other records than the split
    assigned them."""
    paths = Paths(root)
    if sorted(f.fold for f in folds) != list(range(k)):
        have = ", ".join(str(f.fold) for f in sorted(folds, key=lambda f: f.fold)) or "none"
        raise CrossValidationError(
            f"a {k}-fold cross-validation needs one finished run of each fold 0 to {k - 1}; "
            f"have {have}"
        )
    cache = Cache.open(paths.processed)
    classes, multi = list(cache.classes), cache.labels.ndim == 2
    rows, probs, decisions, priors, per_fold = [], [], [], [], []
    for f in sorted(folds, key=lambda f: f.fold):
        split = Paths(root, fold=f.fold).split
        tested = f.results / "reports" / "predictions.csv"
        r, p = predictions.read(tested, classes)
        if not np.array_equal(np.sort(r), load_npy(split / "test.npy")):
            raise CrossValidationError(
                f"{tested}: fold {f.fold}'s predictions are not of its test records "
                f"({split / 'test.npy'}); was it trained on other data?"
            )
        rows.append(r)
        probs.append(p)
        decisions.append(np.broadcast_to(_decision(f.results / "models", classes, multi), p.shape))
        y_train = cache.labels[load_npy(split / "train.npy")]
        priors.append(
            multilabel.label_prior(y_train, 1)
            if multi
            else multiclass.label_prior(y_train, 1, len(classes))
        )
        test = read_json(f.results / "metrics" / "eval.json", ("test",))["test"]
        per_fold.append({"fold": f.fold, "run_id": f.run_id, "test": _summary(test, multi)})
    every = np.concatenate(rows)
    if len(np.unique(every)) != len(every):
        raise CrossValidationError("a record was tested in two folds: the folds overlap")
    y, p = cache.labels[every], np.concatenate(probs)
    # one baseline for every record (the folds' training priors, averaged): a prior that
    # changed from fold to fold would rank records by their fold
    decision = np.concatenate(decisions)
    prior = np.repeat(np.mean(priors, axis=0), len(y), axis=0)
    groups = cache.patients[every]
    boot = {"n_bootstrap": n_bootstrap, "seed": seed, "groups": groups}
    dataset = cache.meta["dataset"]
    unit = "beats" if cache.unit == "beat" else "records"
    scope = (
        f"Out of fold ({k} folds, each record tested once by a model that never saw its patient)"
    )
    title = f"{dataset} ({cache.meta['task']}), {k}-fold cross-validation"
    if multi:
        test = multilabel.score(y, p, decision, classes, **boot)
        baseline = multilabel.score(y, prior, decision, classes, **boot)
        hits = p >= decision
        report = multilabel.markdown(test, baseline, classes, title, scope)
    else:
        kw = boot | {"dataset": dataset, "clinical": cache.unit == "beat"}
        test = multiclass.score(y, p, decision, classes, **kw)
        baseline = multiclass.score(y, prior, None, classes, **kw)
        hits = np.eye(len(classes), dtype=bool)[metrics.predict_classes(p, decision)]
        rule = "each fold's argmax rule (as its training chose)"
        report = multiclass.markdown(test, baseline, classes, title, rule, unit=unit, scope=scope)
    truth = metrics.indicator(y, len(classes)).astype(bool)
    records = cache.index["record_id"].to_numpy()[every]
    test["per_patient"] = patients.per_patient(
        groups, records, truth, hits, classes, single_label=not multi
    )
    key = headline.metric(test, multi)
    report += "\n" + _fold_table(per_fold, key, unit) + "\n"
    report += "\n" + patients.markdown(test["per_patient"], classes, unit, scope="")
    result = {"k": k, "headline": key, "cv": test, "baseline": baseline, "per_fold": per_fold}
    atomic.write_json(out / "eval.json", result)
    atomic.write_text(out / "eval.md", report)
    atomic.write_text(out / "per_patient.csv", patients.table(test["per_patient"], classes))
    fold_of = np.concatenate([np.full(len(r), f) for f, r in enumerate(rows)])
    atomic.write_text(
        out / "predictions.csv",
        predictions.table(every, records, groups, truth, hits, p, classes, fold=fold_of),
    )
    return result


def _decision(models: Path, classes: list[str], multi: bool) -> np.ndarray:
    """A fold's thresholds (multilabel) or argmax class factors, in class order."""
    return ModelDir(models).decision(classes, multi)


def _summary(test: dict, multi: bool) -> dict:
    """A fold's headline figures (each with its interval) and sizes."""
    keys = ("macro_auroc",) if multi else tuple(k for k in headline.SINGLE_LABEL if k in test)
    out = {k: test[k] for k in keys} | {f"{k}_ci": test[f"{k}_ci"] for k in keys}
    return out | {"n_records": test["n_records"], "n_groups": test["n_groups"]}


def _fold_table(per_fold: list[dict], key: str, unit: str) -> str:
    lines = [
        "## Per fold",
        "",
        f"Each fold's own test split, scored alone ({key}, 95% interval over its patients).",
        "",
        f"| Fold | Test {unit} | Patients | {key} | MLflow run |",
        "|--:|--:|--:|---|---|",
    ]
    for f in per_fold:
        t = f["test"]
        lines.append(
            f"| {f['fold']} | {t['n_records']} | {t['n_groups']} "
            f"| {with_ci(t.get(key), t.get(f'{key}_ci', (None, None)))} | {f['run_id']} |"
        )
    values = [f["test"][key] for f in per_fold if f["test"].get(key) is not None]
    if values:
        lines += [
            "",
            f"Across folds: mean {np.mean(values):.3f}, SD {np.std(values, ddof=1):.3f}. "
            "Pooled areas under curves also rank one fold's model's scores against another's: "
            "where the folds' models are calibrated differently, they fall below the folds' own.",
        ]
    return "\n".join(lines)
