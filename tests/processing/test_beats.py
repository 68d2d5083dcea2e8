"""Beats as rows: the AAMI mapping on real MIT-BIH annotations, and windows centred on the
annotated sample."""

from collections import Counter

import numpy as np
import pytest

from ecgpipe.data.wfdb_io import read_annotations
from ecgpipe.processing import beats


def test_aami_classes_of_every_beat_symbol():
    expected = {
        "N": "NLRej",
        "S": "AaJS",
        "V": "VE",
        "F": "F",
        "Q": "/fQ",
    }
    for cls, symbols in expected.items():
        assert beats.aami(list(symbols)).tolist() == [cls] * len(symbols)
    assert beats.aami(["+", "~", "|", "x", "!", '"', "[", "]"]).tolist() == [""] * 8


@pytest.mark.realdata
def test_aami_mapping_on_real_annotations(mitdb):
    samples, symbols = read_annotations(mitdb / "208", "atr")
    # record 208 as published: N 1586, V 992, F 373, S 2, Q 2, and 85 non-beat annotations
    assert Counter(symbols.tolist()) == {
        "N": 1586, "V": 992, "F": 373, "+": 53, "~": 24, "|": 8, "S": 2, "Q": 2
    }  # fmt: skip
    assert Counter(beats.aami(symbols).tolist()) == {
        "N": 1586, "V": 992, "F": 373, "S": 2, "Q": 2, "": 85
    }  # fmt: skip
    assert (np.diff(samples) >= 0).all()


def test_windows_are_centred_on_the_peak_and_padded_at_the_ends():
    x = np.arange(2 * 100, dtype=np.float32).reshape(2, 100)
    w, padded = beats.windows(x, np.array([2, 50, 98]), before=5, after=7)
    assert w.shape == (3, 2, 12) and padded == 2
    np.testing.assert_array_equal(w[1], x[:, 45:57])
    assert (w[:, :, 5] == x[:, [2, 50, 98]].T).all(), "sample `before` is the R peak"
    np.testing.assert_array_equal(w[0, 0, :3], 0)  # before the record's start
    np.testing.assert_array_equal(w[0, 0, 3:], x[0, :9])
    np.testing.assert_array_equal(w[2, 1, 9:], 0)  # past its end


def test_symbol_counts_become_beats_per_aami_class_and_the_rest_non_beats():
    counts = beats.counts({"N": 10, "L": 2, "A": 3, "V": 1, "/": 4, "+": 5, "~": 1})
    assert counts == {"N": 12, "S": 3, "V": 1, "F": 0, "Q": 4, "non_beat": 6}
    assert beats.counts({}) == {"N": 0, "S": 0, "V": 0, "F": 0, "Q": 0, "non_beat": 0}
