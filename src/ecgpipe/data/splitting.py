"""Patient-disjoint train / val / test splits.

Strategies:

- ``folds``: the dataset's own folds (PTB-XL's ``strat_fold``, patient-wise and stratified by
  its authors): by default 1-8 train, 9 val, 10 test, as the PTB-XL benchmark.
- ``stratified``: iterative stratification (Sechidis et al. 2011, the ``iterative-stratification``
  package) over *patients*, each patient carrying the union of its records' labels, so class
  ratios match across splits and no patient is in two.
- ``records``: named lists of records per split (MIT-BIH's inter-patient DS1/DS2); a split whose
  list is empty is drawn from the train records by ``stratified`` (patient-disjoint). Rows are
  the records' rows (for beat data, their beats). Patients can only be in two splits where the
  lists put their records there (the published DS1/DS2 part records 201 and 202 of one subject):
  that is reported, never made by the project.
- ``kfold``: k patient-disjoint folds by iterative stratification over patients (as
  ``stratified``); fold ``f`` is the test split, the next one (``f + 1`` mod k) validation, the
  rest training. Every labelled record is tested in exactly one fold: run all k
  (``ecgpipe-sweep -m split.fold='range(k)'``) for out-of-fold predictions of every record.
- ``random``: rows stratified by class with no regard to patients: the leaky split, for showing
  what leakage does (beats of one patient on both sides). Its report says so.

Records without a label for the task are left out of every split (the benchmark's rule) and
counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from iterstrat.ml_stratifiers import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit

from ecgpipe.core.errors import PipelineError

SPLITS = ("train", "val", "test")


class SplitError(PipelineError):
    """The split cannot be made, or would leak patients."""


@dataclass(frozen=True)
class Split:
    """Row indices of each split (sorted), and the rows left out."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    unlabelled: np.ndarray
    unassigned: np.ndarray
    """Labelled rows whose fold is in no split."""

    def parts(self) -> dict[str, np.ndarray]:
        return {"train": self.train, "val": self.val, "test": self.test}


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Multilabel indicator matrix of labels ``y``: (N, C) kept, (N,) class ids one-hot."""
    if y.ndim == 2:
        return y.astype(bool)
    return np.eye(n_classes, dtype=bool)[y]


def labelled(y: np.ndarray) -> np.ndarray:
    """Rows with at least one label (multilabel) or a class id (single-label, -1 = none)."""
    return y.any(axis=1) if y.ndim == 2 else y >= 0


def by_folds(folds: np.ndarray, y: np.ndarray, assignment: dict[str, list[int]]) -> Split:
    """Split by the dataset's folds, e.g. ``{"train": [1..8], "val": [9], "test": [10]}``."""
    seen: dict[int, str] = {}
    for name in SPLITS:
        for fold in assignment[name]:
            if fold in seen:
                raise SplitError(f"fold {fold} is assigned to both {seen[fold]} and {name}")
            seen[fold] = name
    has_label = labelled(y)
    parts = {name: np.flatnonzero(np.isin(folds, assignment[name]) & has_label) for name in SPLITS}
    return Split(
        **parts,
        unlabelled=np.flatnonzero(~has_label),
        unassigned=np.flatnonzero(~np.isin(folds, list(seen)) & has_label),
    )


def stratified(
    patients: np.ndarray, y: np.ndarray, n_classes: int, ratios: dict[str, float], seed: int
) -> Split:
    """Patient-disjoint split with class ratios kept by iterative stratification."""
    has_label = labelled(y)
    rows = np.flatnonzero(has_label)
    table = pd.DataFrame(one_hot(y[rows], n_classes), index=patients[rows])
    per_patient = table.groupby(level=0, sort=True).max()
    ids, Y = per_patient.index.to_numpy(), per_patient.to_numpy(dtype=np.int8)
    total = sum(ratios.values())
    test_share, val_share = ratios["test"] / total, ratios["val"] / total
    if len(ids) < 3:
        raise SplitError(f"{len(ids)} labelled patients cannot be split three ways")

    def cut(idx: np.ndarray, share: float, salt: int) -> tuple[np.ndarray, np.ndarray]:
        if share <= 0:
            return idx, idx[:0]
        splitter = MultilabelStratifiedShuffleSplit(
            n_splits=1, test_size=share, random_state=seed + salt
        )
        keep, out = next(splitter.split(np.zeros(len(idx)), Y[idx]))
        return idx[keep], idx[out]

    rest, test = cut(np.arange(len(ids)), test_share, 0)
    train, val = cut(rest, val_share / max(1.0 - test_share, 1e-12), 1)
    where = {name: set(ids[part]) for name, part in zip(SPLITS, (train, val, test), strict=True)}
    parts = {name: rows[np.isin(patients[rows], list(where[name]))] for name in SPLITS}
    return Split(**parts, unlabelled=np.flatnonzero(~has_label), unassigned=rows[:0])


