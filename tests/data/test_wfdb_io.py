"""The fast signal-line and record-line parses give what wfdb's own give, field for field and
type for type; they are installed by an explicit call, only where it is safe; a plain record's
samples read straight from its file give what ``wfdb.rdrecord`` gives; records are read in mV
whatever their header's units, lead names as their bytes hold them."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
import tomllib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import wfdb
from packaging.requirements import Requirement
from wfdb.io import _header, _signal

from ecgpipe.core.units import MISSING_UNIT, UnitError, to_millivolts
from ecgpipe.data import wfdb_io
from ecgpipe.data.synthetic.wfdb_writer import header_lines, quantise
from ecgpipe.processing.preprocessing import load_record
from tests.conftest import PROJECT, shared_data

EDGE_CASES = [
    "100.dat 212 200 11 1024 995 -22131 0 MLII",  # format 212, MIT-BIH style
    "r.dat 16x2:3+10 0(5)/uV 12 7 0 0 0 I",  # frames, skew, offset; gain 0 means 200
    "r.dat 16 100/mV 16 -3",  # no baseline: it defaults to adc_zero
    "r.dat 16 100",  # no baseline, no adc_zero, no units
    "r.dat 80",  # nothing but the format
    "~ 16 1e3(2)/mV 16 0 0 0 0 lead name with spaces",
    "r.dat\t16\t-2.5(-7)/mV\t12\t0\t0\t-9\t0\tV1",
]


@pytest.fixture(autouse=True, scope="module")
def _installed():
    assert wfdb_io.install()


def _same(lines: list[str]) -> None:
    ours, theirs = wfdb_io._parse_signal_lines(lines), wfdb_io._wfdb_parse_signal_lines(lines)
    assert list(ours) == list(theirs)
    for field in theirs:
        assert ours[field] == theirs[field], field
        assert [type(v) for v in ours[field]] == [type(v) for v in theirs[field]], field


def test_installed_in_wfdb():
    assert _header._parse_signal_lines is wfdb_io._parse_signal_lines
    assert _header._parse_record_line is wfdb_io._parse_record_line


@pytest.mark.parametrize("line", EDGE_CASES)
def test_edge_cases_match_wfdb(line):
    _same([line])


def test_all_edge_cases_as_one_header_match_wfdb():
    _same(EDGE_CASES)


RECORD_LINES = [
    "100 2 360 650000",  # MIT-BIH
    "00001_lr 12 100 1000",  # PTB-XL
    "A00001 1 300 9000 05:05:15 1/05/2000 ",  # CinC 2017: base time and date
    "m/3 2 360 600",  # multi-segment
    "m/0 1 360",
    "r 2 360/720(5) 1000",  # counter frequency and base counter
    "r 2 360/720 1000",
    "r 2 360/720(-5.5) 1000",
    "r 2 360(5) 1000",
    "r 2",  # fs omitted: 250
    "r 2 250",  # sig_len omitted
    "r 2 500.0 10",  # fs: an int where it is one
    "r 2 128.5 10",
    "r 2 360.000000001 10",
    "r 2 .5 10",
    "r 1 100 10 12:30:45",  # base time, no date
    "r 1 100 10 12:30:45.25",  # fractional seconds
    "r 1 100 10 12:30:45.123456 25/12/2019",
    "r 1 100 10 30:45",
    "r 1 100 10 45.5",
    "r 1 100 10 12:30:45 25/12/2019",  # base time and date
    "r 1 100 10 00:00:00 01/01/2000",
    "  r-2_b \t 1\t\t100   10    12:30:45.5   1/1/2000   ",  # extra spaces and tabs
]
BAD_RECORD_LINES = {
    "not a record line": _header.HeaderSyntaxError,  # no match
    "": _header.HeaderSyntaxError,
    "r 1 .": ValueError,  # a match wfdb cannot cast
    "r 1 100 10 1/05/2000": ValueError,  # a date without a time
    "r 1 100 10 25:61:00": ValueError,
    "r 1 100 10 12:30:45 32/13/2000": ValueError,
    "r 1 100 10 12:00:00.1234567": ValueError,
}


def _outcome(parse, line: str):
    """What ``parse`` gives for ``line``: its fields, or the type and message of its error."""
    try:
        return parse(line)
    except Exception as err:
        return type(err), str(err)


def _same_record(line: str) -> None:
    parsers = (wfdb_io._parse_record_line, wfdb_io._wfdb_parse_record_line)
    ours, theirs = (_outcome(parse, line) for parse in parsers)
    assert type(ours) is type(theirs)
    if isinstance(theirs, tuple):
        assert ours == theirs
        return
    assert list(ours) == list(theirs)
    for field, value in theirs.items():
        assert ours[field] == value and type(ours[field]) is type(value), field


@pytest.mark.parametrize("line", RECORD_LINES)
def test_record_lines_match_wfdb(line):
    _same_record(line)
    assert isinstance(wfdb_io._parse_record_line(line), dict)


@pytest.mark.parametrize("line", BAD_RECORD_LINES)
def test_bad_record_lines_raise_as_wfdb_does(line):
    _same_record(line)  # the same error, message and all
    with pytest.raises(BAD_RECORD_LINES[line]):
        wfdb_io._parse_record_line(line)


def test_synthetic_header_matches_wfdb():
    digital = quantise(np.random.default_rng(0).normal(size=(12, 1000)))
    _same(header_lines("00001_lr", digital, 100)[1:])


def test_bad_line_raises_as_wfdb_does():
    for parse in (wfdb_io._parse_signal_lines, wfdb_io._wfdb_parse_signal_lines):
        with pytest.raises(_header.HeaderSyntaxError):
            parse(["not a signal line"])


def test_every_real_header_matches_wfdb():
    """Every header of the real PTB-XL, MIT-BIH and CinC 2017 subsets at hand."""
    headers = sorted(shared_data().glob("*/**/*.hea"))
    if not headers:
        pytest.skip(f"no real headers under {shared_data()} (set ECGPIPE_SHARED_DATA)")
    for file in headers:
        lines = [
            line.strip()
            for line in file.read_text(encoding="ascii").splitlines()
            if line.strip() and not line.startswith("#")
        ]
        _same_record(lines[0])
        _same(lines[1:])


# Installing the parser: an explicit, idempotent call; never where it was not tested.


class _Counting:
    """A compiled pattern that counts its matches."""

    def __init__(self, rx):
        self.rx, self.calls = rx, 0

    def match(self, line: str):
        self.calls += 1
        return self.rx.match(line)


def test_rdheader_goes_through_the_fast_parser(tmp_path, monkeypatch):
    digital = quantise(np.random.default_rng(0).normal(size=(12, 100)))
    (tmp_path / "r.hea").write_text("\n".join(header_lines("r", digital, 100)) + "\n")
    counting = _Counting(wfdb_io._RX)
    monkeypatch.setattr(wfdb_io, "_RX", counting)
    assert wfdb.rdheader(str(tmp_path / "r")).n_sig == 12
    assert counting.calls == 12  # a signal line each


def test_rdheader_goes_through_the_fast_record_line_parser(tmp_path, monkeypatch):
    (tmp_path / "r.hea").write_text("r 1 360/720(5) 10 12:30:45.5 25/12/2019\nr.dat 16 200 16\n")
    counting = _Counting(wfdb_io._RECORD_RX)
    monkeypatch.setattr(wfdb_io, "_RECORD_RX", counting)
    header = wfdb.rdheader(str(tmp_path / "r"))
    assert counting.calls == 1
    assert (header.fs, header.counter_freq, header.base_counter) == (360, 720.0, 5.0)
    assert str(header.base_datetime) == "2019-12-25 12:30:45.500000"


def test_importing_installs_nothing_and_installing_twice_is_once():
    code = (
        "import wfdb.io._header as h, ecgpipe.data.wfdb_io as w\n"
        "def ours(): return h._parse_signal_lines is w._parse_signal_lines,"
        " h._parse_record_line is w._parse_record_line\n"
        "print(*ours(), w.install(), w.install(), *ours())"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "True", "True", "True", "True"]


@pytest.fixture
def fresh(monkeypatch):
    """As in a new process: nothing installed yet, wfdb's own parsers in their place."""
    own = {
        "_parse_signal_lines": wfdb_io._wfdb_parse_signal_lines,
        "_parse_record_line": wfdb_io._wfdb_parse_record_line,
    }
    monkeypatch.setattr(wfdb_io, "_installed", None)
    for name, parse in own.items():
        monkeypatch.setattr(_header, name, parse)
    return own


