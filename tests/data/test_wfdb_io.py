"""The fast signal-line parse gives what wfdb's own gives, field for field and type for type; it
is installed by an explicit call, only where it is safe; records are read in mV whatever their
header's units, lead names as their bytes hold them."""

from __future__ import annotations

import logging
import subprocess
import sys
import tomllib
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import wfdb
from packaging.requirements import Requirement
from wfdb.io import _header

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


@pytest.mark.parametrize("line", EDGE_CASES)
def test_edge_cases_match_wfdb(line):
    _same([line])


def test_all_edge_cases_as_one_header_match_wfdb():
    _same(EDGE_CASES)


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


def test_importing_installs_nothing_and_installing_twice_is_once():
    code = (
        "import wfdb.io._header as h, ecgpipe.data.wfdb_io as w\n"
        "print(h._parse_signal_lines is w._parse_signal_lines, w.install(), w.install(),"
        " h._parse_signal_lines is w._parse_signal_lines)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True", "True"]


@pytest.fixture
def fresh(monkeypatch):
    """As in a new process: nothing installed yet, wfdb's own parser in its place."""
    own = wfdb_io._wfdb_parse_signal_lines
    monkeypatch.setattr(wfdb_io, "_installed", None)
    monkeypatch.setattr(_header, "_parse_signal_lines", own)
    return own


@pytest.mark.parametrize(
    "name",
    [
        "SIGNAL_SPECS",
        "rx_signal",
        "HeaderSyntaxError",
        "int_types",
        "float_types",
        "_parse_signal_lines",
    ],
)
def test_a_missing_private_name_falls_back_with_a_note(name, fresh, monkeypatch, caplog):
    monkeypatch.delattr(_header, name)
    with caplog.at_level(logging.INFO, logger="ecgpipe"):
        assert wfdb_io.install() is False
    assert (
        f"wfdb's own header parser is used (slower): wfdb.io._header has no {name}" in caplog.text
    )
    assert getattr(_header, "_parse_signal_lines", fresh) is fresh  # left as it was
    assert wfdb_io.install() is False  # decided once


def test_signal_fields_other_than_expected_fall_back_with_a_note(fresh, monkeypatch, caplog):
    monkeypatch.setattr(_header, "SIGNAL_SPECS", _header.SIGNAL_SPECS.drop(index="block_size"))
    with caplog.at_level(logging.INFO, logger="ecgpipe"):
        assert wfdb_io.install() is False
    assert "signal-line fields are not the ones it was written for" in caplog.text
    assert _header._parse_signal_lines is fresh


@pytest.mark.parametrize("found", [(4, 2), (4, 4), (5, 0), None])
def test_an_untested_wfdb_release_keeps_wfdbs_own_parser(found, fresh, monkeypatch, tmp_path):
    monkeypatch.setattr(wfdb_io, "wfdb_version", lambda: found)
    assert wfdb_io.install() is False
    assert _header._parse_signal_lines is fresh
    (tmp_path / "r.hea").write_text("r 1 100 10\nr.dat 16 200/mV 16 0 0 0 0 II\n")
    assert wfdb_io.read_header(tmp_path / "r").sig_name == ["II"]  # read all the same


def test_the_tested_releases_are_the_ones_pyproject_pins():
    deps = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["dependencies"]
    (req,) = [r for r in map(Requirement, deps) if r.name == "wfdb"]
    (low, high) = wfdb_io.TESTED_WFDB
    assert {str(s) for s in req.specifier} == {f">={low[0]}.{low[1]}", f"<{high[0]}.{high[1]}"}
    assert low <= wfdb_io.wfdb_version() < high


# Parity with wfdb's own parse on headers written here: whole rdheader/rdrecord results.


@contextmanager
def _wfdbs_own():
    ours = _header._parse_signal_lines
    _header._parse_signal_lines = wfdb_io._wfdb_parse_signal_lines
    try:
        yield
    finally:
        _header._parse_signal_lines = ours


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
