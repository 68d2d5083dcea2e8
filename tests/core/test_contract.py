"""One check of an input against what a model reads: leads by name in the model's order, the
rate, the classes; anything else one line that says what differs and what to do."""

import pytest

from ecgpipe.core.contract import ContractError, Reads, check

MODEL = Reads.of(["I", "II", "V1"], 100.0, ["NORM", "MI"])


def test_the_same_leads_in_the_same_order_need_no_mapping():
    assert check(MODEL, Reads.of(["i", " II", "v1"], 100.0), "m") is None


def test_the_same_leads_in_another_order_are_mapped_by_name():
    order = check(MODEL, Reads.of(["V1", "I", "II"], 100.0), "m")
    assert order == (1, 2, 0)
    given = ["V1", "I", "II"]
    assert [given[i] for i in order] == ["I", "II", "V1"]


LEADS = ["I", "II", "V1"]
REFUSED = [
    (Reads.of(["I", "II"], 100.0), {}, r"^m was trained on I, II, V1; this data lacks V1 \(it has"),
    (Reads.of([*LEADS, "V2"], 100.0), {}, r"has I, II, V1, V2: set preprocess.leads=\[I,II,V1\]"),
    (
        Reads.of(None, n_leads=2),
        {},
        r"^m was trained on I, II, V1; this data has 2 leads: the first",
    ),
    (Reads.of(LEADS, 500.0), {}, r"^m was trained at 100 Hz; this data is at 500 Hz: set prep"),
    (
        Reads.of(LEADS, 100.0, ["MI", "NORM"]),
        {"same_classes": True},
        r"^m was trained for the classes NORM, MI; this data has MI, NORM$",
    ),
]


@pytest.mark.parametrize(("given", "kw", "message"), REFUSED)
def test_what_the_model_cannot_read_is_one_line_saying_what_differs(given, kw, message):
    with pytest.raises(ContractError, match=message):
        check(MODEL, given, "m", **kw)


def test_a_record_may_hold_more_leads_and_another_rate_where_it_is_resampled():
    record = Reads.of(["V2", "V1", "II", "I"], 500.0)
    assert check(MODEL, record, "m", "the record", resampled=True, more_leads=True) == (3, 2, 1)
    with pytest.raises(ContractError, match="the record lacks V1"):
        check(MODEL, Reads.of(["I", "II"], 500.0), "m", "the record", more_leads=True)


def test_unnamed_leads_are_taken_in_the_model_order_when_they_are_as_many():
    assert check(MODEL, Reads.of(None, n_leads=3), "m") is None
    unnamed_model = Reads.of(None, 100.0, n_leads=3)
    assert check(unnamed_model, Reads.of(["V1", "I", "II"], 100.0), "m") is None


def test_classes_may_differ_unless_asked():
    assert check(MODEL, Reads.of(["I", "II", "V1"], 100.0, ["AF"]), "m") is None