def by_records(
    records: np.ndarray,
    patients: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    lists: dict[str, list[str]],
    ratios: dict[str, float],
    seed: int,
) -> tuple[Split, dict[str, list[str]]]:
    """Rows of the listed records per split, empty lists drawn from train (see the module
    docstring); also the listed records absent from the data, per split."""
    has_label = labelled(y)
    present = set(records)
    absent = {name: [r for r in lists[name] if r not in present] for name in SPLITS}
    parts = {name: np.flatnonzero(np.isin(records, lists[name]) & has_label) for name in SPLITS}
    for name in SPLITS:
        if lists[name] and parts[name].size == 0:
            raise SplitError(
                f"none of split.records.{name} ({', '.join(lists[name])}) has labelled rows in "
                f"the data; with only part of the database at hand, set split.records.{name}=[] "
                "to draw that split from the train records instead"
            )
    drawn = [name for name in ("val", "test") if not lists[name]]
    if drawn:
        train = parts["train"]
        shares = {"train": ratios["train"]} | {n: ratios[n] if n in drawn else 0.0 for n in drawn}
        shares |= {n: 0.0 for n in ("val", "test") if n not in drawn}
        inner = stratified(patients[train], y[train], n_classes, shares, seed)
        parts["train"] = train[inner.train]
        for name in drawn:
            parts[name] = train[getattr(inner, name)]
    listed = np.isin(records, [r for name in SPLITS for r in lists[name]])
    split = Split(
        **{name: np.sort(part) for name, part in parts.items()},
        unlabelled=np.flatnonzero(~has_label),
        unassigned=np.flatnonzero(~listed & has_label),
    )
    return split, absent


def kfold(patients: np.ndarray, y: np.ndarray, n_classes: int, k: int, seed: int) -> np.ndarray:
    """(N,) the fold (0..k-1) of each row, patient-disjoint and stratified over patients; -1 for
    rows without a label."""
    has_label = labelled(y)
    rows = np.flatnonzero(has_label)
    table = pd.DataFrame(one_hot(y[rows], n_classes), index=patients[rows])
    per_patient = table.groupby(level=0, sort=True).max()
    ids = per_patient.index.to_numpy()
    if len(ids) < k:
        raise SplitError(f"{len(ids)} labelled patients cannot make {k} folds")
    splitter = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    fold_of = np.empty(len(ids), np.int64)
    for fold, (_, held) in enumerate(splitter.split(np.zeros(len(ids)), per_patient.to_numpy())):
        fold_of[held] = fold
    folds = np.full(len(y), -1, np.int64)
    folds[rows] = pd.Series(fold_of, index=ids).loc[patients[rows]].to_numpy()
    return folds


def kfold_split(folds: np.ndarray, fold: int, k: int) -> Split:
    """Fold ``fold`` of :func:`kfold`'s assignment: it is the test split, the next one
    validation, the rest training."""
    val = (fold + 1) % k
    parts = {
        "train": np.flatnonzero((folds >= 0) & (folds != fold) & (folds != val)),
        "val": np.flatnonzero(folds == val),
        "test": np.flatnonzero(folds == fold),
    }
    return Split(**parts, unlabelled=np.flatnonzero(folds < 0), unassigned=np.array([], np.int64))


def random_rows(y: np.ndarray, n_classes: int, ratios: dict[str, float], seed: int) -> Split:
    """The leaky split: rows stratified by class, patients ignored."""
    return stratified(np.arange(len(y)).astype(str), y, n_classes, ratios, seed)


def overlapping_patients(split: Split, patients: np.ndarray) -> list[str]:
    """Patients found in more than one split, sorted."""
    sets = [set(patients[part]) for part in split.parts().values()]
    return sorted((sets[0] & sets[1]) | (sets[0] & sets[2]) | (sets[1] & sets[2]))


def patient_overlap(split: Split, patients: np.ndarray) -> int:
    """Number of patients found in more than one split."""
    return len(overlapping_patients(split, patients))


def summary(split: Split, patients: np.ndarray, y: np.ndarray, classes: list[str]) -> dict:
    """Per split: records, patients and positives per class; plus what was left out."""
    Y = one_hot(y, len(classes))
    out: dict = {}
    for name, part in split.parts().items():
        out[name] = {
            "n_records": int(part.size),
            "n_patients": len(set(patients[part])),
            "positives": {c: int(n) for c, n in zip(classes, Y[part].sum(axis=0), strict=True)},
        }
    out["n_unlabelled"] = int(split.unlabelled.size)
    out["n_unassigned"] = int(split.unassigned.size)
    out["patient_overlap"] = patient_overlap(split, patients)
    return out
