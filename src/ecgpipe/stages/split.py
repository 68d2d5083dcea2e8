"""Stage ``split``: patient-disjoint train / val / test indices into the preprocessed cache.

Writes ``data/split/{train,val,test}.npy`` (sorted row indices) and ``reports/split.json``
(its sizes, the DVC metrics, in ``metrics/split.json``); with ``strategy=kfold``, every fold's
indices under ``data/split/folds/<fold>/`` too, so that a sweep over ``split.fold`` trains each
on the data ``dvc repro`` split. Fails loudly if any patient would land in two splits, except
where the user asked for it: ``split.records`` lists that part a patient (reported), or
``strategy=random`` (the leaky split, marked ``leaky`` in the report).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ecgpipe.config.schema import Config
from ecgpipe.core import atomic
from ecgpipe.core.paths import Paths
from ecgpipe.data import splitting
from ecgpipe.evaluation import headline
from ecgpipe.processing.cache import Cache

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths) -> dict:
    s = cfg.split
    cache = Cache.open(paths.processed)
    patients, y, n_classes = cache.patients, cache.labels, len(cache.classes)
    records = cache.index["record_id"].to_numpy()
    absent: dict[str, list[str]] = {}
    every_fold: list[splitting.Split] = []
    if s.strategy == "kfold":
        assignment = splitting.kfold(patients, y, n_classes, s.k, s.seed)
        every_fold = [splitting.kfold_split(assignment, f, s.k) for f in range(s.k)]
        split = every_fold[s.fold]
    elif s.strategy == "folds":
        folds = cache.index["fold"].to_numpy()
        if (folds < 0).all():
            raise splitting.SplitError(
                f"dataset {cache.meta['dataset']} has no folds; use split.strategy=stratified"
            )
        assignment = {"train": s.train_folds, "val": s.val_folds, "test": s.test_folds}
        split = splitting.by_folds(folds, y, assignment)
    elif s.strategy == "records":
        split, absent = splitting.by_records(
            records, patients, y, n_classes, s.records, dict(s.ratios), s.seed
        )
    elif s.strategy == "random":
        split = splitting.random_rows(y, n_classes, dict(s.ratios), s.seed)
    else:
        split = splitting.stratified(patients, y, n_classes, dict(s.ratios), s.seed)

    report = {"strategy": s.strategy, **splitting.summary(split, patients, y, cache.classes)}
    if s.strategy == "kfold":
        report |= {"k": s.k, "fold": s.fold}
    overlap = splitting.overlapping_patients(split, patients)
    if cache.unit == "beat":
        for name, part in split.parts().items():
            report[name]["records"] = sorted(set(records[part]))
    if s.strategy == "random":
        report["leaky"] = True
        log.warning(
            "split (random): LEAKY by design: %d patients have rows in more than one split; "
            "test figures will overstate performance on new patients",
            len(overlap),
        )
    elif s.strategy == "records":
        report["records_absent"] = absent
        report["listed_patient_overlap"] = overlap  # only the lists can part a patient
        for patient in overlap:
            log.warning(
                "split (records): the records of patient %s are listed in two splits "
                "(split.records, kept as given: the published DS1/DS2 lists part 201 and 202)",
                patient,
            )
    elif overlap:
        raise splitting.SplitError(
            f"{len(overlap)} patients are in more than one split; the split would "
            "leak. Check that the dataset's folds are assigned per patient."
        )
    for fold, each in enumerate(every_fold or [split]):
        for name, part in each.parts().items():
            if part.size == 0:
                where = f" of fold {fold}" if every_fold else ""
                raise splitting.SplitError(
                    f"the {name} split{where} is empty; check the split settings"
                )
    with atomic.directory(paths.split) as out:
        save(split, out)
        for fold, each in enumerate(every_fold):
            save(each, out / "folds" / str(fold))
    atomic.write_json(paths.reports / "split.json", report)
    atomic.write_json(paths.headline("split"), headline.split(report))
    unit = "beats" if cache.unit == "beat" else "records"
    log.info(
        "split (%s): train %d, val %d, test %d %s; %d unlabelled, %d unassigned left out; "
        "patient overlap %d",
        s.strategy,
        report["train"]["n_records"],
        report["val"]["n_records"],
        report["test"]["n_records"],
        unit,
        report["n_unlabelled"],
        report["n_unassigned"],
        report["patient_overlap"],
    )
    return report


def save(split: splitting.Split, where: Path) -> None:
    where.mkdir(parents=True, exist_ok=True)
    for name, part in split.parts().items():
        np.save(where / f"{name}.npy", part.astype(np.int64))
