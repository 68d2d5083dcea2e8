"""Integrity checks on a prepared dataset: every record read through wfdb, every row checked.

Per-record checks (:func:`check_record`) look at the files; table checks
(:func:`check_table`) look at the manifest. Each failure is a :class:`Failure` with the check's
name and a reason a person can act on. Nothing is dropped silently: a record that fails any check
is excluded *and* listed with its reasons.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe.core.leads import lead_key
from ecgpipe.core.parallel import imap
from ecgpipe.core.progress import track
from ecgpipe.core.units import UnitError
from ecgpipe.data import plausibility, wfdb_io
from ecgpipe.data.manifest import DatasetInfo

CHECKS = (
    "missing_file",
    "unreadable",
    "header_data_mismatch",
    "sampling_rate",
    "length",
    "leads",
    "units",
    "nan",
    "flat_lead",
    "saturated",
    "amplitude",
    "labels",
    "annotations",
    "duplicate_id",
    "patient_id",
)

# Bytes per sample of the WFDB storage formats, as (numerator, denominator).
_FORMAT_BYTES = {
    8: (1, 1),
    16: (2, 1),
    24: (3, 1),
    32: (4, 1),
    61: (2, 1),
    80: (1, 1),
    160: (2, 1),
    212: (3, 2),
    310: (4, 3),
    311: (4, 3),
}


@dataclass(frozen=True)
class Failure:
    check: str
    reason: str


@dataclass(frozen=True)
class Thresholds:
    flat_std_mv: float
    saturation_min_s: float
    amplitude_limit_mv: float


@dataclass(frozen=True)
class Expected:
    """What one record should be: as its manifest row declares, within the dataset's bounds."""

    path: Path
    fs: float | None
    """``None``: any rate."""
    leads: tuple[str, ...]
    """Leads the record must have (it may have others); empty: see :func:`majority_leads`."""
    n_samples: int | None
    """The declared length; ``None``: undeclared, only the dataset's bounds apply."""
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    annotator: str | None = None
    """Beat data: the extension of the record's beat annotations, checked beside the signal."""


@dataclass(frozen=True)
class Header:
    """What a record's header says, for the later stages (validate writes it into the manifest)."""

    fs: float
    leads: tuple[str, ...]
    n_samples: int


@dataclass(frozen=True)
class RecordCheck:
    failures: list[Failure]
    header: Header | None
    """``None`` when the header could not be read."""
    symbols: dict[str, int] | None = None
    """Beat data: how often each annotation symbol occurs (``None``: unread or not beat data)."""


