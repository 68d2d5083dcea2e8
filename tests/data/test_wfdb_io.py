"""The fast signal-line parse gives what wfdb's own gives, field for field and type for type."""

from __future__ import annotations

import numpy as np
import pytest
from wfdb.io import _header

from ecgpipe.data import wfdb_io
from ecgpipe.data.synthetic.wfdb_writer import header_lines, quantise
from tests.conftest import shared_data

EDGE_CASES = [
    "100.dat 212 200 11 1024 995 -22131 0 MLII",  # format 212, MIT-BIH style
    "r.dat 16x2:3+10 0(5)/uV 12 7 0 0 0 I",  # frames, skew, offset; gain 0 means 200
    "r.dat 16 100/mV 16 -3",  # no baseline: it defaults to adc_zero
    "r.dat 16 100",  # no baseline, no adc_zero, no units
    "r.dat 80",  # nothing but the format
    "~ 16 1e3(2)/mV 16 0 0 0 0 lead name with spaces",
    "r.dat\t16\t-2.5(-7)/mV\t12\t0\t0\t-9\t0\tV1",
]


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
