"""The CinC 2017 reader: on the real 2,000-record subset, and on copies broken one way at a time."""

import shutil
from pathlib import Path

import pytest

from ecgpipe.data import cinc2017
from ecgpipe.data.manifest import decode_labels
from ecgpipe.data.tables import DatasetError

from ..conftest import shared_data


@pytest.fixture(scope="session")
def cinc_sample() -> Path:
    root = shared_data() / "cinc2017-sample"
    if not (root / cinc2017.REFERENCE).is_file():
        pytest.skip(f"real CinC 2017 sample not found at {root} (set ECGPIPE_SHARED_DATA)")
    return root


def read(root: Path, classes=cinc2017.CLASSES):
    return cinc2017.read(
        root,
        root_label=str(root),
        classes=tuple(classes),
        sampling_rate=300.0,
        min_duration_s=9.0,
        max_duration_s=61.0,
    )


@pytest.mark.realdata
def test_real_sample_is_read_whole(cinc_sample: Path):
    df, info = read(cinc_sample)
    assert len(df) == 2000 and (df.label_error == "").all()
    assert df.record_id.is_unique and (df.patient_id == df.record_id).all()
    counts = df.labels.map(lambda x: decode_labels(x)[0]).value_counts().to_dict()
    assert counts == {"N": 1187, "O": 553, "A": 196, "~": 64}  # as REFERENCE.csv says
    assert (info.name, info.task, info.label_kind) == ("cinc2017", "rhythm", "multiclass")
    assert info.classes == ("N", "A", "O", "~") and info.fs == 300.0 and info.leads == ("ECG",)
    assert (df.n_samples == -1).all(), "lengths vary: validate reads them from the headers"


@pytest.mark.realdata
def test_a_dropped_class_is_unlabelled_not_lost(cinc_sample: Path):
    df, info = read(cinc_sample, classes=("N", "A", "O"))
    assert len(df) == 2000 and info.classes == ("N", "A", "O")
    assert sum(decode_labels(x) == [] for x in df.labels) == 64


def copy_of(sample: Path, tmp_path: Path, records=("A00001", "A00002", "A00003")) -> Path:
    root = tmp_path / "cinc"
    root.mkdir()
    for r in records:
        for ext in (".hea", ".mat"):
            shutil.copy(sample / f"{r}{ext}", root)
    return root


@pytest.mark.realdata
@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_either_line_ending(cinc_sample: Path, tmp_path: Path, ending: str):
    root = copy_of(cinc_sample, tmp_path)
    (root / "REFERENCE.csv").write_bytes(ending.join(["A00001,N", "A00002,A", "A00003,~"]).encode())
    df, _ = read(root)
    assert df.record_id.tolist() == ["A00001", "A00002", "A00003"]
    assert [decode_labels(x) for x in df.labels] == [["N"], ["A"], ["~"]]


@pytest.mark.realdata
def test_unknown_unlisted_and_absent_records_are_reported(cinc_sample: Path, tmp_path: Path):
    root = copy_of(cinc_sample, tmp_path)
    (root / "REFERENCE.csv").write_text("A00001,N\nA00002,X\nA09999,O\n")
    df, _ = read(root)
    rows = df.set_index("record_id")
    assert rows.loc["A00001", "label_error"] == ""
    assert "unknown class 'X'" in rows.loc["A00002", "label_error"]
    assert rows.loc["A00003", "label_error"] == "not listed in REFERENCE.csv"
    assert rows.loc["A09999", "label_error"] == ""  # listed, absent: validate's missing_file
    assert len(df) == 4


def test_whole_file_problems_name_the_file(tmp_path: Path):
    with pytest.raises(DatasetError, match=r"REFERENCE\.csv: not found"):
        read(tmp_path)
    (tmp_path / "REFERENCE.csv").write_text("A00001,N,extra\n")
    with pytest.raises(DatasetError, match=r"REFERENCE\.csv: rows have 3 fields, expected 2"):
        read(tmp_path)
    (tmp_path / "REFERENCE.csv").write_text("A00001,N\nA00002,A,x\n")
    with pytest.raises(DatasetError, match=r"REFERENCE\.csv: line 2 has 3 fields, expected 2"):
        read(tmp_path)
    (tmp_path / "REFERENCE.csv").write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(DatasetError, match=r"REFERENCE\.csv line 1: not UTF-8"):
        read(tmp_path)
