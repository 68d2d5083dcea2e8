"""The MIT-BIH reader and its integrity checks, on the real DS1 records and on copies broken one
way at a time (missing annotations, an annotation past the end, another sampling rate)."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgpipe.data import mitdb
from ecgpipe.data.tables import DatasetError
from ecgpipe.data.validation import Expected, Thresholds, check_record

from ..conftest import shared_data

DS1 = "101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230"
THRESHOLDS = Thresholds(flat_std_mv=0.005, saturation_min_s=5.0, amplitude_limit_mv=15.0)


@pytest.fixture(scope="session")
def ds1() -> Path:
    root = shared_data() / "mitdb-ds1"
    if not (root / mitdb.RECORDS).is_file():
        pytest.skip(f"real MIT-BIH DS1 not found at {root} (set ECGPIPE_SHARED_DATA)")
    return root


def read(root: Path, include_paced: bool = False):
    return mitdb.read(
        root,
        root_label=str(root),
        classes=("N", "S", "V", "F", "Q"),
        sampling_rate=360.0,
        lead="MLII",
        annotator="atr",
        include_paced=include_paced,
    )


def copy_of(ds1: Path, tmp_path: Path, records=("101", "106", "108")) -> Path:
    root = tmp_path / "mitdb"
    root.mkdir()
    for r in records:
        for ext in (".hea", ".dat", ".atr"):
            shutil.copy(ds1 / f"{r}{ext}", root)
    (root / mitdb.RECORDS).write_text("\n".join(records) + "\n")
    return root


@pytest.mark.realdata
def test_real_ds1_is_read_whole(ds1: Path):
    df, info = read(ds1)
    assert df.record_id.tolist() == DS1.split() and (df.label_error == "").all()
    patients = dict(zip(df.record_id, df.patient_id, strict=True))
    assert patients["201"] == "201+202" and patients["101"] == "101"
    assert (info.name, info.label_kind, info.annotator) == ("mitdb", "beat", "atr")
    assert info.leads == ("MLII",) and info.fs == 360.0


def test_paced_and_unlisted_records_are_reported(tmp_path: Path):
    root = tmp_path / "db"
    root.mkdir()
    (root / mitdb.RECORDS).write_text("100\n102\n")
    (root / "217.hea").write_text("217 2 360 650000\n")
    rows = read(root)[0].set_index("record_id")
    assert rows.loc["100", "label_error"] == ""
    assert "paced record" in rows.loc["102", "label_error"]
    assert "not listed in" in rows.loc["217", "label_error"]
    assert (
        (read(root, include_paced=True)[0].set_index("record_id").loc["102", "label_error"]) == ""
    )


def test_an_empty_folder_is_an_error_naming_it(tmp_path: Path):
    with pytest.raises(DatasetError, match="no RECORDS file and no WFDB headers"):
        read(tmp_path)
    (tmp_path / mitdb.RECORDS).write_text("\n")
    with pytest.raises(DatasetError, match="lists no records"):
        read(tmp_path)


def expected(root: Path, record: str) -> Expected:
    return Expected(root / record, 360.0, ("MLII",), None, annotator="atr")


@pytest.mark.realdata
def test_a_real_record_passes_with_its_beat_counts(ds1: Path):
    check = check_record(expected(ds1, "208"), THRESHOLDS)
    assert check.failures == []
    assert check.symbols is not None and check.symbols["V"] == 992


@pytest.mark.realdata
def test_record_114_has_mlii_second_and_passes(ds1: Path):
    assert wfdb.rdheader(str(ds1 / "114")).sig_name == ["V5", "MLII"]
    assert check_record(expected(ds1, "114"), THRESHOLDS).failures == []


@pytest.mark.realdata
def test_missing_annotations_are_reported_naming_the_file(ds1: Path, tmp_path: Path):
    root = copy_of(ds1, tmp_path)
    (root / "106.atr").unlink()
    check = check_record(expected(root, "106"), THRESHOLDS)
    assert [f.check for f in check.failures] == ["annotations"]
    assert f"{root / '106.atr'} is missing" in check.failures[0].reason


@pytest.mark.realdata
def test_an_annotation_past_the_end_is_reported(ds1: Path, tmp_path: Path):
    root = copy_of(ds1, tmp_path)
    ann = wfdb.rdann(str(root / "108"), "atr")
    samples = np.append(ann.sample, 650_010)
    wfdb.wrann("108", "atr", samples, np.append(ann.symbol, "N"), write_dir=str(root))
    check = check_record(expected(root, "108"), THRESHOLDS)
    assert [f.check for f in check.failures] == ["annotations"]
    assert "1 annotations lie outside the signal's 650000 samples" in check.failures[0].reason
    assert "sample 650010" in check.failures[0].reason and "108.atr" in check.failures[0].reason


@pytest.mark.realdata
def test_a_record_of_another_sampling_rate_is_reported(ds1: Path, tmp_path: Path):
    root = copy_of(ds1, tmp_path)
    header = root / "101.hea"
    header.write_text(header.read_text().replace("101 2 360 650000", "101 2 250 650000", 1))
    check = check_record(expected(root, "101"), THRESHOLDS)
    assert [f.check for f in check.failures] == ["sampling_rate"]
    assert "header says 250 Hz, expected 360 Hz" in check.failures[0].reason
