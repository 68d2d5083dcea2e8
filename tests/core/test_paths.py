"""Files read back: one line naming the file, what is wrong and what to do, as its maker says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecgpipe.core.paths import BrokenOutputError, ModelDir, Origin, read_json

RESUME = Origin(hint="set train.resume=false to start afresh")
USERS = Origin(hint="check it", key="train.init_from")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"run_id": "ab', "not valid JSON, truncated or damaged"),
        ("\ufeff" + json.dumps({"run_id": "a"}), "not valid JSON, truncated or damaged"),
        ('"a string"', "holds a string, not a mapping"),
        ("[1]", "holds a list, not a mapping"),
        ("{}", "lacks run_id"),
        ('{"run_id": 3}', "its run_id is a number, not a string"),
        ('{"run_id": true}', "its run_id is a boolean, not a string"),
        ('{"run_id": null}', "its run_id is a null, not a string"),
    ],
)
def test_damaged_json_is_one_line_saying_what_to_do(tmp_path: Path, text: str, why: str):
    path = tmp_path / "checkpoints" / "run.json"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BrokenOutputError) as err:
        read_json(path, origin=RESUME, types={"run_id": str})
    line = str(err.value)
    assert line.startswith(f"{path}: {why}") and "\n" not in line
    assert line.endswith("; set train.resume=false to start afresh")


def test_utf16_and_a_missing_file_are_named_too(tmp_path: Path):
    path = tmp_path / "models" / "decision.json"
    path.parent.mkdir()
    with pytest.raises(BrokenOutputError, match=r"decision.json: missing; run `dvc repro train`"):
        read_json(path)
    path.write_text(json.dumps({"rule": "argmax"}), encoding="utf-16")
    with pytest.raises(BrokenOutputError, match="not valid JSON, truncated or damaged"):
        read_json(path, ("rule",))


def test_a_users_file_is_named_by_the_setting_that_gave_it(tmp_path: Path):
    path = tmp_path / "run.json"
    path.write_text("[]", encoding="utf-8")
    with pytest.raises(BrokenOutputError) as err:
        read_json(path, ("run_id",), USERS)
    assert str(err.value) == f"train.init_from={path}: holds a list, not a mapping; check it"


def test_json_of_the_right_shape_is_returned(tmp_path: Path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"run_id": "a", "config": {"x": 1}}), encoding="utf-8")
    assert read_json(path, ("run_id",), types={"config": dict}) == {
        "run_id": "a",
        "config": {"x": 1},
    }


@pytest.mark.parametrize("value", ["0.5", [0.5], {"x": 1}, True])
@pytest.mark.parametrize("multilabel", [True, False])
def test_a_decision_of_the_wrong_type_is_one_line_naming_the_file(
    tmp_path: Path, value, multilabel: bool
):
    model = ModelDir(tmp_path / "models")
    model.path.mkdir()
    values = {"A": 0.5, "B": value}
    raw = values if multilabel else {"rule": "argmax", "factors": values}
    model.decision_file(multilabel).write_text(json.dumps(raw))
    with pytest.raises(BrokenOutputError) as err:
        model.decision(["A", "B"], multilabel)
    kind = {str: "string", list: "list", dict: "mapping", bool: "boolean"}[type(value)]
    assert str(err.value) == (
        f"{model.decision_file(multilabel)}: its B is a {kind}, not a number; "
        "run `dvc repro train` to rebuild it"
    )


def test_a_decision_reads_numbers_and_untuned_thresholds(tmp_path: Path):
    model = ModelDir(tmp_path / "models")
    model.path.mkdir()
    model.thresholds.write_text(json.dumps({"A": 0.25, "B": None, "C": 1}))
    assert model.decision(["C", "A", "B"], True).tolist()[:2] == [1.0, 0.25]
    model.factors.write_text(json.dumps({"rule": "argmax", "factors": {"A": 1, "B": None}}))
    with pytest.raises(BrokenOutputError, match="its B is a null, not a number"):
        model.decision(["A", "B"], False)
