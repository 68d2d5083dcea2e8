"""The one place ecgpipe calls wfdb: read records, headers and annotations; detect beats; fetch
databases.

wfdb 4.3 parses each header's signal lines with a pandas ``.loc`` lookup per field and channel,
which is about 80% of reading a 12-lead record at 100 Hz. :func:`_parse_signal_lines` is the
same parse with plain dict lookups, and :func:`_parse_record_line` the same for the record line
(whose lookups were then a quarter of reading a header). :func:`install` puts both in wfdb's
place, once, when this module's readers first need wfdb (never at import): only for the wfdb
releases they were tested with (:data:`TESTED_WFDB`, the range ``pyproject.toml`` pins), and
only where every private wfdb name they rely on is there as they were written for; otherwise
wfdb keeps its own parsers and a logged note says why. ``tests/data/test_wfdb_io.py`` checks
that both give the same fields, values and types on real, written and handwritten headers, and
that ``wfdb.rdheader`` goes through them. Where they are installed, :func:`read_record` also
reads the samples of a plain record (one format-16 data file of the size its header implies,
see :func:`_plain_signal`) straight from the file, converted as ``wfdb.rdrecord`` converts
them; every other record is read by ``wfdb.rdrecord``.

Records are read in millivolts, each signal's lead name and unit as the header's own bytes hold
them: wfdb reads a header as ASCII and drops every other byte (``µV`` would read as ``V``, a lead
``V\\xff6`` as ``V6``). A lead name that is not UTF-8, or names no lead ecgpipe knows
(:func:`ecgpipe.core.leads.is_known_lead`), is a :class:`LeadNameError`; a unit that is no
voltage, a :class:`~ecgpipe.core.units.UnitError`; every other signal is converted from its unit
(mV, uV, V; none given: mV) by :func:`~ecgpipe.core.units.to_millivolts`. An unnamed signal
passes (no lead can be selected from it).
"""

from __future__ import annotations

import datetime
import importlib
import logging
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import wfdb

from ecgpipe.core.leads import is_known_lead
from ecgpipe.core.units import MISSING_UNIT, mv_per_unit, to_millivolts

log = logging.getLogger("ecgpipe")

Record = wfdb.Record

TESTED_WFDB = ((4, 3), (4, 4))
"""The wfdb releases the fast parser was tested with, as (major, minor): from 4.3 up to, not
including, 4.4; ``pyproject.toml`` pins the same range."""

_FIELDS = (
    "file_name",
    "fmt",
    "samps_per_frame",
    "skew",
    "byte_offset",
    "adc_gain",
    "baseline",
    "units",
    "adc_res",
    "adc_zero",
    "init_value",
    "checksum",
    "block_size",
    "sig_name",
)
_RX: Any = None
_SYNTAX_ERROR: type[Exception] = ValueError
_DEFAULTS: dict[str, Any] = {}
_CASTS: dict[str, Any] = {}
_wfdb_parse_signal_lines: Any = None
"""wfdb's own signal-line parser, once :func:`install` has looked it up."""
_RECORD_FIELDS = (
    "record_name",
    "n_seg",
    "n_sig",
    "fs",
    "counter_freq",
    "base_counter",
    "sig_len",
    "base_time",
    "base_date",
)
_RECORD_RX: Any = None
_RECORD_DEFAULTS: dict[str, Any] = {}
_RECORD_CASTS: dict[str, Any] = {}
_wfdb_parse_record_line: Any = None
"""wfdb's own record-line parser, once :func:`install` has looked it up."""
PRIVATE_NAMES = (
    "SIGNAL_SPECS",
    "rx_signal",
    "RECORD_SPECS",
    "rx_record",
    "HeaderSyntaxError",
    "int_types",
    "float_types",
    "wfdb_strptime",
    "_parse_signal_lines",
    "_parse_record_line",
)
"""The private names of ``wfdb.io._header`` the fast parsers rely on."""
_installed: bool | None = None
"""Whether :func:`install` put the fast parsers in place; ``None``: not tried yet."""
_INVALID_16 = -32768
"""The digital value wfdb reads as NaN in format 16."""


def _parse_signal_lines(signal_lines: list[str]) -> dict[str, list]:
    """wfdb's ``_parse_signal_lines`` (fields per channel, empty ones given wfdb's read
    defaults, numbers cast), without pandas in the loop."""
    n_sig = len(signal_lines)
    fields: dict[str, list] = {field: [None] * n_sig for field in _FIELDS}
    for ch, line in enumerate(signal_lines):
        match = _RX.match(line)
        if match is None:
            raise _SYNTAX_ERROR("invalid syntax in signal line")
        raw = match.groupdict()
        for field in _FIELDS:
            value = raw[field]
            if value == "":
                value = _DEFAULTS[field]
                if field == "baseline" and raw["adc_zero"] != "":  # baseline defaults to adc_zero
                    value = int(raw["adc_zero"])
            elif (cast := _CASTS[field]) is not None:
                value = cast(value)
                if field == "adc_gain" and value == 0:  # a gain of 0 means 200
                    value = 200.0
            fields[field][ch] = value
    return fields


