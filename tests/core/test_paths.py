"""Files read back: one line naming the file, what is wrong and what to do, as its maker says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecgpipe.core.paths import BrokenOutputError, Origin, read_json

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
