"""The served model on a labelled set (``external@NAME``): every record, or every annotated
beat for a beat model, scored as ``ecgpipe predict`` scores it, its labels mapped onto the
model's classes (:func:`ecgpipe.evaluation.external.map_labels`). What cannot be scored, or has no
label the model knows, is left out with its reason."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe.data.manifest import decode_labels
from ecgpipe.evaluation import external
from ecgpipe.evaluation.judge import Scores
from ecgpipe.processing import beats
from ecgpipe.serving import predict
from ecgpipe.serving.model import RecordModel


@dataclass(frozen=True)
class Scored:
    """What the model made of a set: the kept rows (records, or beats of a beat model)."""

    scores: Scores
    mapped: external.Mapped
    """Every scored row's labels as the model's classes, or why it is left out."""
    failures: list[tuple[str, str]]
    """(record, why) of each record that could not be scored."""
    outcomes: list[predict.Outcome]
    dataset: pd.DataFrame
    """The kept records, for MLflow's dataset input."""


def score(model: RecordModel, df: pd.DataFrame, root: Path, label_map) -> Scored:
    """The set's manifest ``df`` (record paths relative to ``root``) scored by ``model``,
    ``label_map`` taking its labels onto the model's classes (``None``: by name)."""
    return (_beats if model.per_beat else _records)(model, df, root, label_map)


def _scores(model: RecordModel, truth, p, groups, record_ids, unit: str) -> Scores:
    """The kept rows as :mod:`ecgpipe.evaluation.judge` takes them, labelled by the model's rule
    (its thresholds, or its argmax factors: none, a plain argmax)."""
    c = model.contract
    multilabel = c.label_kind == "multilabel"
    if multilabel:
        decision = np.asarray(c.thresholds, dtype=float)  # None: never called
    else:
        decision = None if c.factors is None else np.asarray(c.factors)
    return Scores(
        y=truth if multilabel else truth.argmax(axis=1),
        p=p,
        classes=list(c.classes),
        decision=decision,
        rows=np.arange(len(p)),
        patients=groups.astype(str),
        record_ids=record_ids,
        multilabel=multilabel,
        unit=unit,
        dataset=str(c.source.get("dataset", "")),
    )


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
    ids = kept["record_id"].to_numpy()
    s = _scores(model, mapped.truth[keep], p[: len(kept)], groups, ids, "records")
    return Scored(s, mapped, failures, outcomes, dataset)


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
    s = _scores(model, mapped.truth[keep], p[: len(records)], groups, names, "beats")
    return Scored(s, mapped, failures, outcomes, dataset)
