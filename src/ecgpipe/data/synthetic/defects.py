"""Deliberate defects: a known share of records broken in one known way each.

The plan is drawn from ``np.random.default_rng([seed, DEFECT_STREAM])``; the defective records
are disjoint and their kinds cycle through :data:`KINDS`, so every kind occurs once there are
nine of them. ``defects.json`` lists every affected row (both rows of a duplicated ecg_id).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgpipe.config.schema import PTBXL_LEADS as LEADS
from ecgpipe.data.synthetic.wfdb_writer import ADC_MAX, INVALID, record_path

DEFECT_STREAM = 0xDEFEC7

KINDS: tuple[str, ...] = (
    "flat_lead",
    "nan_run",
    "saturated_run",
    "truncated_dat",
    "missing_file",
    "header_signal_count",
    "header_length",
    "unknown_scp_code",
    "duplicate_ecg_id",
)
SIGNAL_KINDS = ("flat_lead", "nan_run", "saturated_run")


@dataclass(frozen=True)
class Defect:
    """How one record is broken; which fields matter depends on ``kind``."""

    index: int  # the broken record's position (ecg_id - 1)
    kind: str
    detail: str
    lead: int = 0  # flat_lead, nan_run, saturated_run
    start: int = 0  # first sample of a run
    length: int = 0  # samples in a run; bytes kept (truncated_dat); declared sig_len
    value: int = 0  # the run's digital value
    missing: str = ""  # "dat" or "hea"
    code: str = ""  # unknown_scp_code
    partner: int = -1  # duplicate_ecg_id: the record whose ecg_id this row repeats


def plan(seed: int, n_records: int, rate: float, fs: int, n_samples: int) -> dict[int, Defect]:
    """The defects of a dataset, keyed by record index (partners of duplicates not included)."""
    rng = np.random.default_rng([seed, DEFECT_STREAM])
    n_defective = round(rate * n_records)
    order = rng.permutation(n_records)
    chosen, spare = order[:n_defective], list(order[n_defective:])
    defects: dict[int, Defect] = {}
    n_missing = 0
    for i, index in enumerate(chosen.tolist()):
        kind = KINDS[i % len(KINDS)]
        lead = int(rng.integers(len(LEADS)))
        name = record_path(index + 1, fs).rsplit("/", 1)[1]
        if kind == "flat_lead":
            d = Defect(index, kind, f"lead {LEADS[lead]} constant 0", lead=lead)
        elif kind in ("nan_run", "saturated_run"):
            lo = 0.2 if kind == "nan_run" else 0.3
            length = round(rng.uniform(lo, 1.0) * fs)
            start = int(rng.integers(0, n_samples - length + 1))
            value = INVALID if kind == "nan_run" else int(rng.choice([ADC_MAX, -ADC_MAX]))
            what = "invalid" if kind == "nan_run" else "clipped at"
            detail = (
                f"lead {LEADS[lead]} samples {start}-{start + length - 1} "
                f"({length / fs:.2f} s) {what} {value}"
            )
            d = Defect(index, kind, detail, lead=lead, start=start, length=length, value=value)
        elif kind == "truncated_dat":
            total = n_samples * len(LEADS) * 2
            keep = int(rng.uniform(0.5, 0.9) * total)
            d = Defect(index, kind, f"{name}.dat cut to {keep} of {total} bytes", length=keep)
        elif kind == "missing_file":
            ext = ("dat", "hea")[n_missing % 2]
            n_missing += 1
            d = Defect(index, kind, f"{name}.{ext} deleted", missing=ext)
        elif kind == "header_signal_count":
            n_sig = len(LEADS)
            detail = (
                f"header declares {n_sig - 1} signals ({LEADS[-1]} line dropped), "
                f"data holds {n_sig}"
            )
            d = Defect(index, kind, detail)
        elif kind == "header_length":
            declared = round(n_samples * (1.0 + rng.choice([-1, 1]) * rng.uniform(0.1, 0.2)))
            detail = f"header sig_len {declared}, data holds {n_samples} samples"
            d = Defect(index, kind, detail, length=declared)
        elif kind == "unknown_scp_code":
            code = f"XYZ{int(rng.integers(1, 10))}"
            d = Defect(
                index, kind, f"scp_codes holds {code!r}, not in scp_statements.csv", code=code
            )
        else:
            partner = int(spare.pop(int(rng.integers(len(spare)))))
            detail = (
                f"ecg_id {partner + 1} shared by {record_path(partner + 1, fs)} "
                f"and {record_path(index + 1, fs)}"
            )
            d = Defect(index, kind, detail, partner=partner)
        defects[index] = d
    return defects


def row_ecg_id(index: int, defect: Defect | None) -> int:
    """The ecg_id written in the database row of record ``index``."""
    if defect is not None and defect.kind == "duplicate_ecg_id":
        return defect.partner + 1
    return index + 1


def row_scp_codes(codes: dict[str, float], defect: Defect | None) -> dict[str, float]:
    """The scp_codes written in the database row."""
    if defect is not None and defect.kind == "unknown_scp_code":
        return {**codes, defect.code: 100.0}
    return codes


def corrupt_signal(digital: np.ndarray, defect: Defect | None) -> np.ndarray:
    """``digital`` (n, n_sig) with a signal defect applied (a copy; unchanged otherwise)."""
    if defect is None or defect.kind not in SIGNAL_KINDS:
        return digital
    out = digital.copy()
    if defect.kind == "flat_lead":
        out[:, defect.lead] = 0
    else:
        out[defect.start : defect.start + defect.length, defect.lead] = defect.value
    return out


def corrupt_header(lines: list[str], defect: Defect | None) -> list[str]:
    """Header lines with a header defect applied."""
    if defect is None or defect.kind not in ("header_signal_count", "header_length"):
        return lines
    name, n_sig, fs, n = lines[0].split()
    if defect.kind == "header_signal_count":
        return [f"{name} {int(n_sig) - 1} {fs} {n}", *lines[1:-1]]
    return [f"{name} {n_sig} {fs} {defect.length}", *lines[1:]]


def corrupt_files(base: Path, defect: Defect | None) -> None:
    """Truncate or delete the written files of record ``base`` (path without extension)."""
    if defect is None:
        return
    if defect.kind == "truncated_dat":
        dat = base.with_name(base.name + ".dat")
        dat.write_bytes(dat.read_bytes()[: defect.length])
    elif defect.kind == "missing_file":
        base.with_name(f"{base.name}.{defect.missing}").unlink()


def entries(defects: dict[int, Defect], fs: int) -> list[dict[str, object]]:
    """The ``defects`` list of ``defects.json``: every affected row, by ecg_id then filename."""
    rows = []
    for d in defects.values():
        ecg_id = row_ecg_id(d.index, d)
        indices = [d.index, d.partner] if d.kind == "duplicate_ecg_id" else [d.index]
        rows += [
            {
                "ecg_id": ecg_id,
                "filename": record_path(i + 1, fs),
                "kind": d.kind,
                "detail": d.detail,
            }
            for i in indices
        ]
    return sorted(rows, key=lambda r: (r["ecg_id"], r["filename"]))
