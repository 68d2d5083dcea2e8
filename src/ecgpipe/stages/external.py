"""Stage ``external@NAME``: the trained model judged on a further dataset (external validation).

``evaluate.external.NAME`` names a data config and a label map onto the model's classes. The
set is read by its own reader into ``data/external/NAME`` (a generated set is written there),
then every record goes through ``ecgpipe predict``'s path: the served model from the training
run, the training run's quality checks and preprocessing. Records that cannot be scored, or
whose labels map onto none of the model's classes, are left out with their reason and counted.
The metrics are ``evaluate``'s, with bootstrap intervals over the set's patients and a
per-patient table; classes the set lacks are reported absent. Writes
``metrics/external/NAME.json`` (its headline figures, the DVC metrics, in
``metrics/external_NAME.json``), ``reports/external/NAME/`` (report, per-patient table, every
record's scores) and logs them, with the set as a dataset input, into the training run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe import tracking
from ecgpipe.config.schema import Config
from ecgpipe.core import atomic
from ecgpipe.core.errors import PipelineError
from ecgpipe.core.paths import Paths, read_json
from ecgpipe.data import manifest, readers
from ecgpipe.data.manifest import decode_labels
from ecgpipe.evaluation import external, metrics, patients, subgroups
from ecgpipe.evaluation.formats import f3, with_ci
from ecgpipe.evaluation.headline import external as external_headline
from ecgpipe.processing import beats
from ecgpipe.serving import predict
from ecgpipe.serving.model import RecordModel

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths, name: str) -> dict:
    """Score the trained model on the external set ``name``; the JSON-ready result."""
    sets = cfg.evaluate.external
    if name not in sets:
        known = ", ".join(sets) or "none"
        raise PipelineError(f"evaluate.external has no set {name!r} (it has: {known})")
    chosen = sets[name]
    run_id = paths.model.run_id()
    inside = read_json(paths.metrics / "eval.json", ("test",))["test"]
    model, uri = tracking.load_record_model(str(paths.models), cfg.mlflow, paths.root)
    c = model.contract
    classes, multilabel = list(c.classes), c.label_kind == "multilabel"

    try:
        external.translation(classes, chosen.label_map)
    except ValueError as err:
        raise PipelineError(f"evaluate.external.{name}: {err}") from None

    df, root = prepare(cfg, paths, name)
    scored = (_beats if model.per_beat else _records)(model, df, root, chosen.label_map)
    if not len(scored.truth):
        raise PipelineError(
            f"evaluate.external.{name}: no {scored.unit[:-1]} of {root} could be scored with a "
            "label the model knows; see the reasons above"
            if scored.failures
            else f"evaluate.external.{name}: no {scored.unit[:-1]} of {root} has a label the "
            "model knows"
        )
    truth, p, groups = scored.truth, scored.p, scored.groups
    thresholds = None if c.thresholds is None else np.asarray(c.thresholds, dtype=float)
    factors = None if c.factors is None else np.asarray(c.factors)
    result = external.score(
        truth,
        p,
        classes,
        thresholds=thresholds if multilabel else None,
        factors=factors,
        dataset=str(c.source.get("dataset", "")),
        groups=groups.astype(str),
        n_bootstrap=cfg.evaluate.n_bootstrap,
        seed=cfg.evaluate.seed,
        clinical=model.per_beat,
    )
    hits = (
        p >= thresholds
        if multilabel
        else np.eye(len(classes), dtype=bool)[metrics.predict_classes(p, factors)]
    )
    result["per_patient"] = patients.per_patient(
        groups, scored.record_ids, truth, hits, classes, single_label=not multilabel
    )
    kw = {"thresholds": thresholds if multilabel else None, "factors": factors,
          "dataset": str(c.source.get("dataset", "")), "n_bootstrap": cfg.evaluate.n_bootstrap,
          "seed": cfg.evaluate.seed, "clinical": model.per_beat}  # fmt: skip
    try:
        attrs = subgroups.attributes(df, scored.record_ids, cfg.evaluate.subgroups)
    except ValueError as err:
        raise PipelineError(f"external {name}: {err}") from None
    eye = np.eye(len(classes))
    scorer = (
        subgroups.multilabel_scorer(lambda y, p, g: external.score(y, p, classes, groups=g, **kw))
        if multilabel
        else subgroups.multiclass_scorer(
            lambda y, p, g: external.score(eye[y], p, classes, groups=g, **kw), factors, len(eye)
        )
    )
    y = truth if multilabel else truth.argmax(axis=1)
    result["subgroups"] = subgroups.score(
        attrs, y, p, groups.astype(str), scorer, classes,
        n_bootstrap=cfg.evaluate.n_bootstrap, seed=cfg.evaluate.seed,
    )  # fmt: skip
    failures, mapped, outcomes = scored.failures, scored.mapped, scored.outcomes
    result["n_left_out"] = {
        "unscorable": len(failures),
        "unlabelled": int(sum(map(bool, mapped.reasons))),
    }
    kind = "multilabel" if multilabel else "multiclass"
    report = (
        external.markdown(
            name, result, inside, mapped, failures, kind=kind, source=str(root), unit=scored.unit
        )
        + "\n"
        + subgroups.markdown(
            result["subgroups"],
            classes,
            "auroc" if multilabel else "sensitivity" if model.per_beat else "recall",
            scored.unit,
        )
        + "\n"
        + patients.markdown(result["per_patient"], classes, scored.unit, scope="")
    )
    out = paths.external_reports(name)
    with atomic.directory(out) as tmp:
        (tmp / "report.md").write_text(report)
        (tmp / "per_patient.csv").write_text(patients.table(result["per_patient"], classes))
        table = predict.table([*outcomes], c, uri)
        table.to_csv(tmp / "predictions.csv", index=False)
    payload = {"mlflow_run_id": run_id, "model": uri, "data": str(root), "external": result}
    atomic.write_json(paths.external_metrics(name), payload)
    atomic.write_json(
        paths.headline(f"external_{name}"), external_headline(name, result, multilabel)
    )

    headline = {k: v for k, v in result.items() if k not in ("per_patient", "subgroups")}
    values = tracking.metric_values({"external": {name: headline}})
    rows = scored.dataset
    tracking.log_evaluation(
        cfg.mlflow,
        paths.root,
        run_id,
        {metrics.metric_name(k): v for k, v in values.items()},
        [
            (f"evaluation/external/{name}", out),
            ("evaluation/external", paths.external_metrics(name)),
        ],
        dataset=(f"{name}-external", rows, str(root)),
    )
    key = "macro_auroc" if multilabel else "cinc2017_f1" if "cinc2017_f1" in result else "macro_f1"
    log.info(
        "external %s: %d %s of %d patients (%d left out); %s %s, test split %s%s",
        name,
        result["n_records"],
        scored.unit,
        result["n_groups"],
        len(failures) + result["n_left_out"]["unlabelled"],
        key,
        with_ci(result[key], result[f"{key}_ci"]),
        f3(inside.get(key)),
        f"; absent: {', '.join(result['absent_classes'])}" if result["absent_classes"] else "",
    )
    return payload


@dataclass(frozen=True)
class Scored:
    """What the model made of a set: the kept rows (records, or beats of a beat model)."""

    truth: np.ndarray
    p: np.ndarray
    groups: np.ndarray
    """Each kept row's patient."""
    record_ids: np.ndarray
    mapped: external.Mapped
    """Every scored row's labels as the model's classes, or why it is left out."""
    failures: list[tuple[str, str]]
    """(record, why) of each record that could not be scored."""
    outcomes: list[predict.Outcome]
    dataset: pd.DataFrame
    """The kept records, for MLflow's dataset input."""
    unit: str