def _left_as_it_was(own: dict) -> None:
    for name, parse in own.items():
        assert getattr(_header, name, parse) is parse, name


@pytest.mark.parametrize("name", wfdb_io.PRIVATE_NAMES)
def test_a_missing_private_name_falls_back_with_a_note(name, fresh, monkeypatch, caplog):
    monkeypatch.delattr(_header, name)
    with caplog.at_level(logging.INFO, logger="ecgpipe"):
        assert wfdb_io.install() is False
    assert (
        f"wfdb's own header parser is used (slower): wfdb.io._header has no {name}" in caplog.text
    )
    _left_as_it_was(fresh)
    assert wfdb_io.install() is False  # decided once


@pytest.mark.parametrize(
    ("table", "field", "line"),
    [("SIGNAL_SPECS", "block_size", "signal"), ("RECORD_SPECS", "base_date", "record")],
)
def test_fields_other_than_expected_fall_back_with_a_note(
    table, field, line, fresh, monkeypatch, caplog
):
    monkeypatch.setattr(_header, table, getattr(_header, table).drop(index=field))
    with caplog.at_level(logging.INFO, logger="ecgpipe"):
        assert wfdb_io.install() is False
    assert f"{line}-line fields are not the ones it was written for" in caplog.text
    _left_as_it_was(fresh)