def _expected_bytes(header: wfdb_io.Record) -> dict[str, int]:
    """Size each data file must have for the header's signals, formats and length."""
    per_file: dict[str, list[int]] = defaultdict(list)
    fmt: dict[str, int] = {}
    offset: dict[str, int] = {}
    spf = header.samps_per_frame or [1] * header.n_sig
    byte_offset = header.byte_offset or [None] * header.n_sig
    for i, name in enumerate(header.file_name):
        per_file[name].append(spf[i])
        fmt[name] = int(header.fmt[i])
        offset[name] = int(byte_offset[i] or 0)
    sizes = {}
    for name, frames in per_file.items():
        if fmt[name] not in _FORMAT_BYTES:
            continue
        num, den = _FORMAT_BYTES[fmt[name]]
        samples = header.sig_len * sum(frames)
        sizes[name] = offset[name] + -(-samples * num // den)
    return sizes


def _plateau_samples(x: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Per column of ``x`` (samples, leads): samples at that column's ``value`` in runs of two or
    more equal samples."""
    at = x == value
    steady = at[1:] & at[:-1]
    edge = np.zeros((1, x.shape[1]), dtype=bool)
    return np.count_nonzero(np.concatenate((edge, steady)) | np.concatenate((steady, edge)), axis=0)


def _lead_stats(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per column of a finite (samples, leads) array: std, maximum, minimum, samples held at the
    maximum and at the minimum, largest distance from the median."""
    hi, lo = x.max(axis=0), x.min(axis=0)
    peak = np.abs(x - np.median(x, axis=0)).max(axis=0)
    return x.std(axis=0), hi, lo, _plateau_samples(x, hi), _plateau_samples(x, lo), peak


def check_signal(
    signal: np.ndarray, leads: tuple[str, ...], fs: float, thr: Thresholds
) -> list[Failure]:
    """Checks on a (samples, leads) array in mV: NaN/inf, flat, saturated, amplitude.

    Saturation is time spent in plateaus (runs of equal samples) at a lead's maximum or minimum,
    summed over the record: one long clipped stretch, or the clipped peaks of many beats.
    """
    failures = []
    finite = np.isfinite(signal)
    whole = finite.all(axis=0)
    for j in np.flatnonzero(~whole):
        bad = np.flatnonzero(~finite[:, j])
        failures.append(
            Failure("nan", f"lead {leads[j]}: {bad.size} NaN/inf samples from {bad[0] / fs:.2f} s")
        )
    min_held = max(2, round(thr.saturation_min_s * fs))
    columns = zip(*_lead_stats(signal[:, whole]), strict=True)  # a tuple per whole lead
    stats = dict(zip(np.flatnonzero(whole).tolist(), columns, strict=True))
    for j, lead in enumerate(leads):
        if j not in stats:  # a lead with NaN/inf: the checks on its finite samples
            x = signal[finite[:, j], j][:, None]
            if x.size == 0:
                continue
            stats[j] = tuple(s[0] for s in _lead_stats(x))
        std, hi, lo, held_hi, held_lo, peak = stats[j]
        slip = plausibility.slipped(std, peak, thr.flat_std_mv, thr.amplitude_limit_mv)
        if std < thr.flat_std_mv:
            why = f"lead {lead} is flat (std {std:.4f} mV){slip}"
            failures.append(Failure("flat_lead", why))
            continue
        for extreme, held, name in ((hi, held_hi, "maximum"), (lo, held_lo, "minimum")):
            if held >= min_held:
                failures.append(
                    Failure(
                        "saturated",
                        f"lead {lead} is held at its {name} {extreme:.3f} mV for "
                        f"{held / fs:.2f} s in all",
                    )
                )
                break
        if peak > thr.amplitude_limit_mv:
            failures.append(
                Failure(
                    "amplitude",
                    f"lead {lead} reaches {peak:.1f} mV from its median "
                    f"(limit {thr.amplitude_limit_mv:g} mV){slip}",
                )
            )
    return failures


def read_record(expected: Expected, thr: Thresholds) -> tuple[RecordCheck, wfdb_io.Record | None]:
    """Read one record through wfdb and check files, header, and signal; the record too, where
    it passed.

    The record is read once (wfdb's header parsing dominates the cost); only when that fails is
    the header read alone, to say why.
    """
    path = expected.path
    header_file = path.with_name(path.name + ".hea")
    if not header_file.is_file():
        return RecordCheck([Failure("missing_file", f"{header_file} is missing")], None), None
    read_error: Exception | None = None
    try:
        record = header = wfdb_io.read_record(path)
    except _UNUSABLE as err:
        return RecordCheck([_unusable(header_file, err)], None), None
    except Exception as err:  # wfdb raises many types on malformed files
        read_error, record = err, None
        try:
            header = wfdb_io.read_header(path)
        except _UNUSABLE as header_err:
            return RecordCheck([_unusable(header_file, header_err)], None), None
        except Exception as header_err:
            why = f"{header_file} cannot be parsed: {header_err}"
            return RecordCheck([Failure("unreadable", why)], None), None

    leads = tuple(name or "" for name in header.sig_name or ())  # a signal may be unnamed
    facts = Header(float(header.fs or 0), leads, int(header.sig_len or 0))
    failures = _check_header(header, path, expected)
    if failures:
        return RecordCheck(failures, facts), None
    if record is None:
        why = f"{path}: wfdb cannot read the signal: {read_error}"
        return RecordCheck([Failure("unreadable", why)], facts), None
    signal = record.p_signal
    leads = facts.leads
    if expected.leads:  # the leads that matter; others are never used
        wanted = {lead_key(n) for n in expected.leads}
        keep = [i for i, name in enumerate(leads) if lead_key(name) in wanted]
        signal, leads = signal[:, keep], tuple(leads[i] for i in keep)
    failures = check_signal(signal, leads, float(header.fs), thr)
    if expected.annotator is None:
        return RecordCheck(failures, facts), None if failures else record
    annotation_failures, symbols = check_annotations(path, expected.annotator, facts.n_samples)
    failures += annotation_failures
    return RecordCheck(failures, facts, symbols), None if failures else record


_UNUSABLE = (wfdb_io.LeadNameError, UnitError)
"""A header wfdb reads whose lead names or units ecgpipe cannot use."""


def _unusable(header_file: Path, err: Exception) -> Failure:
    """The failure for a lead name or unit ecgpipe cannot use."""
    return Failure("units" if isinstance(err, UnitError) else "leads", f"{header_file}: {err}")


def check_record(expected: Expected, thr: Thresholds) -> RecordCheck:
    """:func:`read_record` without the record."""
    return read_record(expected, thr)[0]


def check_annotations(
    path: Path, annotator: str, n_samples: int
) -> tuple[list[Failure], dict[str, int] | None]:
    """A record's annotation file: present, readable, every sample index inside the signal;
    and how often each symbol occurs."""
    file = path.with_name(f"{path.name}.{annotator}")
    if not file.is_file():
        return [Failure("annotations", f"{file} is missing")], None
    try:
        samples, symbols = wfdb_io.read_annotations(path, annotator)
    except Exception as err:  # wfdb raises many types on malformed files
        return [Failure("annotations", f"{file} cannot be read: {err}")], None
    outside = np.flatnonzero((samples < 0) | (samples >= n_samples))
    failures = []
    if outside.size:
        failures.append(
            Failure(
                "annotations",
                f"{file}: {outside.size} annotations lie outside the signal's {n_samples} "
                f"samples (the first at sample {samples[outside[0]]})",
            )
        )
    return failures, dict(Counter(symbols.tolist()))


def _check_header(header: wfdb_io.Record, path: Path, expected: Expected) -> list[Failure]:
    """Data files present with the size the header implies; rate, length and leads as expected."""
    n_sig = int(header.n_sig or 0)
    lines = len(header.file_name or ())
    if n_sig == 0 or lines != n_sig or any(f is None for f in (header.fmt or [None])):
        why = f"header declares {n_sig} signals and describes {lines}"
        return [Failure("header_data_mismatch", f"{path.with_name(path.name + '.hea')}: {why}")]
    failures = []
    for name, size in _expected_bytes(header).items():
        data_file = path.parent / name
        if not data_file.is_file():
            failures.append(Failure("missing_file", f"{data_file} is missing"))
            continue
        actual = data_file.stat().st_size
        if actual != size:
            failures.append(
                Failure(
                    "header_data_mismatch",
                    f"{data_file} holds {actual} bytes but the header's {header.n_sig} signals x "
                    f"{header.sig_len} samples need {size}"
                    + (" (truncated?)" if actual < size else ""),
                )
            )
    if not header.fs or header.fs <= 0:
        failures.append(Failure("sampling_rate", f"header declares no sampling rate ({header.fs})"))
    elif why := plausibility.sampling_rate(float(header.fs)):
        failures.append(Failure("sampling_rate", why))
    else:
        if expected.fs is not None and header.fs != expected.fs:
            why = f"header says {header.fs:g} Hz, expected {expected.fs:g} Hz"
            failures.append(Failure("sampling_rate", why))
        if (why := _length_error(int(header.sig_len or 0), float(header.fs), expected)) is not None:
            failures.append(Failure("length", why))
    names = tuple(header.sig_name or ())
    present = {lead_key(m) for m in names}
    missing = [n for n in expected.leads if lead_key(n) not in present]
    if missing:
        failures.append(
            Failure(
                "leads",
                f"header has {header.n_sig} signals {list(names)}; missing {missing}",
            )
        )
    return failures


def _length_error(n: int, fs: float, expected: Expected) -> str | None:
    """Why a record of ``n`` samples at ``fs`` has the wrong length, or ``None``."""
    seconds = f"{n} samples ({n / fs:.2f} s)"
    if expected.n_samples is not None:
        if n != expected.n_samples:
            return f"header declares {seconds}, expected {expected.n_samples}"
        return None
    if expected.min_duration_s is not None and n / fs < expected.min_duration_s:
        return f"header declares {seconds}, shorter than the minimum {expected.min_duration_s:g} s"
    if expected.max_duration_s is not None and n / fs > expected.max_duration_s:
        return f"header declares {seconds}, longer than the maximum {expected.max_duration_s:g} s"
    return None


def _check_chunk(args: tuple[list[Expected], Thresholds]) -> list[RecordCheck]:
    items, thr = args
    return [check_record(e, thr) for e in items]


def check_records(
    expected: list[Expected], thr: Thresholds, workers: int, chunk: int = 32
) -> list[RecordCheck]:
    """:func:`check_record` over many records, in parallel over ``workers`` processes."""
    chunks = [(expected[i : i + chunk], thr) for i in range(0, len(expected), chunk)]
    parts = imap(_check_chunk, chunks, workers)
    return list(track((r for part in parts for r in part), len(expected), "validate"))


def check_table(df: pd.DataFrame) -> list[list[Failure]]:
    """Checks on the manifest rows: labels readable, ids unique, patient ids present."""
    failures: list[list[Failure]] = [[] for _ in range(len(df))]
    counts = Counter(df["record_id"])
    paths_by_id = df.groupby("record_id")["path"].agg(list).to_dict()
    for i, row in enumerate(df.itertuples(index=False)):
        if row.label_error:
            failures[i].append(Failure("labels", row.label_error))
        if counts[row.record_id] > 1:
            others = [p for p in paths_by_id[row.record_id] if p != row.path]
            failures[i].append(
                Failure(
                    "duplicate_id",
                    f"id {row.record_id} appears {counts[row.record_id]} times (also {others})",
                )
            )
        if not row.patient_id.strip():
            failures[i].append(Failure("patient_id", "no patient id"))
    return failures


def expectations(df: pd.DataFrame, info: DatasetInfo, root: Path) -> list[Expected]:
    """Each row's :class:`Expected`, from what it declares and the dataset's length bounds."""
    return [
        Expected(
            root / row.path,
            float(row.fs) or None,
            tuple(name for name in row.leads.split("|") if name),
            int(row.n_samples) if int(row.n_samples) >= 0 else None,
            info.min_duration_s,
            info.max_duration_s,
            info.annotator,
        )
        for row in df.itertuples(index=False)
    ]


def majority_leads(headers: list[Header]) -> tuple[str, ...]:
    """The lead list most records have (the first seen among equals); empty without records."""
    counts = Counter(h.leads for h in headers)
    return counts.most_common(1)[0][0] if counts else ()


@dataclass(frozen=True)
class Checked:
    """Every check of a dataset: per row its failures and header, and the dataset's leads."""

    failures: list[list[Failure]]
    headers: list[Header | None]
    leads: tuple[str, ...]
    """As declared, or (where the dataset declares none) those of most healthy records."""
    symbols: list[dict[str, int] | None]
    """Beat data: each row's annotation symbol counts."""


def run_checks(
    df: pd.DataFrame, info: DatasetInfo, root: Path, thr: Thresholds, workers: int
) -> Checked:
    """All failures of every manifest row, in row order."""
    table = check_table(df)
    records = check_records(expectations(df, info, root), thr, workers)
    failures = [t + r.failures for t, r in zip(table, records, strict=True)]
    headers = [r.header for r in records]
    leads = info.leads
    if not leads:
        healthy = [h for h, f in zip(headers, failures, strict=True) if h is not None and not f]
        leads = majority_leads(healthy)
        for h, f in zip(headers, failures, strict=True):
            if h is not None and (
                missing := [n for n in leads if lead_key(n) not in map(lead_key, h.leads)]
            ):
                f.append(
                    Failure(
                        "leads",
                        f"header has signals {list(h.leads)}; missing {missing}, which most "
                        f"records of the dataset have {list(leads)}",
                    )
                )
    return Checked(failures, headers, leads, [r.symbols for r in records])
