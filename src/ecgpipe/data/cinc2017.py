"""Reader for the PhysioNet/CinC Challenge 2017 training set (Clifford et al. 2017) as published.

``REFERENCE.csv`` (no header row, LF or CRLF line endings) gives each record's rhythm class:
``N`` normal sinus rhythm, ``A`` atrial fibrillation, ``O`` other rhythm, ``~`` too noisy to
classify. Each record is a WFDB header with a MATLAB v4 ``.mat`` signal: one lead (``ECG``) at
300 Hz, 9 to 61 s long. There are no patient ids; each record is its own patient.

Like every reader it reads no signal. It reports instead of dropping: a record listed with a
class the challenge does not have, or present in the folder but not listed, is kept with its
``label_error`` for validate to exclude and report; one listed but absent is validate's
``missing_file``. A record of a class left out of ``data.classes`` stays, unlabelled and counted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ecgpipe.config.schema import CINC2017_LEADS as LEADS
from ecgpipe.config.schema import Cinc2017DataConfig
from ecgpipe.core.paths import Paths
from ecgpipe.data.manifest import DatasetInfo, encode_labels
from ecgpipe.data.tables import header_records, read_table

CLASSES = ("N", "A", "O", "~")
REFERENCE = "REFERENCE.csv"
TASK = "rhythm"


def read(
    root: Path,
    *,
    root_label: str,
    classes: tuple[str, ...],
    sampling_rate: float,
    min_duration_s: float,
    max_duration_s: float | None,
) -> tuple[pd.DataFrame, DatasetInfo]:
    """The manifest of a CinC 2017 copy at ``root`` (records beside ``REFERENCE.csv``)."""
    reference = read_table(
        root / REFERENCE, names=("record", "label"), what="CinC 2017 reference labels"
    )
    listed = set(reference["record"])
    rows = [
        _row(record, label, classes, sampling_rate)
        for record, label in zip(reference["record"], reference["label"], strict=True)
    ]
    rows += [
        _row(record, "", classes, sampling_rate, error=f"not listed in {REFERENCE}")
        for record in sorted(header_records(root, recursive=False) - listed)
    ]
    info = DatasetInfo(
        name="cinc2017",
        root=root_label,
        task=TASK,
        label_kind="multiclass",
        classes=tuple(classes),
        fs=float(sampling_rate),
        leads=LEADS,
        min_duration_s=min_duration_s,
        max_duration_s=max_duration_s,
    )
    return pd.DataFrame(rows), info


def _row(
    record: str, label: str, classes: tuple[str, ...], fs: float, error: str = ""
) -> dict[str, object]:
    if not error and label not in CLASSES:
        error = f"unknown class {label!r} in {REFERENCE} (the challenge's are {', '.join(CLASSES)})"
    return {
        "record_id": record,
        "patient_id": record,
        "path": record,
        "fs": float(fs),
        "n_leads": len(LEADS),
        "leads": "|".join(LEADS),
        "n_samples": -1,
        "labels": encode_labels([label] if label in classes and not error else []),
        "label_error": error,
        "fold": -1,
    }


def from_config(
    data: Cinc2017DataConfig, paths: Paths, out: Path
) -> tuple[pd.DataFrame, DatasetInfo]:
    """The reader of ``data=cinc2017`` (see :mod:`ecgpipe.data.readers`)."""
    return read(
        paths.under_root(data.root),
        root_label=data.root,
        classes=tuple(data.classes),
        sampling_rate=data.sampling_rate,
        min_duration_s=data.min_duration_s,
        max_duration_s=data.max_duration_s,
    )