@pytest.mark.parametrize("found", [(4, 2), (4, 4), (5, 0), None])
def test_an_untested_wfdb_release_keeps_wfdbs_own_parser(found, fresh, monkeypatch, tmp_path):
    monkeypatch.setattr(wfdb_io, "wfdb_version", lambda: found)
    assert wfdb_io.install() is False
    _left_as_it_was(fresh)
    (tmp_path / "r.hea").write_text("r 1 100 10\nr.dat 16 200/mV 16 0 0 0 0 II\n")
    assert wfdb_io.read_header(tmp_path / "r").sig_name == ["II"]  # read all the same
    (tmp_path / "r.dat").write_bytes(np.arange(10, dtype="<i2").tobytes())
    monkeypatch.setattr(wfdb_io, "_plain_signal", _never)  # wfdb.rdrecord reads every record
    np.testing.assert_array_equal(
        wfdb_io.read_record(tmp_path / "r").p_signal[:, 0], np.arange(10) / 200
    )


def test_the_tested_releases_are_the_ones_pyproject_pins():
    deps = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"]
    (req,) = [r for r in map(Requirement, deps) if r.name == "wfdb"]
    (low, high) = wfdb_io.TESTED_WFDB
    assert {str(s) for s in req.specifier} == {f">={low[0]}.{low[1]}", f"<{high[0]}.{high[1]}"}
    assert low <= wfdb_io.wfdb_version() < high


# Parity with wfdb's own parse on headers written here: whole rdheader/rdrecord results.


@contextmanager
def _wfdbs_own():
    ours = _header._parse_signal_lines, _header._parse_record_line
    _header._parse_signal_lines = wfdb_io._wfdb_parse_signal_lines
    _header._parse_record_line = wfdb_io._wfdb_parse_record_line
    try:
        yield
    finally:
        _header._parse_signal_lines, _header._parse_record_line = ours


