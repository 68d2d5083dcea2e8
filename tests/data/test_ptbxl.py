"""The PTB-XL reader, on hand-made tables and on the real sample (skipped when absent)."""

from pathlib import Path

import pytest

from ecgpipe.data import ptbxl
from ecgpipe.data.manifest import decode_labels
from ecgpipe.data.tables import DatasetError

STATEMENTS = """,description,diagnostic,form,rhythm,diagnostic_class,diagnostic_subclass
NORM,normal ECG,1.0,,,NORM,NORM
IMI,inferior MI,1.0,,,MI,IMI
SR,sinus rhythm,,,1.0,,
"""
HEADER = "ecg_id,patient_id,age,sex,scp_codes,strat_fold,filename_lr,filename_hr\n"


def write_copy(root: Path, rows: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "scp_statements.csv").write_text(STATEMENTS)
    (root / "ptbxl_database.csv").write_text(HEADER + rows)
    return root


def read(root: Path, fs: int = 100, task: str = "superdiagnostic"):
    return ptbxl.read(root, root_label=str(root), sampling_rate=fs, task=task)


def test_rows_become_manifest_rows(tmp_path):
    root = write_copy(
        tmp_path,
        "1,15709.0,56,1,\"{'NORM': 100.0, 'SR': 0.0}\",3,records100/00000/00001_lr,"
        "records500/00000/00001_hr\n"
        "2,13243.0,19,0,\"{'IMI': 15.0}\",9,records100/00000/00002_lr,records500/00000/00002_hr\n",
    )
    df, info = read(root, fs=500)
    assert list(df.record_id) == ["1", "2"]
    assert list(df.patient_id) == ["15709", "13243"]
    assert list(df.path) == ["records500/00000/00001_hr", "records500/00000/00002_hr"]
    assert list(df.fold) == [3, 9]
    assert [decode_labels(x) for x in df.labels] == [["NORM"], ["MI"]]
    assert set(df.n_samples) == {5000}
    assert info.classes == ("MI", "NORM")
    assert info.label_kind == "multilabel"
    assert df.age.tolist() == ["56", "19"] and df.sex.tolist() == ["F", "M"]  # PTB-XL: 1 female


def test_bad_labels_are_kept_with_a_reason(tmp_path):
    root = write_copy(
        tmp_path,
        "1,1,50,0,\"{'XYZ9': 100.0, 'NORM': 0.0}\",1,a,b\n"
        '2,2,50,0,"not a dict",1,c,d\n'
        "3,3,50,0,\"['NORM']\",1,e,f\n",
    )
    df, _ = read(root)
    assert len(df) == 3
    assert "unknown SCP code(s) XYZ9" in df.label_error[0]
    assert "not a dict literal" in df.label_error[1]
    assert "not a dict of code -> likelihood" in df.label_error[2]


def test_missing_database_says_how_to_get_one(tmp_path):
    with pytest.raises(ptbxl.PtbxlError, match=r"ptbxl_database\.csv: not found.*data\.download"):
        read(tmp_path)


def test_missing_columns_and_bad_folds_are_named(tmp_path):
    root = tmp_path / "a"
    root.mkdir()
    (root / "scp_statements.csv").write_text(STATEMENTS)
    (root / "ptbxl_database.csv").write_text("ecg_id,scp_codes\n1,{}\n")
    with pytest.raises(DatasetError, match=r"lacks column\(s\) \['patient_id'"):
        read(root)
    root = write_copy(tmp_path / "b", '7,1,50,0,"{}",x,a,b\n')
    with pytest.raises(ptbxl.PtbxlError, match=r"line 2 \(ecg_id 7\): strat_fold 'x'"):
        read(root)


def test_download_fetches_tables_and_records(tmp_path, monkeypatch):
    import wfdb

    calls = []
    monkeypatch.setattr(wfdb, "dl_files", lambda db, d, files: calls.append((db, d, files)))
    monkeypatch.setattr(wfdb, "dl_database", lambda db, d: calls.append((db, d)))
    ptbxl.download(tmp_path / "ptb")
    assert calls == [
        ("ptb-xl", str(tmp_path / "ptb"), ["ptbxl_database.csv", "scp_statements.csv"]),
        ("ptb-xl", str(tmp_path / "ptb")),
    ]


# Hand-read from the real ptbxl_database.csv: ecg_id -> (patient, fold, task -> labels).
HAND_READ = {
    "1": ("15709", 3, {"superdiagnostic": ["NORM"], "form": ["LVOLT"], "rhythm": ["SR"]}),
    "18": ("13619", 9, {"superdiagnostic": [], "rhythm": ["AFLT"], "all": ["AFLT"]}),
    "39": (
        "13619",
        9,
        {
            "superdiagnostic": ["MI", "STTC"],
            "subdiagnostic": ["IMI", "NST_", "STTC"],
            "diagnostic": ["DIG", "IMI", "LNGQT", "NST_"],
            "form": ["ABQRS", "DIG", "LNGQT", "NST_"],
            "rhythm": ["SR"],
            "all": ["ABQRS", "DIG", "IMI", "LNGQT", "NST_", "SR"],
        },
    ),
}


@pytest.mark.parametrize(
    "task", ["superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all"]
)
def test_real_sample_labels_match_hand_read_rows(ptbxl_sample, task):
    df, info = read(ptbxl_sample, task=task)
    assert len(df) == 500
    assert (df.label_error == "").all()
    rows = df.set_index("record_id")
    for ecg_id, (patient, fold, labels) in HAND_READ.items():
        assert rows.loc[ecg_id, "patient_id"] == patient
        assert rows.loc[ecg_id, "fold"] == fold
        if task in labels:
            assert decode_labels(rows.loc[ecg_id, "labels"]) == labels[task]
    if task == "superdiagnostic":
        assert info.classes == ("CD", "HYP", "MI", "NORM", "STTC")


def test_real_sample_describes_each_patient_and_recording(ptbxl_sample):
    """Age, sex, site and device, as in ptbxl_database.csv's first row (ecg_id 1: 56 years,
    sex 1, site 0.0, device ``CS-12   E``), the over-89s written 300 read as 90."""
    df, _ = read(ptbxl_sample)
    first = df.set_index("record_id").loc["1"]
    assert (first.age, first.sex, first.site, first.device) == ("56", "F", "0", "CS-12 E")
    assert set(df.sex) == {"F", "M"} and df.age.astype(float).max() <= ptbxl.OLDEST
    assert df.site.str.fullmatch(r"\d+").all() and df.device.str.len().min() > 0


def test_real_sample_paths_follow_the_sampling_rate(ptbxl_sample):
    df, _ = read(ptbxl_sample, fs=500)
    assert df.path[0] == "records500/00000/00001_hr"
    present = sum((ptbxl_sample / f"{p}.hea").is_file() for p in df.path)
    assert present == 20
