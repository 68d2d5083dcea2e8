"""The parts of the checks that whole-record cross-validation cannot make, on the real DS1
records: excerpts where a class is the majority, written as records of their own with the
original's beats; false S calls per hour of atrial fibrillation. The checks of a trained preset
are in ``tests/stages/test_unseen_patients.py``."""

import itertools

import numpy as np
import pandas as pd
import pytest

from ecgpipe.data.wfdb_io import read_annotations, read_header, read_rhythms
from ecgpipe.processing import beats
from ecgpipe.serving import beat_checks

from ..stages.test_real_datasets import sample


@pytest.fixture(scope="module")
def source():
    return sample("mitdb-ds1", "RECORDS")


@pytest.mark.realdata
def test_excerpts_are_records_of_their_own_with_the_beats_of_the_original(source, tmp_path):
    made = beat_checks.excerpts(source, ["209"], "S", "atr", tmp_path)
    samples, symbols = read_annotations(source / "209", "atr")
    for name, (record, start) in list(made.items())[:3]:
        assert record == "209"
        got, got_symbols = read_annotations(tmp_path / name, "atr")
        is_beat = beats.aami(got_symbols) != ""
        kinds = beats.aami(got_symbols[is_beat])
        assert len(kinds) == beat_checks.WIDTH and np.mean(kinds == "S") >= beat_checks.SHARE
        for at, symbol in zip(got[is_beat], got_symbols[is_beat], strict=True):
            assert symbols[np.searchsorted(samples, at + start)] == symbol
        header = read_header(tmp_path / name)
        assert header.fs == 360 and header.sig_name == read_header(source / "209").sig_name


@pytest.mark.realdata
def test_false_alarms_in_atrial_fibrillation_are_counted_per_hour_of_it(source):
    rhythms = read_rhythms(source / "201", "atr")
    assert ("(AFIB" in {r for _, r in rhythms}) and rhythms[0][0] >= 0
    samples, symbols = read_annotations(source / "201", "atr")
    is_beat = beats.aami(symbols) != ""
    called = pd.DataFrame(
        {
            "record": "201",
            "sample": samples[is_beat],
            "truth": beats.aami(symbols[is_beat]),
            "called": "S",  # every beat called S: the false ones are the non-S beats in AF
        }
    )
    count, hours = beat_checks.af_false_alarms(called, source, ["201"], "atr")
    bounds = [*rhythms, (read_header(source / "201").sig_len, "")]
    want_count, want_s = 0, 0.0
    for (start, rhythm), (stop, _) in itertools.pairwise(bounds):
        if rhythm in ("(AFIB", "(AFL"):
            inside = (called["sample"] >= start) & (called["sample"] < stop)
            want_count += int((inside & (called["truth"] != "S")).sum())
            want_s += (stop - start) / 360.0
    assert want_count > 100 and (count, hours) == (want_count, pytest.approx(want_s / 3600))
