import json

import pytest

from ecgpipe import atomic


def test_write_replaces_whole_file(tmp_path):
    p = tmp_path / "sub" / "f.json"
    atomic.write_json(p, {"a": 1})
    atomic.write_json(p, {"b": 2})
    assert json.loads(p.read_text()) == {"b": 2}
    assert [x.name for x in p.parent.iterdir()] == ["f.json"]


def test_failed_write_leaves_old_file(tmp_path):
    p = tmp_path / "f.json"
    atomic.write_json(p, {"a": 1})
    with pytest.raises(ValueError):
        atomic.write_json(p, {"a": float("nan")})
    assert json.loads(p.read_text()) == {"a": 1}
    assert [x.name for x in tmp_path.iterdir()] == ["f.json"]


def test_directory_swaps_in_only_on_success(tmp_path):
    target = tmp_path / "out"
    with atomic.directory(target) as d:
        (d / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic.directory(target) as d:
        (d / "b").write_text("half")
        raise RuntimeError("crash mid-way")
    assert sorted(x.name for x in target.iterdir()) == ["a"]
    assert sorted(x.name for x in tmp_path.iterdir()) == ["out"]
    with atomic.directory(target) as d:
        (d / "c").write_text("2")
    assert sorted(x.name for x in target.iterdir()) == ["c"]