def _assert_same(ours, theirs) -> None:
    """Every attribute equal, of the same type (each list item too); arrays equal, NaN too."""
    assert type(ours) is type(theirs)
    assert sorted(vars(ours)) == sorted(vars(theirs))
    for name, value in vars(theirs).items():
        mine = getattr(ours, name)
        if name == "segments" and value is not None:
            assert len(mine) == len(value)
            for a, b in zip(mine, value, strict=True):
                assert a is b is None or _assert_same(a, b) is None
        elif isinstance(value, np.ndarray):
            assert mine.dtype == value.dtype and np.array_equal(mine, value, equal_nan=True), name
        else:
            assert mine == value and type(mine) is type(value), name
            if isinstance(value, list):
                assert [type(v) for v in mine] == [type(v) for v in value], name


def _same_both_ways(read) -> None:
    ours = read()
    with _wfdbs_own():
        theirs = read()
    _assert_same(ours, theirs)


def _wave(n: int = 300, leads: int = 3) -> np.ndarray:
    """Small, smooth digital samples every format holds (format 8 stores differences)."""
    t = np.linspace(0, 6 * np.pi, n)[:, None] + np.arange(leads)
    return np.round(90 * np.sin(t)).astype(np.int32)


WRITTEN = {"8": None, "16": 1, "24": 1, "32": 1, "80": 1, "212": 1, "310": None, "311": None}
"""The formats parsed; ``None``: wfdb cannot write it (the data file is bytes written here)."""
BYTES_PER_900 = {"8": 900, "310": 1200, "311": 1200}


@pytest.mark.parametrize("fmt", WRITTEN)
def test_each_format_reads_the_same_both_ways(fmt, tmp_path):
    writes = WRITTEN[fmt] is not None
    wfdb.wrsamp(
        "r", fs=250, units=["mV", "uV", "V"], sig_name=["I", "II", "V1"], d_signal=_wave(),
        fmt=[fmt if writes else "16"] * 3, adc_gain=[200.0, 0.2, 2e5], baseline=[0, 5, -3],
        write_dir=str(tmp_path),
    )  # fmt: skip
    if not writes:  # the header names the format; the data: 3 x 300 samples of random bytes
        hea = tmp_path / "r.hea"
        hea.write_text(hea.read_text().replace("r.dat 16 ", f"r.dat {fmt} "))
        data = np.random.default_rng(int(fmt)).integers(0, 256, BYTES_PER_900[fmt], np.uint8)
        (tmp_path / "r.dat").write_bytes(data.tobytes())
    assert wfdb.rdheader(str(tmp_path / "r")).fmt == [fmt] * 3
    _same_both_ways(lambda: wfdb.rdheader(str(tmp_path / "r")))
    _same_both_ways(lambda: wfdb.rdrecord(str(tmp_path / "r")))


FULL = "r.dat 16x2:1+24 100(2)/uV 12 3 4 5 6 lead II"
HANDWRITTEN = {
    "baseline and ADC zero together": [
        "r.dat 16 200(5)/mV 12 3 0 0 0 I",
        "r.dat 16 200(-5)/mV 12 -3 0 0 0 II",
        "r.dat 16 200(0)/mV 12 7",
    ],
    "gain 0": ["r.dat 16 0/mV 12 0 0 0 0 I", "r.dat 16 0(7)/uV 12 0 0 0 0 II", "r.dat 16 0.0 12"],
    "fields omitted from the right": [
        *(" ".join(FULL.split()[:n]) for n in range(2, len(FULL.split()))),
        "r.dat 16x2:1+24 100(2)",
        "r.dat 16x2:1+24 100/uV",
        "r.dat 16x2:1",
        "r.dat 16x2",
    ],
    "units with spaces": [
        "r.dat 16 100/micro volt 16 0 0 0 0 I",
        "r.dat 16 100(2)/m V 16 0 0 0 0 lead I",
        "r.dat 16 100/mV 16 0 0 0 0 a name  with\tspaces",
    ],
}


@pytest.mark.parametrize("variant", HANDWRITTEN)
def test_handwritten_variants_parse_the_same_both_ways(variant, tmp_path):
    lines = HANDWRITTEN[variant]
    _same(lines)
    (tmp_path / "r.hea").write_text(f"r {len(lines)} 250 1000\n" + "\n".join(lines) + "\n")
    _same_both_ways(lambda: wfdb.rdheader(str(tmp_path / "r")))


