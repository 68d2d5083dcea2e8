"""Reader for the user's own recordings: a folder of WFDB records, labelled by a labels file or
by their own headers.

The folder holds WFDB records in any format wfdb reads (``.dat``, ``.mat``, ...), at any
sampling rate, with any leads and length, in subfolders if wanted. The labels file (``labels.csv``
by default, in the folder) has a header row and the columns

- ``record``: the record's path relative to the folder, without extension (``ward2/rec017``);
- ``labels``: its class names, ``;``-separated (exactly one for ``label_kind: multiclass``; empty
  for a record without a label, which is kept and counted, and left out by split);
- ``patient_id`` (optional): records of one patient never go to two splits; without it each
  record is its own patient;
- ``fold`` (optional): an integer fold for ``split.strategy=folds``;
- any other column (``age``, ``sex``, ``site``, ``scanner``, ...): what is known of the record,
  carried into the manifest as text for ``evaluate.subgroups``.

Nothing is dropped silently. A row whose labels cannot be used (an unknown class, two classes for
single-label data, a bad fold, a path outside the folder) and a record in the folder that the
file does not list are kept with a ``label_error``, which validate reports and excludes; a listed
record that is absent is validate's ``missing_file``.

With ``data.label_source=header`` there is no labels file: each record's header carries its
labels as the PhysioNet/CinC Challenges 2020 and 2021 distribute them (``#Dx:`` SNOMED CT codes,
``#Age:``, ``#Sex:``; :mod:`ecgpipe.data.snomed`). Codes map onto the challenge's scored classes
(equivalent codes counted as one); ``data.classes`` may name codes or abbreviations (null: every
scored class some record has). Unscored codes are counted and reported, not labels. Age and sex go
to the manifest. A header without ``#Dx``, with a code the table does not know, or with a
malformed line is kept with a ``label_error`` (validate excludes it, with the reason); each record
is its own patient.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path, PurePosixPath, PureWindowsPath

import pandas as pd

from ecgpipe.config.schema import WfdbFolderDataConfig
from ecgpipe.core.paths import Paths
from ecgpipe.data import manifest, plausibility, snomed
from ecgpipe.data.manifest import DatasetInfo, encode_labels
from ecgpipe.data.tables import DatasetError, header_records, read_table
from ecgpipe.data.wfdb_io import read_comments

log = logging.getLogger("ecgpipe")

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
    label_source: str = "file",
) -> tuple[pd.DataFrame, DatasetInfo]:
    """The manifest of the folder ``root`` and its labels file (or its headers' labels)."""
    if not root.is_dir():
        raise DatasetError(f"{root}: not a folder; point data.root at the folder of records")
    info = DatasetInfo(
        name="wfdb_folder",
        root=root_label,
        task=task,
        label_kind=label_kind,
        classes=(),
        fs=sampling_rate,
        leads=tuple(leads or ()),
        min_duration_s=min_duration_s,
        max_duration_s=max_duration_s,
    )
    if label_source == "header":
        rows, known = _header_rows(root, label_kind, classes, sampling_rate, leads)
        return pd.DataFrame(rows), replace(info, classes=known)
    path = root / labels_file
    table = read_table(path, required=REQUIRED, what="the records' labels")
    table["record"] = table["record"].str.replace("\\", "/")  # a table written on Windows
    names = [_split(text) for text in table["labels"]]
    known = tuple(classes) if classes else tuple(sorted({n for ns in names for n in ns}))
    if not known:
        raise DatasetError(f"{path}: no record has a label (column 'labels' is empty)")
    described = [c for c in table.columns if c not in (*REQUIRED, *OPTIONAL)]
    if clash := [c for c in described if c in manifest.COLUMNS]:
        raise DatasetError(
            f"{path}: column(s) {clash} are the manifest's own; rename them (the columns beside "
            f"{', '.join(REQUIRED + OPTIONAL)} describe each record, e.g. age, sex, site)"
        )
    extras = [{c: r[c] for c in described} for r in table.to_dict("records")]
    rows = []
    for line, (row, labels, extra) in enumerate(
        zip(table.itertuples(index=False), names, extras, strict=True), 2
    ):
        fold, fold_error = _fold(getattr(row, "fold", ""))
        extra, described_error = _described(extra)
        error = (
            _record_error(row.record)
            or _label_error(labels, known, label_kind)
            or fold_error
            or described_error
        )
        patient = getattr(row, "patient_id", "") or row.record
        error = f"{path.name} line {line}: {error}" if error else ""
        rows.append(_row(row.record, patient, labels, error, fold, sampling_rate, leads) | extra)
    listed = set(table["record"])
    rows += [
        _row(record, record, [], f"not listed in {path.name}", -1, sampling_rate, leads)
        for record in sorted(header_records(root, recursive=True) - listed)
    ]
    return pd.DataFrame(rows), replace(info, classes=known)


def _header_rows(
    root: Path,
    label_kind: str,
    classes: tuple[str, ...] | None,
    fs: float | None,
    leads: tuple[str, ...] | None,
) -> tuple[list[dict[str, object]], tuple[str, ...]]:
    """A row per record under ``root``, labelled by its header; and the classes."""
    records = sorted(header_records(root, recursive=True))
    if not records:
        raise DatasetError(f"{root}: no WFDB headers (.hea) in this folder or below it")
    headers = {}
    for record in records:
        try:
            headers[record] = snomed.parse(read_comments(root / record))
        except (OSError, ValueError) as err:
            headers[record] = snomed.Header((), (), None, "", f"header unreadable ({err})")
    if classes:
        known = tuple(snomed.class_of(n) or "" for n in classes)
        if unknown := [n for n, k in zip(classes, known, strict=True) if not k]:
            raise DatasetError(
                f"data.classes: {', '.join(unknown)} name(s) no scored class of the 2020/2021 "
                f"challenges (codes or abbreviations: {', '.join(snomed.scored_classes())})"
            )
        if len(set(known)) < len(known):
            raise DatasetError(f"data.classes: {list(classes)} name one class twice")
    else:
        present = {c for h in headers.values() for c in h.classes}
        known = tuple(c for c in snomed.scored_classes() if c in present)
        if not known:
            raise DatasetError(f"{root}: no header has a scored SNOMED CT code in '#Dx:'")
    rows = []
    for record, h in headers.items():
        labels = [c for c in h.classes if c in known]
        error = h.error
        if not error and label_kind == "multiclass" and len(labels) > 1:
            error = f"{len(labels)} classes ({';'.join(labels)}) for single-label data"
        row = _row(record, record, labels, f"header: {error}" if error else "", -1, fs, leads)
        rows.append(row | {"age": "" if h.age is None else f"{h.age:g}", "sex": h.sex})
    unscored = Counter(c for h in headers.values() for c in h.unscored)
    if unscored:
        table = snomed.table()
        log.info(
            "prepare: %d records carry codes the challenge does not score (not labels): %s",
            sum(1 for h in headers.values() if h.unscored),
            ", ".join(f"{table[c].abbreviation} ({c}) {n}" for c, n in unscored.most_common()),
        )
    return rows, known


def _split(text: str) -> list[str]:
    return [name.strip() for name in text.split(";") if name.strip()]


def _described(extra: dict[str, str]) -> tuple[dict[str, str], str]:
    """A row's further columns, with ``age`` and ``sex`` read as the headers' (M, F or empty);
    the problem with them, if any."""
    problems = []
    if "age" in extra:
        years, problem = plausibility.age(extra["age"], f"age {extra['age']!r}")
        extra = extra | {"age": "" if years is None else f"{years:g}"}
        problems.append(problem)
    if "sex" in extra:
        sex, problem = plausibility.sex(extra["sex"], f"sex {extra['sex']!r}")
        extra = extra | {"sex": sex}
        problems.append(problem)
    return extra, next((p for p in problems if p), "")


def _record_error(record: str) -> str:
    if not record:
        return "empty record path"
    path = PurePosixPath(record)
    if path.is_absolute() or ".." in path.parts or PureWindowsPath(record).drive:
        return f"record {record!r} must be a path inside the folder"
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
        label_source=data.label_source,
    )
