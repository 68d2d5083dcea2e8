"""Reader for the MIT-BIH Arrhythmia Database (Moody and Mark 2001) as published.

48 half-hour records, two leads at 360 Hz in format 212, each with reference beat annotations
(``.atr``). ``RECORDS`` lists them (without it, every header in the folder). The rows of this
dataset are beats, not records: the manifest still has one row per record (its labels live in the
annotation file: ``label_kind`` ``beat``), and ``preprocess`` cuts one row per annotated beat
(:mod:`ecgpipe.processing.beats`).

- The lead read is ``data.lead`` (MLII), found by name: it is the first channel of every record
  but 114, where it is the second.
- Each record is its own patient, except 201 and 202, which come from one subject: they share a
  ``patient_id``, so splits the project draws keep them together (the published DS1/DS2 lists part
  them; ``split`` reports that).
- The paced records 102, 104, 107 and 217 are excluded by validate with that reason (AAMI EC57
  leaves them out) unless ``data.include_paced``.
- A record listed in ``RECORDS`` but absent is validate's ``missing_file``; a header in the folder
  that ``RECORDS`` does not list is kept with a ``label_error``, so it is reported, not dropped.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ecgpipe.config.schema import MitdbDataConfig
from ecgpipe.core.paths import Paths
from ecgpipe.data.manifest import DatasetInfo, encode_labels
from ecgpipe.data.tables import DatasetError, header_records

RECORDS = "RECORDS"
PACED = ("102", "104", "107", "217")
SUBJECTS = {"201": "201+202", "202": "201+202"}
"""Records of one subject; every other record is its own patient."""
TASK = "aami_beats"


def read(
    root: Path,
    *,
    root_label: str,
    classes: tuple[str, ...],
    sampling_rate: float,
    lead: str,
    annotator: str,
    include_paced: bool,
) -> tuple[pd.DataFrame, DatasetInfo]:
    """The manifest of an MIT-BIH copy at ``root`` (the folder with ``RECORDS``)."""
    present = header_records(root, recursive=False)
    listing = root / RECORDS
    if listing.is_file():
        try:
            listed = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as err:
            raise DatasetError(f"{listing}: cannot be read ({err})") from None
        if not listed:
            raise DatasetError(f"{listing}: lists no records")
    elif present:
        listed = sorted(present)
    else:
        raise DatasetError(f"{root}: no {RECORDS} file and no WFDB headers (.hea)")
    rows = [_row(r, sampling_rate, lead, include_paced) for r in listed]
    rows += [
        _row(r, sampling_rate, lead, include_paced, error=f"not listed in {listing}")
        for r in sorted(present - set(listed))
    ]
    info = DatasetInfo(
        name="mitdb",
        root=root_label,
        task=TASK,
        label_kind="beat",
        classes=tuple(classes),
        fs=float(sampling_rate),
        leads=(lead,),
        min_duration_s=None,
        max_duration_s=None,
        annotator=annotator,
    )
    return pd.DataFrame(rows), info


def _row(
    record: str, fs: float, lead: str, include_paced: bool, error: str = ""
) -> dict[str, object]:
    if not error and record in PACED and not include_paced:
        error = "paced record: AAMI EC57 leaves these out (data.include_paced=true keeps them)"
    return {
        "record_id": record,
        "patient_id": SUBJECTS.get(record, record),
        "path": record,
        "fs": float(fs),
        "n_leads": 0,  # 2, but which leads besides MLII varies: validate reads the header
        "leads": lead,
        "n_samples": -1,
        "labels": encode_labels([]),
        "label_error": error,
        "fold": -1,
    }


def from_config(data: MitdbDataConfig, paths: Paths, out: Path) -> tuple[pd.DataFrame, DatasetInfo]:
    """The reader of ``data=mitdb`` (see :mod:`ecgpipe.data.readers`)."""
    return read(
        paths.under_root(data.root),
        root_label=data.root,
        classes=tuple(data.classes),
        sampling_rate=data.sampling_rate,
        lead=data.lead,
        annotator=data.annotator,
        include_paced=data.include_paced,
    )