def test_a_multi_segment_record_reads_the_same_both_ways(tmp_path):
    for name, baseline in (("s1", 0), ("s2", 4)):
        wfdb.wrsamp(
            name, fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"], d_signal=_wave(300, 2),
            fmt=["212"] * 2, adc_gain=[200.0, 200.0], baseline=[baseline] * 2,
            write_dir=str(tmp_path),
        )  # fmt: skip
    (tmp_path / "m.hea").write_text("m/2 2 360 600\ns1 300\ns2 300\n")
    _same_both_ways(lambda: wfdb.rdheader(str(tmp_path / "m"), rd_segments=True))
    _same_both_ways(lambda: wfdb.rdrecord(str(tmp_path / "m")))
    record = wfdb_io.read_record(tmp_path / "m")
    assert record.sig_name == ["MLII", "V1"] and record.p_signal.shape == (600, 2)


# Samples: a plain record read straight from its data file, as wfdb.rdrecord reads it.


def _never(*args, **kwargs):
    raise AssertionError("not to be called here")


def _wfdbs_read(path: Path) -> wfdb.Record:
    """What :func:`wfdb_io.read_record` gave before it read any samples itself: wfdb.rdrecord's
    record, converted to mV."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(wfdb_io, "_plain_signal", lambda path, header: None)
        return wfdb_io.read_record(path)


def _read_directly_as_wfdb_does(path: Path) -> wfdb.Record:
    """The record read by the direct path (``wfdb.rdrecord`` is never called), checked to be what
    wfdb's gives, before the conversion to mV and after."""
    with pytest.MonkeyPatch.context() as m:
        m.setattr(wfdb, "rdrecord", _never)
        ours = wfdb_io.read_record(path)
        header = wfdb.rdheader(str(path))
        header.p_signal = wfdb_io._plain_signal(path, header)
    _assert_same(header, wfdb.rdrecord(str(path)))
    _assert_same(ours, _wfdbs_read(path))
    assert ours.p_signal.dtype == np.float64
    return ours


def _with_invalid(digital: np.ndarray) -> np.ndarray:
    """``digital`` with some of wfdb's invalid samples (read as NaN)."""
    digital = digital.copy()
    digital[::50, 0] = digital[7, -1] = _signal.INVALID_SAMPLE_VALUE["16"]
    return digital


def _handwritten(folder: Path, lines: list[str], offset: int = 0, data: str = "r.dat") -> Path:
    """A record ``r`` in ``folder``: header ``lines``, and format-16 samples after ``offset``
    bytes in ``data``, with invalid samples and the extreme valid values."""
    n_sig = len(lines) - 1
    digital = _with_invalid(_wave(300, n_sig))
    digital[-3:] = [[-32767], [32767], [0]]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "r.hea").write_text("\n".join(lines) + "\n")
    (folder / data).write_bytes(b"\x7f" * offset + digital.astype("<i2").tobytes())
    return folder / "r"


def test_the_direct_read_is_wfdbs_format_16():
    assert wfdb_io._INVALID_16 == _signal.INVALID_SAMPLE_VALUE["16"] == _signal._digi_nan("16")
    assert _signal.DATA_LOAD_TYPES["16"] == "<i2" and _signal.BYTES_PER_SAMPLE["16"] == 2


def test_a_written_format_16_record_is_read_directly_as_wfdb_reads_it(tmp_path):
    wfdb.wrsamp(
        "r", fs=250, units=["mV", "uV", "V"], sig_name=["I", "II", "V1"],
        d_signal=_with_invalid(_wave()), fmt=["16"] * 3, adc_gain=[200.0, 0.2, 2e5],
        baseline=[0, 5, -3], write_dir=str(tmp_path),
    )  # fmt: skip
    record = _read_directly_as_wfdb_does(tmp_path / "r")
    assert np.isnan(record.p_signal).sum() == 7 and record.units == ["mV"] * 3


