"""The user's own folder: real records copied into subfolders with a labels file, read and
validated; and every way a labels file can be wrong, reported rather than dropped."""

import shutil
from pathlib import Path

import pytest

from ecgpipe.data import wfdb_folder
from ecgpipe.data.manifest import decode_labels
from ecgpipe.data.tables import DatasetError

from ..conftest import shared_data


def read(root: Path, **kw):
    options = {
        "root_label": str(root),
        "labels_file": "labels.csv",
        "label_kind": "multiclass",
        "task": "rhythm",
        "classes": None,
        "sampling_rate": None,
        "leads": None,
        "min_duration_s": 1.0,
        "max_duration_s": None,
    }
    return wfdb_folder.read(root, **(options | kw))


def copy_record(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    for f in source.parent.glob(f"{source.name}.*"):
        shutil.copy(f, target.parent / f"{target.name}{f.suffix}")
    header = target.parent / f"{target.name}.hea"  # the header names its data file
    header.write_text(header.read_text().replace(source.name, target.name))


@pytest.fixture
def cinc_folder(tmp_path: Path) -> Path:
    """Five real CinC 2017 records (.mat, 300 Hz, 1 lead) in subfolders, single-label."""
    sample = shared_data() / "cinc2017-sample"
    if not sample.is_dir():
        pytest.skip(f"real CinC 2017 sample not found at {sample}")
    root = tmp_path / "own"
    for i, where in enumerate(("ward1/a", "ward1/b", "ward2/deep/c", "d", "ward2/e"), start=1):
        copy_record(sample / f"A0000{i}", root / where)
    (root / "labels.csv").write_text(
        "record,labels,patient_id\nward1/a,N,p1\nward1/b,N,p1\nward2/deep/c,N,\nd,A,p3\n"
        "ward2/e,O,p4\n"
    )
    return root


@pytest.fixture
def ptbxl_folder(tmp_path: Path) -> Path:
    """Four real PTB-XL records (12 leads, 100 Hz) in subfolders, multilabel, with folds."""
    sample = shared_data() / "ptbxl-sample" / "records100" / "00000"
    if not sample.is_dir():
        pytest.skip(f"real PTB-XL sample not found at {sample}")
    root = tmp_path / "own12"
    for i, where in enumerate(("site1/r1", "site1/r2", "site2/r3", "site2/x/r4"), start=1):
        copy_record(sample / f"0000{i}_lr", root / where)
    (root / "labels.csv").write_text(
        "record,labels,patient_id,fold\nsite1/r1,NORM,a,1\nsite1/r2,NORM;MI,a,1\n"
        "site2/r3,,b,2\nsite2/x/r4,STTC;MI,c,3\n"
    )
    return root


@pytest.mark.realdata
def test_single_label_folder_with_subfolders(cinc_folder: Path):
    df, info = read(cinc_folder)
    assert df.record_id.tolist() == ["ward1/a", "ward1/b", "ward2/deep/c", "d", "ward2/e"]
    assert df.patient_id.tolist() == ["p1", "p1", "ward2/deep/c", "p3", "p4"]
    assert (df.label_error == "").all() and (df.fold == -1).all()
    assert info.classes == ("A", "N", "O") and info.label_kind == "multiclass"
    assert info.fs is None and info.leads == ()


@pytest.mark.realdata
def test_multilabel_folder_with_folds(ptbxl_folder: Path):
    df, info = read(ptbxl_folder, label_kind="multilabel", classes=("NORM", "MI", "STTC"))
    assert [decode_labels(x) for x in df.labels] == [["NORM"], ["MI", "NORM"], [], ["MI", "STTC"]]
    assert df.fold.tolist() == [1, 1, 2, 3] and (df.label_error == "").all()
    assert info.classes == ("NORM", "MI", "STTC")


@pytest.mark.realdata
def test_further_columns_of_the_labels_file_describe_each_record(cinc_folder: Path):
    (cinc_folder / "labels.csv").write_text(
        "record,labels,sex,scanner\nward1/a,N,F,x1\nward1/b,N,M,\nward2/deep/c,N,,x2\nd,A,F,x1\n"
        "ward2/e,O,M,x2\n"
    )
    df, _ = read(cinc_folder)
    assert df.sex.tolist() == ["F", "M", "", "F", "M"]
    assert df.scanner.tolist() == ["x1", "", "x2", "x1", "x2"]
    (cinc_folder / "labels.csv").write_text(  # read as the headers' #Age and #Sex are
        "record,labels,age,sex\nward1/a,N,61,Female\nward1/b,N,610,M\nward2/deep/c,N,,x\n"
        "d,A,NaN,unknown\nward2/e,O,40.5,male\n"
    )
    df = read(cinc_folder)[0].set_index("record_id")
    assert df.age.tolist() == ["61", "", "", "", "40.5"]
    assert df.sex.tolist() == ["F", "M", "", "", "M"]
    assert df.label_error.tolist() == [
        "",
        "labels.csv line 3: age '610' is not a plausible age (0 to 120 years)",
        "labels.csv line 4: sex 'x' is not a sex ecgpipe reads (f, female, m, male, or unknown)",
        "",
        "",
    ]
    (cinc_folder / "labels.csv").write_text("record,labels,fs\nward1/a,N,300\n")
    with pytest.raises(DatasetError, match=r"column\(s\) \['fs'\] are the manifest's own"):
        read(cinc_folder)


@pytest.mark.realdata
def test_the_labels_file_is_checked_row_by_row(cinc_folder: Path):
    (cinc_folder / "labels.csv").write_text(
        "record,labels,fold\nward1/a,N,1\nward1/b,N;A,2\nward2/deep/c,Z,x\nmissing/one,O,\n"
        "../outside,N,\n"
    )
    df, _ = read(cinc_folder, classes=("N", "A", "O"))
    errors = dict(zip(df.record_id, df.label_error, strict=True))
    assert errors["ward1/a"] == ""
    assert errors["ward1/b"] == "labels.csv line 3: 2 classes (N;A) for single-label data"
    assert errors["ward2/deep/c"].startswith("labels.csv line 4: unknown class(es) Z")
    assert errors["missing/one"] == ""  # listed but absent: validate's missing_file
    assert "must be a path inside the folder" in errors["../outside"]
    assert errors["d"] == errors["ward2/e"] == "not listed in labels.csv"  # present, unlisted
    fold = read(cinc_folder, classes=("N", "A", "O", "Z"))[0].set_index("record_id")
    why = fold.loc["ward2/deep/c", "label_error"]
    assert why == "labels.csv line 4: fold 'x' is not an integer"


@pytest.mark.realdata
def test_a_labels_file_written_on_windows_reads_as_written(cinc_folder: Path):
    """A byte-order mark, CRLF line ends and backslashes between folders: the same records, with
    the same labels, as the plain file gives (issue 35)."""
    plain = read(cinc_folder)[0]
    text = (cinc_folder / "labels.csv").read_text().replace("/", "\\").replace("\n", "\r\n")
    (cinc_folder / "labels.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    df, _ = read(cinc_folder)
    assert df.equals(plain) and (df.label_error == "").all()
    (cinc_folder / "labels.csv").write_text("record,labels\nC:\\data\\d,A\nward1/a,N\n")
    errors = read(cinc_folder)[0].set_index("record_id").label_error
    assert (
        errors["C:/data/d"]
        == "labels.csv line 2: record 'C:/data/d' must be a path inside the folder"
    )


def test_whole_file_problems_name_the_file(tmp_path: Path):
    with pytest.raises(DatasetError, match="not a folder"):
        read(tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"labels\.csv: not found"):
        read(tmp_path)
    (tmp_path / "labels.csv").write_text("name,labels\na,N\n")
    with pytest.raises(DatasetError, match=r"labels\.csv: lacks column\(s\) \['record'\]"):
        read(tmp_path)
    (tmp_path / "labels.csv").write_text("record,labels\na,\n")
    with pytest.raises(DatasetError, match="no record has a label"):
        read(tmp_path)
    (tmp_path / "labels.csv").write_text("")
    with pytest.raises(DatasetError, match=r"labels\.csv: empty"):
        read(tmp_path)