def _parse_record_line(record_line: str) -> dict[str, Any]:
    """wfdb's ``_parse_record_line`` (fields, empty ones given wfdb's read defaults, numbers,
    time and date cast; ``base_datetime`` where both are given), without pandas."""
    match = _RECORD_RX.match(record_line)
    if match is None:
        raise _SYNTAX_ERROR("invalid syntax in record line")
    fields: dict[str, Any] = match.groupdict()
    for field, value in fields.items():
        if value == "":
            fields[field] = _RECORD_DEFAULTS[field]
        elif (cast := _RECORD_CASTS[field]) is not None:
            fields[field] = cast(value)
    if fields["base_date"] and fields["base_time"]:
        fields["base_datetime"] = datetime.datetime.combine(
            fields["base_date"], fields["base_time"]
        )
    return fields


def _fs(text: str) -> float | int:
    """A sampling frequency as wfdb reads it: an int where it is one to 8 decimals."""
    fs = float(text)
    return int(fs) if round(fs, 8) == float(int(fs)) else fs


def _date(text: str) -> datetime.date:
    """A base date as wfdb reads it (day/month/year)."""
    return datetime.datetime.strptime(text, "%d/%m/%Y").date()


def wfdb_version() -> tuple[int, int] | None:
    """The installed wfdb's (major, minor), or ``None`` where it cannot be told."""
    try:
        found = version("wfdb")
    except PackageNotFoundError:
        found = str(getattr(wfdb, "__version__", ""))
    parts = re.match(r"(\d+)\.(\d+)", found)
    return (int(parts[1]), int(parts[2])) if parts else None


class _Unusable(Exception):
    """Why wfdb's private names are not as the fast parsers were written for."""


def _specs(header: Any, table: str, rx: str, fields: tuple[str, ...], line: str) -> tuple:
    """wfdb's pattern for a kind of header ``line`` and each field's read default and allowed
    types from its spec ``table``, checked to be the ``fields`` written for (else
    :class:`_Unusable`)."""
    specs, pattern = getattr(header, table), getattr(header, rx)
    try:
        if tuple(specs.index) != fields or tuple(pattern.groupindex) != fields:
            raise _Unusable(f"wfdb's {line} fields are not the ones it was written for")
        defaults = {field: specs.loc[field, "read_default"] for field in fields}
        types = {field: specs.loc[field, "allowed_types"] for field in fields}
    except (AttributeError, KeyError, TypeError) as err:
        raise _Unusable(f"wfdb's {table} is not as it was ({err!r})") from None
    return pattern, defaults, types


def _record_cast(header: Any, field: str, kind: Any) -> Any:
    """How wfdb's ``_parse_record_line`` casts a record-line field (``None``: a string kept)."""
    if kind == header.int_types:
        return int
    if kind == header.float_types:
        return _fs if field == "fs" else float
    return {"base_time": header.wfdb_strptime, "base_date": _date}.get(field)


def _look_up() -> str | None:
    """Find, defensively, every private wfdb name the fast parsers need and check it is as the
    parsers were written for; set the module's copies. Why they cannot be used, or ``None``."""
    global _RX, _SYNTAX_ERROR, _DEFAULTS, _CASTS, _wfdb_parse_signal_lines
    global _RECORD_RX, _RECORD_DEFAULTS, _RECORD_CASTS, _wfdb_parse_record_line
    found, (low, high) = wfdb_version(), TESTED_WFDB
    if found is None or not low <= found < high:
        shown = "unknown" if found is None else ".".join(map(str, found))
        return f"wfdb {shown} is not a release it was tested with (>= 4.3, < 4.4)"
    try:
        header = importlib.import_module("wfdb.io._header")
        record = importlib.import_module("wfdb.io.record")
    except ImportError as err:
        return f"wfdb's modules are not where they were ({err})"
    if missing := [n for n in PRIVATE_NAMES if not hasattr(header, n)]:
        return f"wfdb.io._header has no {', '.join(missing)}"
    if getattr(record, "_header", None) is not header:
        return "wfdb.io.record does not parse headers through wfdb.io._header"
    try:
        rx, defaults, types = _specs(header, "SIGNAL_SPECS", "rx_signal", _FIELDS, "signal-line")
        record_rx, record_defaults, record_types = _specs(
            header, "RECORD_SPECS", "rx_record", _RECORD_FIELDS, "record-line"
        )
    except _Unusable as err:
        return str(err)
    _CASTS = {
        field: int if kind is header.int_types else float if kind is header.float_types else None
        for field, kind in types.items()
    }
    _RECORD_CASTS = {
        field: _record_cast(header, field, kind) for field, kind in record_types.items()
    }
    _RX, _SYNTAX_ERROR, _DEFAULTS = rx, header.HeaderSyntaxError, defaults
    _RECORD_RX, _RECORD_DEFAULTS = record_rx, record_defaults
    if header._parse_signal_lines is not _parse_signal_lines:
        _wfdb_parse_signal_lines = header._parse_signal_lines
    if header._parse_record_line is not _parse_record_line:
        _wfdb_parse_record_line = header._parse_record_line
    return None


