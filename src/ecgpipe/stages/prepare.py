"""Stage ``prepare``: produce a dataset and its manifest in ``data/prepared``.

``data=synthetic`` generates a dataset in PTB-XL's layout under ``data/prepared/source`` and reads
it with the PTB-XL reader; ``data=ptbxl``, ``data=cinc2017``, ``data=mitdb`` and
``data=wfdb_folder`` read the folder at ``data.root`` with their readers (:mod:`ecgpipe.data`).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ecgpipe import atomic, manifest
from ecgpipe.config import (
    Cinc2017DataConfig,
    Config,
    MitdbDataConfig,
    PtbxlDataConfig,
    SyntheticDataConfig,
    WfdbFolderDataConfig,
)
from ecgpipe.manifest import DatasetInfo, decode_labels
from ecgpipe.paths import Paths

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths) -> None:
    with atomic.directory(paths.prepared) as out:
        df, info = read(cfg, paths, out)
        manifest.write(df, out / "manifest.csv")
        info.write(out / "dataset.json")
    unlabelled = sum(not decode_labels(x) for x in df["labels"][df["label_error"] == ""])
    log.info(
        "prepare: %d records, %d patients, task %s (%s), %s -> %s",
        len(df),
        df["patient_id"].nunique(),
        info.task,
        ", ".join(info.classes),
        "beats labelled by their annotations"
        if info.label_kind == "beat"
        else f"{unlabelled} without a label for it",
        paths.prepared.relative_to(paths.root),
    )


def read(cfg: Config, paths: Paths, out: Path) -> tuple[pd.DataFrame, DatasetInfo]:
    """The manifest and description of the configured dataset (generated into ``out`` first)."""
    data = cfg.data
    if isinstance(data, SyntheticDataConfig):
        return _synthetic(data, paths, out)
    root = Path(data.root)
    root = root if root.is_absolute() else paths.root / root
    if isinstance(data, PtbxlDataConfig):
        from ecgpipe.data import ptbxl

        if data.download and not (root / ptbxl.DATABASE).is_file():
            log.info("prepare: downloading PTB-XL into %s", root)
            ptbxl.download(root)
        return ptbxl.read(
            root, root_label=data.root, sampling_rate=data.sampling_rate, task=data.task
        )
    if isinstance(data, Cinc2017DataConfig):
        from ecgpipe.data import cinc2017

        return cinc2017.read(
            root,
            root_label=data.root,
            classes=tuple(data.classes),
            sampling_rate=data.sampling_rate,
            min_duration_s=data.min_duration_s,
            max_duration_s=data.max_duration_s,
        )
    if isinstance(data, MitdbDataConfig):
        from ecgpipe.data import mitdb

        return mitdb.read(
            root,
            root_label=data.root,
            classes=tuple(data.classes),
            sampling_rate=data.sampling_rate,
            lead=data.lead,
            annotator=data.annotator,
            include_paced=data.include_paced,
        )
    assert isinstance(data, WfdbFolderDataConfig)
    from ecgpipe.data import wfdb_folder

    return wfdb_folder.read(
        root,
        root_label=data.root,
        labels_file=data.labels_file,
        label_kind=data.label_kind,
        task=data.task,
        classes=tuple(data.classes) if data.classes else None,
        sampling_rate=data.sampling_rate,
        leads=tuple(data.leads) if data.leads else None,
        min_duration_s=data.min_duration_s,
        max_duration_s=data.max_duration_s,
    )


def _synthetic(
    data: SyntheticDataConfig, paths: Paths, out: Path
) -> tuple[pd.DataFrame, DatasetInfo]:
    from ecgpipe.data import ptbxl
    from ecgpipe.data.synthetic import generate

    summary = generate(data, out / "source")
    log.info(
        "prepare: generated %d records of %d patients (%d defective) in %.1f s: "
        "%.0f records/s with %d workers",
        summary.n_records,
        summary.n_patients,
        summary.n_defective,
        summary.seconds,
        summary.records_per_second,
        summary.workers,
    )
    # The manifest root is the final location, not the temp dir being written.
    label = str(paths.prepared.relative_to(paths.root) / "source")
    df, info = ptbxl.read(
        out / "source",
        root_label=label,
        sampling_rate=data.sampling_rate,
        task=data.task,
        duration_s=data.duration_s,
    )
    return df, replace(info, name=data.name)  # read in PTB-XL's layout, but named as it is