PLAIN = {
    "byte offset": ["r 2 250 300", "r.dat 16+24 200/mV 16 0 0 0 0 I", "r.dat 16+24 200/mV 16 0 0"],
    "gain 0 (200)": ["r 2 250 300", "r.dat 16 0/mV 16 0 0 0 0 I", "r.dat 16 0(7)/uV 16 0 0 0 0 II"],
    "baseline and ADC zero": [
        "r 3 250 300",
        "r.dat 16 200(5)/mV 12 3 0 0 0 I",
        "r.dat 16 200/mV 16 -3 0 0 0 II",  # no baseline: it is the ADC zero
        "r.dat 16 200(-5)/mV 12 -3 9 -1 0 III",
    ],
    "one signal": ["r 1 500 300", "r.dat 16 1000.0(0)/mV 16 0 -119 1508 0 II"],
    "uV and V": ["r 2 250 300", "r.dat 16 0.2(-4)/uV 16 0 0 0 0 I", "r.dat 16 2e5/V 16 0 0 0 0 V6"],
    "no units or names": ["r 2 250 300", "r.dat 16 200", "r.dat 16"],
    "frames and skew written out": ["r 2 250 300", "r.dat 16x1:0+0 200 16", "r.dat 16x1:0 200 16"],
    "odd gains": ["r 2 250 300", "r.dat 16 3.3(1)/mV 16 0 0 0 0 I", "r.dat 16 -1e-3 16 0 0 0 0 II"],
    "base time and date, counter": [
        "r 2 360/720(5) 300 12:00:00.5 01/02/2003",
        "r.dat 16 200/mV 16 0 0 0 0 I",
        "r.dat 16 200/mV 16 0 0 0 0 II",
    ],
}


@pytest.mark.parametrize("variant", PLAIN)
def test_plain_records_are_read_directly_as_wfdb_reads_them(variant, tmp_path):
    offset = 24 if variant == "byte offset" else 0
    _read_directly_as_wfdb_does(_handwritten(tmp_path, PLAIN[variant], offset))


def test_a_mat_file_with_a_byte_offset_is_read_directly_as_wfdb_reads_it(tmp_path):
    lines = ["r 1 300 300 05:05:15 1/05/2000 ", "r.mat 16+24 1000/mV 16 0 -127 0 0 ECG "]
    _read_directly_as_wfdb_does(_handwritten(tmp_path, lines, 24, "r.mat"))  # as CinC 2017


def _read_as_wfdb_reads_it(path: Path) -> None:
    """``read_record`` leaves ``path`` to wfdb.rdrecord: the same record or the same error."""
    assert wfdb_io._plain_signal(path, wfdb.rdheader(str(path))) is None
    try:
        theirs = wfdb.rdrecord(str(path))
    except Exception as err:
        with pytest.raises(type(err), match=f"^{re.escape(str(err))}$"):
            wfdb_io.read_record(path)
        return
    ours = wfdb_io.read_record(path)
    _assert_same(ours, _wfdbs_read(path))
    if theirs.p_signal is not None:
        np.testing.assert_array_equal(ours.p_signal, theirs.p_signal)  # all in mV here


SIGNALS = ["r.dat 16 200/mV 16 0 0 0 0 I", "r.dat 16 200/mV 16 0 0 0 0 II"]
OTHERS = {
    "format 212": [SIGNALS[0].replace(" 16 ", " 212 ", 1), SIGNALS[1].replace(" 16 ", " 212 ", 1)],
    "format 16 and 212": [SIGNALS[0], SIGNALS[1].replace(" 16 ", " 212 ", 1)],
    "two samples a frame": [SIGNALS[0].replace(" 16 ", " 16x2 ", 1), SIGNALS[1]],
    "skew": [SIGNALS[0].replace(" 16 ", " 16:2 ", 1), SIGNALS[1]],
    "two byte offsets": [
        SIGNALS[0].replace(" 16 ", " 16+24 ", 1),
        SIGNALS[1].replace(" 16 ", " 16+12 ", 1),
    ],
    "two files": [SIGNALS[0], SIGNALS[1].replace("r.dat", "s.dat")],
}


