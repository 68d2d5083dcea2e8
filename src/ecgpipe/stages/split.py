"""Stage ``split``: patient-disjoint train / val / test indices into the preprocessed cache.

Writes ``data/split/{train,val,test}.npy`` (sorted row indices) and ``reports/split.json``
(DVC metrics); fails loudly if any patient would land in two splits.
"""

from __future__ import annotations

import logging

import numpy as np

from ecgpipe import atomic, splitting
from ecgpipe.cache import Cache
from ecgpipe.config import Config
from ecgpipe.paths import Paths

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths) -> dict:
    s = cfg.split
    cache = Cache.open(paths.processed)
    patients, y = cache.patients, cache.labels
    if s.strategy == "folds":
        folds = cache.index["fold"].to_numpy()
        if (folds < 0).all():
            raise splitting.SplitError(
                f"dataset {cache.meta['dataset']} has no folds; use split.strategy=stratified"
            )
        assignment = {"train": s.train_folds, "val": s.val_folds, "test": s.test_folds}
        split = splitting.by_folds(folds, y, assignment)
    else:
        split = splitting.stratified(patients, y, len(cache.classes), dict(s.ratios), s.seed)

    report = {"strategy": s.strategy, **splitting.summary(split, patients, y, cache.classes)}
    if report["patient_overlap"]:
        raise splitting.SplitError(
            f"{report['patient_overlap']} patients are in more than one split; the split would "
            "leak. Check that the dataset's folds are assigned per patient."
        )
    for name, part in split.parts().items():
        if part.size == 0:
            raise splitting.SplitError(f"the {name} split is empty; check the split settings")
    with atomic.directory(paths.split) as out:
        for name, part in split.parts().items():
            np.save(out / f"{name}.npy", part.astype(np.int64))
    atomic.write_json(paths.reports / "split.json", report)
    log.info(
        "split (%s): train %d, val %d, test %d records; %d unlabelled left out; patient overlap 0",
        s.strategy,
        report["train"]["n_records"],
        report["val"]["n_records"],
        report["test"]["n_records"],
        report["n_unlabelled"],
    )
    return report