def _records(model: RecordModel, df: pd.DataFrame, root: Path, label_map) -> Scored:
    """A record model: every record with a label the model knows, scored whole."""
    c = model.contract
    mapped = external.map_labels(
        [decode_labels(x) for x in df["labels"]],
        c.classes,
        label_map,
        single_label=c.label_kind != "multilabel",
    )
    reasons = [e or m for e, m in zip(df["label_error"], mapped.reasons, strict=True)]
    mapped = replace(mapped, reasons=reasons)
    records = [root / p for p in df["path"]]
    labelled = [r for r, why in zip(records, reasons, strict=True) if not why]
    outcomes = list(predict.score(model, labelled))
    scored = {o.record: o for o in outcomes if o.error is None}
    failures = [(o.record, o.error) for o in outcomes if o.error is not None]
    keep = np.array([not why and str(r) in scored for r, why in zip(records, reasons, strict=True)])
    kept = df[keep]
    n = len(c.classes)
    p = np.stack(
        [scored[str(r)].probs for r, k in zip(records, keep, strict=True) if k] or [np.zeros(n)]
    )
    groups = np.where(kept["patient_id"] == "", kept["record_id"], kept["patient_id"])
    dataset = pd.DataFrame(
        {"record_id": kept["record_id"], "patient_id": groups, "labels": kept["labels"]}
    )
    return Scored(
        mapped.truth[keep], p[: len(kept)], groups, kept["record_id"].to_numpy(), mapped,
        failures, outcomes, dataset, "records",
    )  # fmt: skip