@pytest.mark.parametrize("variant", OTHERS)
def test_other_records_are_read_by_wfdb(variant, tmp_path):
    offset = 24 if variant == "two byte offsets" else 0
    path = _handwritten(tmp_path, ["r 2 250 300", *OTHERS[variant]], offset)
    if variant == "two files":
        (tmp_path / "s.dat").write_bytes((tmp_path / "r.dat").read_bytes())
    _read_as_wfdb_reads_it(path)


def _record_line(line: bytes):
    return lambda hea: hea.replace(b"r 2 250 300", line)


CHANGES = {  # file: how it changes (None: removed)
    "truncated": ("r.dat", lambda data: data[:-10]),
    "longer": ("r.dat", lambda data: data + b"\x01\x02\x03"),
    "missing": ("r.dat", None),
    "no signal length": ("r.hea", _record_line(b"r 2 250")),
    "more signals than lines": ("r.hea", _record_line(b"r 3 250 200")),  # the file as long
    "fewer signals than lines": ("r.hea", _record_line(b"r 1 250 600")),
    "no signals": ("r.hea", _record_line(b"r 0 250 300")),
    "no signal lines": ("r.hea", lambda hea: hea.splitlines(keepends=True)[0]),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_data_file_not_as_the_header_says_is_read_by_wfdb(change, tmp_path):
    path = _handwritten(tmp_path, ["r 2 250 300", *SIGNALS])
    name, how = CHANGES[change]
    if how is None:
        (tmp_path / name).unlink()
    else:
        (tmp_path / name).write_bytes(how((tmp_path / name).read_bytes()))
    _read_as_wfdb_reads_it(path)


def test_a_written_format_212_record_is_read_by_wfdb(tmp_path):
    wfdb.wrsamp(
        "r", fs=360, units=["mV", "mV"], sig_name=["MLII", "V1"], d_signal=_wave(300, 2),
        fmt=["212"] * 2, adc_gain=[200.0, 200.0], baseline=[0, 4], write_dir=str(tmp_path),
    )  # fmt: skip
    _read_as_wfdb_reads_it(tmp_path / "r")


@pytest.mark.parametrize("folder", ["ptbxl-sample", "cinc2017-sample", "mitdb-ds1"])
def test_real_records_read_the_same_both_ways(folder):
    """Every real PTB-XL and CinC 2017 record read directly as wfdb reads it; MIT-BIH (format
    212) left to wfdb."""
    headers = sorted((shared_data() / folder).rglob("*.hea"))
    if not headers:
        pytest.skip(f"no real records under {shared_data() / folder} (set ECGPIPE_SHARED_DATA)")
    for hea in headers:
        path = hea.with_suffix("")
        if folder == "mitdb-ds1":
            assert wfdb_io._plain_signal(path, wfdb.rdheader(str(path))) is None
        else:
            _read_directly_as_wfdb_does(path)
    if folder == "mitdb-ds1":
        _read_as_wfdb_reads_it(headers[0].with_suffix(""))


# Units: every record in mV, whatever its header's units.


def test_to_millivolts_by_unit():
    x = np.ones((4, 5), np.float32)
    y = to_millivolts(x, ["mV", "uV", "\u00b5V", "V", None], ["I", "II", "III", "V1", "V2"])
    assert y.dtype == np.float32
    np.testing.assert_allclose(y[0], [1, 1e-3, 1e-3, 1e3, 1], rtol=1e-7)
    assert to_millivolts(x, ["mV", "MV", " mv", None, "mV"], ["I"] * 5) is x  # nothing to do
    with pytest.raises(UnitError, match=r"lead II is in 'NU'; lead \(signal 3, unnamed\) is in"):
        to_millivolts(x[:, :3], ["mV", "NU", "mmHg"], ["I", "II", None])
    assert _header.SIGNAL_SPECS.loc["units", "read_default"] == MISSING_UNIT  # wfdb's default


def rewritten(source: Path, folder: Path, unit: str, per_mv: float, samples: int | None = None):
    """``source``'s digital samples written again with its gains per ``unit`` (``per_mv``: units
    in a mV), so that the physical signal is the same in ``unit``."""
    r = wfdb.rdrecord(str(source), physical=False, sampto=samples)
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        source.name, fs=r.fs, units=[unit] * r.n_sig, sig_name=r.sig_name, d_signal=r.d_signal,
        fmt=r.fmt, adc_gain=[g / per_mv for g in r.adc_gain], baseline=r.baseline,
        write_dir=str(folder),
    )  # fmt: skip
    return folder / source.name


