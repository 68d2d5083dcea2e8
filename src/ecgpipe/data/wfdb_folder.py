"""Reader for the user's own recordings: a folder of WFDB records and a labels file.

The folder holds WFDB records in any format wfdb reads (``.dat``, ``.mat``, ...), at any
sampling rate, with any leads and length, in subfolders if wanted. The labels file (``labels.csv``
by default, in the folder) has a header row and the columns

- ``record``: the record's path relative to the folder, without extension (``ward2/rec017``);
- ``labels``: its class names, ``;``-separated (exactly one for ``label_kind: multiclass``; empty
  for a record without a label, which is kept and counted, and left out by split);
- ``patient_id`` (optional): records of one patient never go to two splits; without it each
  record is its own patient;
- ``fold`` (optional): an integer fold for ``split.strategy=folds``.

Nothing is dropped silently. A row whose labels cannot be used (an unknown class, two classes for
single-label data, a bad fold, a path outside the folder) and a record in the folder that the
file does not list are kept with a ``label_error``, which validate reports and excludes; a listed
record that is absent is validate's ``missing_file``.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import pandas as pd

from ecgpipe.config.schema import WfdbFolderDataConfig
from ecgpipe.core.paths import Paths
from ecgpipe.data.manifest import DatasetInfo, encode_labels
from ecgpipe.data.tables import DatasetError, header_records, read_table

REQUIRED = ("record", "labels")
OPTIONAL = ("patient_id", "fold")


def read(
    root: Path,
    *,
    root_label: str,
    labels_file: str,
    label_kind: str,
    task: str,
    classes: tuple[str, ...] | None,
    sampling_rate: float | None,
    leads: tuple[str, ...] | None,
    min_duration_s: float,
    max_duration_s: float | None,
) -> tuple[pd.DataFrame, DatasetInfo]:
    """The manifest of the folder ``root`` and its labels file."""
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; point data.root at the folder of records")
    path = root / labels_file
    table = read_table(path, required=REQUIRED, what="the records' labels")
    names = [_split(text) for text in table["labels"]]
    known = tuple(classes) if classes else tuple(sorted({n for ns in names for n in ns}))
    if not known:
        raise DatasetError(f"{path}: no record has a label (column 'labels' is empty)")
    rows = []
    for line, (row, labels) in enumerate(zip(table.itertuples(index=False), names, strict=True), 2):
        fold, fold_error = _fold(getattr(row, "fold", ""))
        error = _record_error(row.record) or _label_error(labels, known, label_kind) or fold_error
        patient = getattr(row, "patient_id", "") or row.record
        error = f"{path.name} line {line}: {error}" if error else ""
        rows.append(_row(row.record, patient, labels, error, fold, sampling_rate, leads))
    listed = set(table["record"])
    rows += [
        _row(record, record, [], f"not listed in {path.name}", -1, sampling_rate, leads)
        for record in sorted(header_records(root, recursive=True) - listed)
    ]
    info = DatasetInfo(
        name="wfdb_folder",
        root=root_label,
        task=task,
        label_kind=label_kind,
        classes=known,
        fs=sampling_rate,
        leads=tuple(leads or ()),
        min_duration_s=min_duration_s,
        max_duration_s=max_duration_s,
    )
    return pd.DataFrame(rows), info


def _split(text: str) -> list[str]:
    return [name.strip() for name in text.split(";") if name.strip()]


def _record_error(record: str) -> str:
    if not record:
        return "empty record path"
    path = PurePosixPath(record)
    if path.is_absolute() or ".." in path.parts or "\\" in record:
        return f"record {record!r} must be a path inside the folder, with / between folders"
    return ""


def _label_error(labels: list[str], known: tuple[str, ...], label_kind: str) -> str:
    if unknown := [n for n in labels if n not in known]:
        return f"unknown class(es) {', '.join(unknown)} (data.classes: {', '.join(known)})"
    if len(set(labels)) < len(labels):
        return f"a class is listed twice: {';'.join(labels)}"
    if label_kind == "multiclass" and len(labels) > 1:
        return f"{len(labels)} classes ({';'.join(labels)}) for single-label data"
    return ""


def _fold(text: str) -> tuple[int, str]:
    if not text:
        return -1, ""
    try:
        return int(text), ""
    except ValueError:
        return -1, f"fold {text!r} is not an integer"


def _row(
    record: str,
    patient: str,
    labels: list[str],
    error: str,
    fold: int,
    fs: float | None,
    leads: tuple[str, ...] | None,
) -> dict[str, object]:
    return {
        "record_id": record,
        "patient_id": patient,
        "path": record,
        "fs": float(fs or 0.0),
        "n_leads": len(leads or ()),
        "leads": "|".join(leads or ()),
        "n_samples": -1,
        "labels": encode_labels([] if error else labels),
        "label_error": error,
        "fold": fold,
    }


def from_config(
    data: WfdbFolderDataConfig, paths: Paths, out: Path
) -> tuple[pd.DataFrame, DatasetInfo]:
    """The reader of ``data=wfdb_folder`` (see :mod:`ecgpipe.data.readers`)."""
    return read(
        paths.under_root(data.root),
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
