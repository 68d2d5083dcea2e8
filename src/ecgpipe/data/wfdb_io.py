"""The one place ecgpipe calls wfdb: read records, headers and annotations; detect beats; fetch
databases.

wfdb 4.3 parses each header's signal lines with a pandas ``.loc`` lookup per field and channel,
which is about 80% of reading a 12-lead record at 100 Hz. :func:`_parse_signal_lines` is the
same parse with plain dict lookups. :func:`install` puts it in wfdb's place, once, when this
module's readers first need wfdb (never at import): only for the wfdb releases it was tested
with (:data:`TESTED_WFDB`, the range ``pyproject.toml`` pins), and only where every private wfdb
name it relies on is there as it was written for; otherwise wfdb keeps its own parser and a
logged note says why. ``tests/data/test_wfdb_io.py`` checks that both give the same fields,
values and types on real, written and handwritten headers, and that ``wfdb.rdheader`` goes
through it.

Records are read in millivolts, each signal's lead name and unit as the header's own bytes hold
them: wfdb reads a header as ASCII and drops every other byte (``µV`` would read as ``V``, a lead
``V\\xff6`` as ``V6``). A lead name that is not UTF-8, or names no lead ecgpipe knows
(:func:`ecgpipe.core.leads.is_known_lead`), is a :class:`LeadNameError`; a unit that is no
voltage, a :class:`~ecgpipe.core.units.UnitError`; every other signal is converted from its unit
(mV, uV, V; none given: mV) by :func:`~ecgpipe.core.units.to_millivolts`. An unnamed signal
passes (no lead can be selected from it).
"""

from __future__ import annotations

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
_installed: bool | None = None
"""Whether :func:`install` put the fast parser in place; ``None``: not tried yet."""


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


def wfdb_version() -> tuple[int, int] | None:
    """The installed wfdb's (major, minor), or ``None`` where it cannot be told."""
    try:
        found = version("wfdb")
    except PackageNotFoundError:
        found = str(getattr(wfdb, "__version__", ""))
    parts = re.match(r"(\d+)\.(\d+)", found)
    return (int(parts[1]), int(parts[2])) if parts else None


def _look_up() -> str | None:
    """Find, defensively, every private wfdb name the fast parser needs and check it is as the
    parser was written for; set the module's copies. Why it cannot be used, or ``None``."""
    global _RX, _SYNTAX_ERROR, _DEFAULTS, _CASTS, _wfdb_parse_signal_lines
    found, (low, high) = wfdb_version(), TESTED_WFDB
    if found is None or not low <= found < high:
        shown = "unknown" if found is None else ".".join(map(str, found))
        return f"wfdb {shown} is not a release it was tested with (>= 4.3, < 4.4)"
    try:
        header = importlib.import_module("wfdb.io._header")
        record = importlib.import_module("wfdb.io.record")
    except ImportError as err:
        return f"wfdb's modules are not where they were ({err})"
    names = ("SIGNAL_SPECS", "rx_signal", "HeaderSyntaxError", "int_types", "float_types")
    if missing := [n for n in (*names, "_parse_signal_lines") if not hasattr(header, n)]:
        return f"wfdb.io._header has no {', '.join(missing)}"
    if getattr(record, "_header", None) is not header:
        return "wfdb.io.record does not parse headers through wfdb.io._header"
    specs, rx = header.SIGNAL_SPECS, header.rx_signal
    try:
        if tuple(specs.index) != _FIELDS or tuple(rx.groupindex) != _FIELDS:
            return "wfdb's signal-line fields are not the ones it was written for"
        defaults = {field: specs.loc[field, "read_default"] for field in _FIELDS}
        types = {field: specs.loc[field, "allowed_types"] for field in _FIELDS}
    except (AttributeError, KeyError, TypeError) as err:
        return f"wfdb's SIGNAL_SPECS is not as it was ({err!r})"
    _CASTS = {
        field: int if kind is header.int_types else float if kind is header.float_types else None
        for field, kind in types.items()
    }
    _RX, _SYNTAX_ERROR, _DEFAULTS = rx, header.HeaderSyntaxError, defaults
    if header._parse_signal_lines is not _parse_signal_lines:
        _wfdb_parse_signal_lines = header._parse_signal_lines
    return None


def install() -> bool:
    """Put :func:`_parse_signal_lines` in the place of wfdb's own, once (later calls return the
    first answer); whether it is in place. Where it cannot be (:func:`_look_up` says why), wfdb
    keeps its own parser, with a logged note."""
    global _installed
    if _installed is None:
        why = _look_up()
        if why is None:
            importlib.import_module("wfdb.io._header")._parse_signal_lines = _parse_signal_lines
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


def read_record(path: Path) -> Record:
    """The record at ``path`` (no extension): header and physical signal in mV (``units`` say
    mV), lead names as the header's bytes hold them; a :class:`LeadNameError` or
    :class:`~ecgpipe.core.units.UnitError` where they cannot be used."""
    install()
    record = wfdb.rdrecord(str(path))
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