REAL = {
    "ptbxl": ("ptbxl-sample/records100/00000/00001_lr", None),
    "mitdb": ("mitdb-ds1/101", 3600),
    "cinc2017": ("cinc2017-sample/A00001", None),
}


@pytest.mark.parametrize("dataset", REAL)
def test_real_records_in_uv_and_v_read_as_the_same_mv(dataset, tmp_path):
    path, samples = REAL[dataset]
    source = shared_data() / path
    if not source.with_suffix(".hea").is_file():
        pytest.skip(f"{source} not found (set ECGPIPE_SHARED_DATA)")
    mv = rewritten(source, tmp_path / "mV", "mV", 1.0, samples)
    expected = wfdb_io.read_record(mv).p_signal
    n = len(expected) if samples else None
    np.testing.assert_allclose(wfdb_io.read_record(source).p_signal[:n], expected, atol=1e-12)
    micro = rewritten(source, tmp_path / "micro", "uV", 1000.0, samples)
    hea = (tmp_path / "micro_sign" / source.name).with_suffix(".hea")
    hea.parent.mkdir()
    for file in micro.parent.iterdir():  # the same header with the micro sign, in UTF-8
        text = file.read_bytes()
        (hea.parent / file.name).write_bytes(text.replace(b"/uV", "/\u00b5V".encode()))
    assert wfdb.rdheader(str(hea.with_suffix(""))).units[0] == "V"  # wfdb alone drops the sign
    for record in (
        micro,
        hea.with_suffix(""),
        rewritten(source, tmp_path / "V", "V", 1e-3, samples),
    ):
        got = wfdb_io.read_record(record)
        assert got.units == ["mV"] * got.n_sig
        np.testing.assert_allclose(got.p_signal, expected, rtol=0, atol=1e-6)
        x, _, names = load_record(record)
        np.testing.assert_allclose(x, expected.T, rtol=0, atol=1e-6)
        assert names == wfdb.rdheader(str(source)).sig_name


def _with_name(folder: Path, name: bytes) -> Path:
    """A 2-lead record whose second lead is named ``name``, byte for byte."""
    folder.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        "r", fs=100, units=["mV", "mV"], sig_name=["I", "PLACEHOLDER"], d_signal=_wave(300, 2),
        fmt=["16"] * 2, adc_gain=[200.0] * 2, baseline=[0] * 2, write_dir=str(folder),
    )  # fmt: skip
    hea = folder / "r.hea"
    hea.write_bytes(hea.read_bytes().replace(b"PLACEHOLDER", name))
    return folder / "r"


def test_a_lead_name_that_is_not_utf8_or_no_lead_is_refused(tmp_path):
    not_utf8 = _with_name(tmp_path / "bytes", b"V\xff6")
    assert wfdb.rdheader(str(not_utf8)).sig_name == ["I", "V6"]  # what wfdb alone reads
    for read in (wfdb_io.read_record, wfdb_io.read_header):
        with pytest.raises(wfdb_io.LeadNameError, match=r"signal 2's lead name 'V\\xff6' is not"):
            read(not_utf8)
        with pytest.raises(wfdb_io.LeadNameError, match="'Pleth' is no ECG lead ecgpipe knows"):
            read(_with_name(tmp_path / "pleth", b"Pleth"))
    for name in ("V6", "aVR", "MLII", "ECG", "vx", "lead II"):
        assert wfdb_io.read_record(_with_name(tmp_path / name, name.encode())).sig_name[1] == name
