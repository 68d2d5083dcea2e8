"""Labels in WFDB headers as the PhysioNet/CinC Challenges 2020/2021 write them: the shipped code
table, the challenge's equivalent codes, and a clear reason for every header that cannot be
used; then the folder reader on headers written here around synthetic signals."""

from pathlib import Path

import numpy as np
import pytest
import wfdb

from ecgpipe.data import snomed, wfdb_folder
from ecgpipe.data.tables import DatasetError


def test_the_table_has_the_challenges_26_scored_classes_and_their_equivalences():
    assert len(snomed.scored_classes()) == 26
    assert sum(c.scored for c in snomed.table().values()) == 30
    for a, b, cls in (
        ("733534002", "164909002", "LBBB"),
        ("713427006", "59118001", "RBBB"),
        ("284470004", "63593006", "PAC"),
        ("427172004", "17338001", "PVC"),
    ):
        assert snomed.class_of(a) == snomed.class_of(b) == cls
    assert snomed.class_of("CRBBB") == snomed.class_of("RBBB") == "RBBB"
    assert snomed.class_of("AF") == snomed.class_of("164889003") == "AF"
    assert snomed.class_of("164873001") is None  # LVH: listed, not scored
    assert snomed.class_of("XYZ") is None


def test_a_challenge_header_gives_classes_unscored_codes_age_and_sex():
    h = snomed.parse(
        ["Age: 74", "Sex: Male", "Dx: 426783006,59118001,164873001", "Rx: Unknown", "Hx: Unknown"]
    )
    assert h == snomed.Header(("NSR", "RBBB"), ("164873001",), 74.0, "M", "")
    assert snomed.parse(["Age: NaN", "Sex: Unknown", "Dx: 164889003"]).age is None


@pytest.mark.parametrize(
    ("comments", "why"),
    [
        (["Age: 50", "Sex: F"], "no '#Dx:' line"),
        (["Dx: 426783006,99999999"], "unknown SNOMED CT code(s) 99999999"),
        (["Dx 426783006"], "malformed line '#Dx 426783006'"),
        (["Dx: AF"], "'#Dx:' AF is not a SNOMED CT code"),
        (["Dx: 426783006,"], "lists no code, or an empty one"),
        (["Dx: 426783006", "Dx: 164889003"], "'#Dx' appears twice"),
        (["Age: old", "Dx: 426783006"], "'#Age: old' is not a number"),
        (["Age: 610", "Dx: 426783006"], "'#Age: 610' is not a plausible age (0 to 120 years)"),
        (["Age: -1", "Dx: 426783006"], "'#Age: -1' is not a plausible age"),
        (["Sex: 2", "Dx: 426783006"], "'#Sex: 2' is not a sex ecgpipe reads (f, female, m, male"),
    ],
)
def test_every_unusable_header_says_why(comments, why):
    h = snomed.parse(comments)
    assert why in h.error and h.classes == ()


def write(folder: Path, name: str, comments: list[str]) -> None:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    x = np.sin(np.arange(1000)[:, None] / 10 + np.arange(2)) * 0.5
    wfdb.wrsamp(
        Path(name).name, fs=100, units=["mV", "mV"], sig_name=["I", "II"], p_signal=x,
        fmt=["16", "16"], comments=comments, write_dir=str((folder / name).parent),
    )  # fmt: skip


def read(folder: Path, **kw):
    args = dict(
        root_label=str(folder), labels_file="labels.csv", label_kind="multilabel", task="dx",
        classes=None, sampling_rate=None, leads=None, min_duration_s=1.0, max_duration_s=None,
        label_source="header",
    )  # fmt: skip
    return wfdb_folder.read(folder, **(args | kw))


def test_the_folder_reader_labels_records_by_their_headers(tmp_path: Path, caplog):
    write(tmp_path, "g1/A1", ["Age: 61", "Sex: Female", "Dx: 164889003,164873001"])
    write(tmp_path, "g1/A2", ["Age: 40", "Sex: Male", "Dx: 426783006"])
    write(tmp_path, "g2/A3", ["Age: 70", "Sex: Male", "Dx: 63593006,426783006"])  # SVPB = PAC
    write(tmp_path, "g2/A4", ["Age: 70", "Sex: Male"])
    with caplog.at_level("INFO", logger="ecgpipe"):
        df, info = read(tmp_path)
    assert info.classes == ("AF", "NSR", "PAC")  # the challenge's order, those present
    rows = df.set_index("record_id")
    assert (
        rows.loc["g1/A1", "labels"] == '["AF"]' and rows.loc["g2/A3", "labels"] == '["NSR", "PAC"]'
    )
    assert (rows.loc["g1/A1", "age"], rows.loc["g1/A1", "sex"]) == ("61", "F")
    assert rows.loc["g2/A4", "label_error"].startswith("header: no '#Dx:' line")
    assert "LVH (164873001) 1" in caplog.text
    _, chosen = read(tmp_path, classes=("SVPB", "426783006"))
    assert chosen.classes == ("PAC", "NSR")
    with pytest.raises(DatasetError, match=r"data\.classes: XYZ name"):
        read(tmp_path, classes=("AF", "XYZ"))
    single, _ = read(tmp_path, label_kind="multiclass", classes=("AF", "NSR", "PAC"))
    assert (
        "2 classes (PAC;NSR) for single-label data"
        in single.set_index("record_id").loc["g2/A3", "label_error"]
    )
