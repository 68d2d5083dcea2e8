"""Reader for PTB-XL (Wagner et al. 2020) in its own on-disk layout, real or synthetic.

Turns ``ptbxl_database.csv`` and ``scp_statements.csv`` into a manifest. It reads no signal:
whether the files exist and agree with what is declared here is for ``validate`` to find out.
A row whose labels cannot be read is kept with its ``label_error`` so that validate reports it.
"""

from __future__ import annotations

import ast
import logging
import math
from pathlib import Path

import pandas as pd

from ecgpipe.config.schema import PTBXL_LEADS as LEADS
from ecgpipe.config.schema import PTBXL_SECONDS as DURATION_S
from ecgpipe.config.schema import PtbxlDataConfig
from ecgpipe.core.paths import Paths
from ecgpipe.data.labels import ScpStatements
from ecgpipe.data.manifest import DatasetInfo, encode_labels
from ecgpipe.data.tables import DatasetError, read_table

log = logging.getLogger("ecgpipe")

DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
REQUIRED = ("ecg_id", "patient_id", "scp_codes", "strat_fold", "filename_lr", "filename_hr")
FILENAME_COLUMN = {100: "filename_lr", 500: "filename_hr"}


class PtbxlError(DatasetError):
    """The PTB-XL copy cannot be read as a whole (a per-record problem is not raised)."""


def parse_scp_codes(text: str) -> dict[str, float]:
    """Parse PTB-XL's ``scp_codes`` cell, a Python dict literal of code -> likelihood."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise ValueError(f"scp_codes is not a dict literal: {text!r}") from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) for k, v in value.items()
    ):
        raise ValueError(f"scp_codes is not a dict of code -> likelihood: {text!r}")
    return {k: float(v) for k, v in value.items()}


SEXES = {"0": "M", "1": "F"}
"""PTB-XL's sex codes, as the challenge headers write sex."""
OLDEST = 90
"""PTB-XL writes the age of a patient over 89 as 300: at least this old."""


def describe(row: object) -> dict[str, str]:
    """What PTB-XL says of a record's patient and recording, where its table has the column:
    age in years (at least :data:`OLDEST` where it writes 300), sex (M or F), site, device and
    the recording's date (YYYY-MM-DD)."""
    out = {}
    if (age := _number(getattr(row, "age", ""))) is not None:
        out["age"] = f"{min(age, OLDEST):g}"
    if hasattr(row, "sex"):
        out["sex"] = SEXES.get(_integer(row.sex), "")
    if hasattr(row, "site"):
        out["site"] = _integer(row.site)
    if hasattr(row, "device"):
        out["device"] = " ".join(row.device.split())
    if hasattr(row, "recording_date"):
        out["date"] = row.recording_date.strip()[:10]
    return out


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _integer(text: str) -> str:
    """``2.0`` as ``2``; other text as it is."""
    value = _number(text)
    return str(int(value)) if value is not None and value.is_integer() else text.strip()


def _patient(text: str) -> str:
    """PTB-XL writes patient ids as floats (``15709.0``); keep the integer part."""
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if math.isfinite(number) and number.is_integer() else text


def download(root: Path) -> None:
    """Fetch PTB-XL from PhysioNet into ``root`` (needs a network; never used offline)."""
    from ecgpipe.data import wfdb_io

    wfdb_io.download("ptb-xl", root, [DATABASE, STATEMENTS])


def read(
    root: Path,
    *,
    root_label: str,
    sampling_rate: int,
    task: str,
    duration_s: float = DURATION_S,
) -> tuple[pd.DataFrame, DatasetInfo]:
    """Build the manifest of a PTB-XL copy at ``root``.

    ``root_label`` is how the root is written into ``dataset.json`` (as configured, so that a
    relative root stays relative). Every record is declared ``duration_s`` long (PTB-XL's 10 s;
    the synthetic generator in this layout can make others).
    """
    if sampling_rate not in FILENAME_COLUMN:
        raise PtbxlError(f"PTB-XL has 100 and 500 Hz records, not {sampling_rate} Hz")
    database = root / DATABASE
    if not database.is_file():
        raise PtbxlError(
            f"{database}: not found. Point data.root at a PTB-XL copy, or set "
            "data.download=true to fetch it from PhysioNet."
        )
    try:
        statements = ScpStatements.read(root / STATEMENTS, task)
    except (FileNotFoundError, ValueError) as err:
        raise PtbxlError(str(err)) from None
    table = read_table(database, required=REQUIRED, what="PTB-XL's record table")

    rows = []
    for line, row in enumerate(table.itertuples(index=False), start=2):
        record_id = row.ecg_id.strip()
        try:
            fold = int(float(row.strat_fold))
        except ValueError:
            raise PtbxlError(
                f"{database} line {line} (ecg_id {record_id}): strat_fold "
                f"{row.strat_fold!r} is not an integer"
            ) from None
        labels: list[str] = []
        error = ""
        try:
            codes = parse_scp_codes(row.scp_codes)
        except ValueError as err:
            error = str(err)
        else:
            if unknown := statements.unknown(codes):
                error = f"unknown SCP code(s) {', '.join(unknown)} (not in {STATEMENTS})"
            labels = statements.labels(codes)
        rows.append(
            {
                "record_id": record_id,
                "patient_id": _patient(row.patient_id),
                "path": getattr(row, FILENAME_COLUMN[sampling_rate]).strip(),
                "fs": float(sampling_rate),
                "n_leads": len(LEADS),
                "leads": "|".join(LEADS),
                "n_samples": round(duration_s * sampling_rate),
                "labels": encode_labels(labels),
                "label_error": error,
                "fold": fold,
            }
            | describe(row)
        )
    info = DatasetInfo(
        name="ptbxl",
        root=root_label,
        task=task,
        label_kind="multilabel",
        classes=statements.classes,
        fs=float(sampling_rate),
        leads=LEADS,
        min_duration_s=duration_s,
        max_duration_s=duration_s,
    )
    return pd.DataFrame(rows), info


def from_config(data: PtbxlDataConfig, paths: Paths, out: Path) -> tuple[pd.DataFrame, DatasetInfo]:
    """The reader of ``data=ptbxl`` (see :mod:`ecgpipe.data.readers`); downloads PTB-XL first
    where ``data.download`` asks and ``data.root`` holds none."""
    root = paths.under_root(data.root)
    if data.download and not (root / DATABASE).is_file():
        log.info("prepare: downloading PTB-XL into %s", root)
        download(root)
    return read(root, root_label=data.root, sampling_rate=data.sampling_rate, task=data.task)
