import json
from pathlib import Path

import pandas as pd
import pytest

from ecgpipe.core.errors import PipelineError
from ecgpipe.data import manifest
from ecgpipe.data.manifest import DatasetInfo, ManifestError


def rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "record_id": ["1", "2"],
            "patient_id": ["7", ""],
            "path": ["r/1", "r/2"],
            "fs": [100.0, 100.0],
            "n_leads": [1, 1],
            "leads": ["II", "II"],
            "n_samples": [1000, 900],
            "labels": [manifest.encode_labels(["b", "a"]), manifest.encode_labels([])],
            "label_error": ["", "bad"],
            "fold": [1, -1],
        }
    )


def test_round_trip_keeps_types_and_empty_strings(tmp_path: Path):
    manifest.write(rows(), tmp_path / "m.csv")
    df = manifest.read(tmp_path / "m.csv")
    assert df.patient_id.tolist() == ["7", ""]
    assert df.n_samples.tolist() == [1000, 900]
    assert [manifest.decode_labels(x) for x in df.labels] == [["a", "b"], []]


def test_missing_columns_are_named(tmp_path: Path):
    with pytest.raises(ManifestError, match="lacks columns"):
        manifest.write(rows().drop(columns=["fold"]), tmp_path / "m.csv")
    (tmp_path / "m.csv").write_text("record_id,path\n1,a\n")
    with pytest.raises(ManifestError, match=r"m\.csv: manifest lacks columns \['patient_id'"):
        manifest.read(tmp_path / "m.csv")
    with pytest.raises(ManifestError, match="run the prepare stage"):
        manifest.read(tmp_path / "none.csv")


def test_bad_types_are_named(tmp_path: Path):
    df = rows().astype({"n_samples": str})
    df.loc[0, "n_samples"] = "ten"
    manifest.write(df, tmp_path / "m.csv")
    with pytest.raises(ManifestError, match="column 'n_samples' is not int"):
        manifest.read(tmp_path / "m.csv")


def test_dataset_info_round_trip(tmp_path: Path):
    info = DatasetInfo(
        "x", "rel/root", "superdiagnostic", "multilabel", ("A", "B"), 100.0, ("I",), 10.0, 10.0
    )
    info.write(tmp_path / "d.json")
    assert DatasetInfo.read(tmp_path / "d.json") == info
    assert info.resolve_root(Path("/base")) == Path("/base/rel/root")
    varied = DatasetInfo("y", "/abs", "rhythm", "multiclass", ("N", "A"), None, (), 9.0, None)
    varied.write(tmp_path / "v.json")
    assert DatasetInfo.read(tmp_path / "v.json") == varied


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({}, "lacks name, root, task"),
        ({"fs": "100"}, "its fs is a string, not a number or null"),
        ({"classes": ["A", 1]}, "its classes are not all strings"),
        (
            {"label_kind": "tags"},
            "its label_kind 'tags' is not one of multilabel, multiclass, beat",
        ),
        ({"annotator": 3}, "its annotator is not a string"),
        ({"extra": 1}, "not a dataset description (unknown keys: ['extra'])"),
    ],
)
def test_a_damaged_dataset_description_is_one_line_saying_what_to_rerun(tmp_path, raw, why):
    good = DatasetInfo("x", "r", "t", "multilabel", ("A",), 100.0, ("I",), None, None)
    good.write(tmp_path / "prepared" / "dataset.json")
    path = tmp_path / "prepared" / "dataset.json"
    path.write_text(json.dumps({} if not raw else {**json.loads(path.read_text()), **raw}))
    with pytest.raises(PipelineError) as err:
        DatasetInfo.read(path)
    line = str(err.value)
    assert line.startswith(f"{path}: {why}") and "\n" not in line
    assert line.endswith("; run `dvc repro prepare` to rebuild it")
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(PipelineError, match="not valid JSON, truncated or damaged"):
        DatasetInfo.read(path)
