"""The clinical 12-lead layout."""

import numpy as np
import pytest

from ecgpipe.core.errors import PipelineError
from ecgpipe.evaluation.ecg_plot import plot_12lead, plot_ecg

LEADS = ["I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6"]


def test_every_lead_is_drawn_in_its_place_with_a_rhythm_strip():
    fs, n = 100, 1000
    signal = np.stack([np.full(n, float(i)) for i in range(12)])  # lead i holds the value i
    ax = plot_12lead(signal, fs, LEADS, title="t").axes[0]
    labels = [t.get_text() for t in ax.texts]
    assert labels == [
        "I",
        "aVR",
        "V1",
        "V4",
        "II",
        "aVL",
        "V2",
        "V5",
        "III",
        "aVF",
        "V3",
        "V6",
        "II",
    ]
    traces = [line for line in ax.lines if len(line.get_xdata()) > 2]
    assert len(traces) == 13
    # each of the 3 x 4 panels covers its quarter of the record; the rhythm strip all of it
    for k, line in enumerate(traces[:12]):
        col = k % 4
        x = line.get_xdata()
        assert x[0] == pytest.approx(col * 2.5) and x[-1] == pytest.approx(col * 2.5 + 2.49)
    assert traces[12].get_xdata()[-1] == pytest.approx(9.99)
    assert ax.get_xlim() == (0, 10)


def test_a_missing_lead_is_named():
    with pytest.raises(PipelineError, match=r"\['V6'\]"):
        plot_12lead(np.zeros((11, 1000)), 100, LEADS[:11])


def test_a_single_lead_record_is_drawn_as_strips_of_ten_seconds():
    fs, n = 300, 300 * 25  # 25 s: rows of 10, 10 and 5 s
    signal = np.sin(np.arange(n) / fs)[None]
    ax = plot_ecg(signal, fs, ["ECG"], title="AF?").axes[0]
    assert [t.get_text() for t in ax.texts] == ["ECG  0 s", "ECG  10 s", "ECG  20 s"]
    ends = [line.get_xdata()[-1] for line in ax.lines]
    assert ends == pytest.approx([10 - 1 / fs, 10 - 1 / fs, 5 - 1 / fs])
    assert ax.get_title() == "AF?"


def test_the_twelve_standard_leads_get_the_clinical_layout():
    ax = plot_ecg(np.zeros((12, 1000)), 100, LEADS).axes[0]
    assert len(ax.texts) == 13
