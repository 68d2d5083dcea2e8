"""The one place ecgpipe calls wfdb: read records, headers and annotations; detect beats; fetch
databases.

wfdb 4.3 parses each header's signal lines with a pandas ``.loc`` lookup per field and channel,
which is about 80% of reading a 12-lead record at 100 Hz. :func:`_parse_signal_lines` is the
same parse with plain dict lookups; it replaces wfdb's own when this module is imported, and
only if wfdb's signal-line fields are the ones it was written for. ``tests/data/test_wfdb_io.py``
checks that both give the same fields, values and types on real, synthetic and edge-case headers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import wfdb
from wfdb.io import _header

Record = wfdb.Record

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
_SPECS = _header.SIGNAL_SPECS
_DEFAULTS = {field: _SPECS.loc[field, "read_default"] for field in _SPECS.index}
_CASTS = {
    field: int
    if _SPECS.loc[field, "allowed_types"] is _header.int_types
    else float
    if _SPECS.loc[field, "allowed_types"] is _header.float_types
    else None
    for field in _SPECS.index
}
_wfdb_parse_signal_lines = _header._parse_signal_lines


def _parse_signal_lines(signal_lines: list[str]) -> dict[str, list]:
    """wfdb's ``_parse_signal_lines`` (fields per channel, empty ones given wfdb's read
    defaults, numbers cast), without pandas in the loop."""
    n_sig = len(signal_lines)
    fields: dict[str, list] = {field: [None] * n_sig for field in _FIELDS}
    for ch, line in enumerate(signal_lines):
        match = _header.rx_signal.match(line)
        if match is None:
            raise _header.HeaderSyntaxError("invalid syntax in signal line")
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


if tuple(_SPECS.index) == _FIELDS and tuple(_header.rx_signal.groupindex) == _FIELDS:
    _header._parse_signal_lines = _parse_signal_lines


def read_record(path: Path) -> Record:
    """The record at ``path`` (no extension): header and physical signal."""
    return wfdb.rdrecord(str(path))


def read_header(path: Path) -> Record:
    """The header of the record at ``path`` alone."""
    return wfdb.rdheader(str(path))


def read_comments(path: Path) -> list[str]:
    """The comment lines of the record's header (without ``#``)."""
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
