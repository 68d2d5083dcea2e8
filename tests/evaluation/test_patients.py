"""Per-patient figures against counts worked out by hand."""

import csv
import io

import numpy as np
import pytest

from ecgpipe.evaluation import patients

CLASSES = ["N", "S", "V"]


def onehot(ids):
    return np.eye(3, dtype=bool)[ids]


def beats():
    """Patient a: 4 beats, 1 wrong (an S called N). Patient b: 6 beats, 3 wrong (two S called N,
    one N called V). Patient c: 2 beats, both right."""
    patient = np.array(["a"] * 4 + ["b"] * 6 + ["c"] * 2)
    record = np.array(["100"] * 4 + ["201"] * 3 + ["202"] * 3 + ["300"] * 2)
    y = np.array([0, 0, 1, 2, 0, 0, 0, 1, 1, 1, 2, 2])
    pred = np.array([0, 0, 0, 2, 0, 0, 2, 0, 0, 1, 2, 2])
    return patient, record, y, pred


def test_single_label_patients_worst_first_with_their_misses():
    patient, record, y, pred = beats()
    rows = patients.per_patient(
        patient, record, onehot(y), onehot(pred), CLASSES, single_label=True
    )
    assert [r["patient"] for r in rows] == ["b", "a", "c"]
    b, a, c = rows
    assert b["records"] == ["201", "202"] and b["n"] == 6 and b["n_wrong"] == 3
    assert b["error_rate"] == pytest.approx(0.5)
    # b: N true 3 (2 called N, 1 called V), S true 3 (1 called S), N predicted 4 (2 right)
    assert b["per_class"]["N"] == {
        "support": 3,
        "predicted": 4,
        "sensitivity": pytest.approx(2 / 3),
        "ppv": pytest.approx(2 / 4),
    }
    assert b["per_class"]["S"]["sensitivity"] == pytest.approx(1 / 3)
    assert b["per_class"]["S"]["ppv"] == 1.0
    assert b["per_class"]["V"] == {"support": 0, "predicted": 1, "sensitivity": None, "ppv": 0.0}
    assert b["missed_as"] == {"S": {"N": 2}, "N": {"V": 1}}
    assert a["missed_as"] == {"S": {"N": 1}} and a["error_rate"] == pytest.approx(0.25)
    assert c["missed_as"] == {} and c["per_class"] == {
        "V": {"support": 2, "predicted": 2, "sensitivity": 1.0, "ppv": 1.0}
    }


def test_multilabel_a_record_is_wrong_unless_its_label_set_is_exact():
    truth = np.array([[1, 0, 1], [0, 1, 0], [1, 0, 0]], bool)
    pred = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]], bool)
    rows = patients.per_patient(
        np.array(["p", "p", "q"]),
        np.array(["r1", "r2", "r3"]),
        truth,
        pred,
        CLASSES,
        single_label=False,
    )
    p, q = {r["patient"]: r for r in rows}["p"], {r["patient"]: r for r in rows}["q"]
    assert p["n_wrong"] == 1 and q["n_wrong"] == 1 and "missed_as" not in p
    assert [r["patient"] for r in rows] == ["q", "p"]  # 1 of 1 wrong before 1 of 2
    assert p["per_class"]["V"] == {"support": 1, "predicted": 0, "sensitivity": 0.0, "ppv": None}
    assert q["per_class"]["S"]["ppv"] == 0.0


def test_report_and_table_list_every_patient():
    patient, record, y, pred = beats()
    rows = patients.per_patient(
        patient, record, onehot(y), onehot(pred), CLASSES, single_label=True
    )
    text = patients.markdown(rows, CLASSES, "beats")
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(lines) == 1 + 3 and lines[1].startswith("| b | 201, 202 | 6 | 3 (50%) |")
    assert "0.67 / 0.50 (3)" in lines[1] and "S→N 2, N→V 1" in lines[1]
    table = list(csv.DictReader(io.StringIO(patients.table(rows, CLASSES))))
    assert [t["patient"] for t in table] == ["b", "a", "c"]
    assert table[0]["records"] == "201;202" and table[0]["V_sensitivity"] == ""
    assert table[0]["missed_as"] == "S>N:2;N>V:1" and table[2]["N_support"] == ""


def test_records_are_listed_in_natural_order():
    names = np.array(["1100", "335", "rec10", "rec9", "201"])
    rows = patients.per_patient(
        np.array(["p"] * 5), names, onehot([0] * 5), onehot([0] * 5), CLASSES, single_label=True
    )
    assert rows[0]["records"] == ["201", "335", "1100", "rec9", "rec10"]


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="one row each"):
        patients.per_patient(
            np.array(["a"]),
            np.array(["r", "s"]),
            onehot([0]),
            onehot([0]),
            CLASSES,
            single_label=True,
        )
