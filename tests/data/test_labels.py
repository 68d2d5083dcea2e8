import pandas as pd
import pytest

from ecgpipe.data.labels import ScpStatements
from ecgpipe.data.tables import DatasetError


@pytest.fixture
def table() -> pd.DataFrame:
    rows = {
        "NORM": (1.0, None, None, "NORM", "NORM"),
        "IMI": (1.0, None, None, "MI", "IMI"),
        "NDT": (1.0, 1.0, None, "STTC", "STTC"),
        "NST_": (1.0, 1.0, None, "STTC", "NST_"),
        "STD_": (None, 1.0, None, None, None),
        "SR": (None, None, 1.0, None, None),
    }
    cols = ["diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=cols)


CODES = {"IMI": 15.0, "NDT": 100.0, "NST_": 0.0, "STD_": 50.0, "SR": 0.0}


@pytest.mark.parametrize(
    ("task", "labels", "classes"),
    [
        ("superdiagnostic", ["MI", "STTC"], ("MI", "NORM", "STTC")),
        ("subdiagnostic", ["IMI", "NST_", "STTC"], ("IMI", "NORM", "NST_", "STTC")),
        ("diagnostic", ["IMI", "NDT", "NST_"], ("IMI", "NDT", "NORM", "NST_")),
        ("form", ["NDT", "NST_", "STD_"], ("NDT", "NST_", "STD_")),
        ("rhythm", ["SR"], ("SR",)),
        ("all", ["IMI", "NDT", "NST_", "SR", "STD_"], ("IMI", "NDT", "NORM", "NST_", "SR", "STD_")),
    ],
)
def test_labels_per_task_ignore_likelihood(table, task, labels, classes):
    s = ScpStatements(table, task)
    assert s.labels(CODES) == labels
    assert s.classes == classes


def test_unknown_codes_are_reported_not_labelled(table):
    s = ScpStatements(table, "superdiagnostic")
    assert s.unknown({"NORM": 100.0, "XYZ9": 0.0}) == ["XYZ9"]
    assert s.labels({"NORM": 100.0, "XYZ9": 0.0}) == ["NORM"]


def test_unknown_task_is_rejected(table):
    with pytest.raises(ValueError, match="unknown task 'bogus'"):
        ScpStatements(table, "bogus")


def test_read_names_the_missing_file(tmp_path):
    with pytest.raises(DatasetError, match=r"scp_statements\.csv: not found \(PTB-XL's SCP"):
        ScpStatements.read(tmp_path / "scp_statements.csv", "form")