def _beats(model: RecordModel, df: pd.DataFrame, root: Path, label_map) -> Scored:
    """A beat model: every annotated beat of each usable record, the annotation's AAMI class its
    truth; records the reader excluded (paced, unlisted) are left out with the reader's reason."""
    usable = df["label_error"] == ""
    failures = [(str(root / p), why) for p, why in df.loc[~usable, ["path", "label_error"]].values]
    outcomes = list(predict.score_beats(model, [root / p for p in df.loc[usable, "path"]]))
    failures += [(o.record, o.error) for o in outcomes if o.error is not None]
    done = [o for o in outcomes if o.error is None]
    kinds = beats.aami([o.symbol for o in done])
    mapped = external.map_labels(
        [[k] if k else [] for k in kinds], model.contract.classes, label_map, single_label=True
    )
    keep = mapped.kept
    patient = {str(root / p): pid for p, pid in zip(df["path"], df["patient_id"], strict=True)}
    records = np.array([o.record for o, k in zip(done, keep, strict=True) if k])
    groups = np.array([patient[r] or Path(r).name for r in records])
    p = np.stack(
        [o.probs for o, k in zip(done, keep, strict=True) if k]
        or [np.zeros(len(model.contract.classes))]
    )
    kept = df[usable & df["path"].map(lambda x: str(root / x)).isin(set(records))]
    dataset = pd.DataFrame(
        {"record_id": kept["record_id"], "patient_id": kept["patient_id"], "labels": ""}
    )
    names = np.array([Path(r).name for r in records])
    return Scored(
        mapped.truth[keep], p[: len(records)], groups, names, mapped, failures, outcomes,
        dataset, "beats",
    )  # fmt: skip


def prepare(cfg: Config, paths: Paths, name: str) -> tuple[pd.DataFrame, Path]:
    """The set's manifest as its reader makes it, written to ``data/external/NAME``, and the
    folder its record paths are relative to."""
    folder = paths.external(name)
    at = replace(paths, dataset=str(folder.relative_to(paths.root)))
    with atomic.directory(folder) as out:
        df, info = readers.read(cfg.evaluate.external[name].data, at, out)
        manifest.write(df, out / "manifest.csv")
        info.write(out / "dataset.json")
    return manifest.read(folder / "manifest.csv"), info.resolve_root(paths.root)