def install() -> bool:
    """Put :func:`_parse_signal_lines` and :func:`_parse_record_line` in the place of wfdb's own,
    once (later calls return the first answer); whether they are in place. Where they cannot be
    (:func:`_look_up` says why), wfdb keeps its own parsers, with a logged note."""
    global _installed
    if _installed is None:
        why = _look_up()
        if why is None:
            header = importlib.import_module("wfdb.io._header")
            header._parse_signal_lines = _parse_signal_lines
            header._parse_record_line = _parse_record_line
        else:
            log.info("wfdb's own header parser is used (slower): %s", why)
        _installed = why is None
    return _installed


class LeadNameError(ValueError):
    """A lead name that is not UTF-8 or names no lead ecgpipe knows: the record cannot be used."""


def _signal_texts(path: Path, record: Record) -> tuple[list, list]:
    """Each signal's lead name and unit (``None``: none given) as the header's bytes hold them,
    bytes that are not UTF-8 kept as surrogates; wfdb's for a multi-segment record, and for an
    ASCII header (wfdb lost nothing of it)."""
    n_sig = int(record.n_sig or 0)
    raw = path.with_name(path.name + ".hea").read_bytes()
    if raw.isascii():
        return list(record.sig_name or [None] * n_sig), list(record.units or [None] * n_sig)
    lines = [line.strip() for line in raw.decode("utf-8", "surrogateescape").splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    rx = getattr(importlib.import_module("wfdb.io.header"), "rx_signal", None)
    matches = [rx.match(line) for line in lines[1 : 1 + n_sig]] if rx is not None else []
    multi = not lines or "/" in lines[0].split()[0]
    if multi or len(matches) != n_sig or None in matches:
        return list(record.sig_name or [None] * n_sig), list(record.units or [None] * n_sig)
    return [m["sig_name"] or None for m in matches], [m["units"] or None for m in matches]


def _checked_texts(path: Path, record: Record) -> tuple[list, list]:
    """:func:`_signal_texts`, or a :class:`LeadNameError` naming each bad lead name, or a
    :class:`~ecgpipe.core.units.UnitError` naming each signal in a unit that is no voltage."""
    names, units = _signal_texts(path, record)
    bad = []
    for i, name in enumerate(names):
        if name is None:
            continue
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            shown = name.encode("utf-8", "surrogateescape").decode("ascii", "backslashreplace")
            bad.append(f"signal {i + 1}'s lead name '{shown}' is not UTF-8")
            continue
        if not is_known_lead(name):
            bad.append(f"signal {i + 1}'s lead name {name!r} is no ECG lead ecgpipe knows")
    if bad:
        raise LeadNameError("; ".join(bad))
    mv_per_unit(units, names)
    return names, [MISSING_UNIT if unit is None else unit for unit in units]


def _plain_signal(path: Path, header: Record) -> np.ndarray | None:
    """The physical signal (float64, one column a signal) of a plain record, as
    ``wfdb.rdrecord`` reads and converts it, read straight from its data file: one segment, every
    signal in one format-16 file at one byte offset, a sample a frame, no skew, and the file
    exactly as long as the header implies. ``None`` for any other record."""
    if not isinstance(header, Record) or not header.n_sig or not header.sig_len:
        return None
    n_sig, sig_len = header.n_sig, header.sig_len
    if (
        header.file_name is None
        or len(header.file_name) != n_sig
        or len({*header.file_name}) != 1
        or {*header.fmt} != {"16"}
        or {*header.samps_per_frame} != {1}
        or not {*header.skew} <= {None, 0}
        or len({offset or 0 for offset in header.byte_offset}) != 1
    ):
        return None
    file, offset = path.parent / header.file_name[0], header.byte_offset[0] or 0
    try:
        if file.stat().st_size != offset + 2 * n_sig * sig_len:
            return None
    except OSError:
        return None
    digital = np.fromfile(file, "<i2", n_sig * sig_len, offset=offset).reshape(sig_len, n_sig)
    signal = digital.astype(np.float64)  # as wfdb's dac: (d - baseline) / gain, invalid: NaN
    np.subtract(signal, header.baseline, signal)
    np.divide(signal, header.adc_gain, signal)
    signal[digital == _INVALID_16] = np.nan
    return signal


def read_record(path: Path) -> Record:
    """The record at ``path`` (no extension) as ``wfdb.rdrecord`` reads it (a plain record's
    samples read by :func:`_plain_signal`): header and physical signal in mV (``units`` say mV),
    lead names as the header's bytes hold them; a :class:`LeadNameError` or
    :class:`~ecgpipe.core.units.UnitError` where they cannot be used."""
    header = wfdb.rdheader(str(path)) if install() else None
    signal = None if header is None else _plain_signal(path, header)
    if signal is None:
        record = wfdb.rdrecord(str(path))
    else:
        record = header
        record.p_signal = signal
    names, units = _checked_texts(path, record)
    if record.p_signal is not None:
        record.p_signal = to_millivolts(record.p_signal, units, names)
    record.sig_name, record.units = names, [MISSING_UNIT] * len(units)
    return record


def read_header(path: Path) -> Record:
    """The header of the record at ``path`` alone, lead names and units as its bytes hold them,
    checked as :func:`read_record` checks them."""
    install()
    header = wfdb.rdheader(str(path))
    header.sig_name, header.units = _checked_texts(path, header)
    return header


def read_comments(path: Path) -> list[str]:
    """The comment lines of the record's header (without ``#``)."""
    install()
    return list(wfdb.rdheader(str(path)).comments)


def read_annotations(path: Path, annotator: str) -> tuple[np.ndarray, np.ndarray]:
    """A record's annotations: (sample indices, symbols), in file order."""
    ann = wfdb.rdann(str(path), annotator)
    return np.asarray(ann.sample, dtype=np.int64), np.asarray(ann.symbol, dtype=str)


def read_rhythms(path: Path, annotator: str) -> list[tuple[int, str]]:
    """A record's rhythm annotations: (sample, rhythm) where each rhythm starts (``(AFIB`` ...),
    in file order."""
    ann = wfdb.rdann(str(path), annotator)
    notes = ann.aux_note or [""] * len(ann.sample)
    return [
        (int(s), note.strip("\x00 ")) for s, note in zip(ann.sample, notes, strict=True)
        if note.startswith("(")
    ]  # fmt: skip


def write_excerpt(source: Path, target: Path, start: int, stop: int, annotator: str) -> None:
    """Samples ``start`` to ``stop`` of WFDB record ``source`` as record ``target`` (the same
    format, gains and leads), with the annotations that fall inside, moved to match, the rhythm
    in force at ``start`` noted at its first sample."""
    record = wfdb.rdrecord(str(source), sampfrom=start, sampto=stop, physical=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        target.name,
        fs=record.fs,
        units=record.units,
        sig_name=record.sig_name,
        d_signal=record.d_signal,
        fmt=record.fmt,
        adc_gain=record.adc_gain,
        baseline=record.baseline,
        write_dir=str(target.parent),
    )
    ann = wfdb.rdann(str(source), annotator)
    samples = np.asarray(ann.sample, np.int64)
    notes = list(ann.aux_note or [""] * len(samples))
    inside = np.flatnonzero((samples >= start) & (samples < stop))
    symbols = [ann.symbol[i] for i in inside]
    aux = [notes[i] for i in inside]
    before = [n for s, n in zip(samples, notes, strict=True) if s < start and n.startswith("(")]
    at = samples[inside] - start
    if before:
        at, symbols, aux = np.concatenate([[0], at]), ["+", *symbols], [before[-1], *aux]
    wfdb.wrann(
        target.name, annotator, at, np.array(symbols), aux_note=aux, write_dir=str(target.parent)
    )


def detect_beats(x: np.ndarray, fs: float) -> np.ndarray:
    """R peaks of one lead ``x`` (samples, mV) at ``fs`` Hz, for a record without beat
    annotations: wfdb's XQRS detector, each detection moved to the largest deflection within
    50 ms (where reference annotations put the beat)."""
    from wfdb import processing

    found = processing.xqrs_detect(np.asarray(x, np.float64), fs, verbose=False)
    if len(found) == 0:
        return np.zeros(0, np.int64)
    peaks = processing.correct_peaks(
        np.asarray(x, np.float64),
        found,
        search_radius=max(int(0.05 * fs), 1),
        smooth_window_size=max(int(0.15 * fs), 1),
        peak_dir="compare",
    )
    return np.unique(np.asarray(peaks, np.int64))


def download(database: str, root: Path, files: list[str]) -> None:
    """Fetch ``files`` and then every record of a PhysioNet ``database`` into ``root`` (needs a
    network; never used offline)."""
    root.mkdir(parents=True, exist_ok=True)
    wfdb.dl_files(database, str(root), files)
    wfdb.dl_database(database, str(root))
