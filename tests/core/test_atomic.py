import json
import os
import shutil
import signal
import stat
import subprocess
import sys

import pytest

from ecgpipe.core import atomic
from tests.conftest import PROJECT


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


def _dead_pid() -> int:
    """The id of a process that has exited."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(proc.stdout)


def test_temp_leftovers_of_a_killed_writer_go_at_the_next_write(tmp_path):
    target = tmp_path / "out"
    dead = tmp_path / f".out.{_dead_pid()}.abc123.tmp"
    dead.mkdir()
    (dead / "half.npy").write_bytes(b"x")
    live = tmp_path / f".out.{os.getppid()}.def456.tmp"  # a running process's: left alone
    live.mkdir()
    other = tmp_path / f".outer.{_dead_pid()}.ghi789.tmp"  # another target's
    other.mkdir()
    with atomic.directory(target) as d:
        (d / "a").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out", live.name, other.name])
    stale_file = tmp_path / f".f.json.{_dead_pid()}.x1y2.tmp"
    stale_file.write_text("{")
    atomic.write_json(tmp_path / "f.json", {})
    assert not stale_file.exists()


def test_outputs_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        atomic.write_text(tmp_path / "f.txt", "x")
        with atomic.directory(tmp_path / "d") as d:
            (d / "a").write_text("1")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755


def test_an_error_inside_a_directory_names_the_final_path(tmp_path):
    target = tmp_path / "out"
    with pytest.raises(ValueError) as caught, atomic.directory(target) as d:
        raise ValueError(f"{d / 'manifest.csv'}: bad")
    assert str(caught.value) == f"{target / 'manifest.csv'}: bad"
    assert list(tmp_path.iterdir()) == []


def test_a_writer_killed_mid_write_leaves_nothing_git_shows(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    shutil.copy(PROJECT / ".gitignore", repo / ".gitignore")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", ".gitignore"], cwd=repo, check=True)
    before = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True)
    script = """
import os, signal
from pathlib import Path
from ecgpipe.core import atomic
with atomic.directory(Path("models")) as d:
    (d / "best.ckpt").write_bytes(b"half")
    fd = os.open(".params.yaml.%d.abc.tmp" % os.getpid(), os.O_CREAT | os.O_WRONLY)
    os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", script], cwd=repo)
    assert proc.returncode == -signal.SIGKILL
    assert len(list(repo.glob(".*.tmp"))) == 2  # the killed writer's
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repo, capture_output=True)
    assert status.stdout == before.stdout  # nothing new
    with atomic.directory(repo / "models") as d:
        (d / "best.ckpt").write_bytes(b"whole")
    atomic.write_text(repo / "params.yaml", "x")
    assert sorted(p.name for p in repo.iterdir() if p.name != ".git") == [
        ".gitignore", "models", "params.yaml"
    ]  # fmt: skip


def test_an_error_names_the_final_path_never_a_temp_one(tmp_path, monkeypatch):
    """EROFS injected at ``os.replace`` (the tests run as root, and mounting a read-only file
    system needs privileges): the error names the target, and says it was being written."""
    import errno

    from ecgpipe.core.errors import OUTPUT, os_error_line

    def refuse(src, dst, **_):
        raise OSError(errno.EROFS, "Read-only file system", str(src), str(dst))

    monkeypatch.setattr(atomic.os, "replace", refuse)
    target = tmp_path / "f.json"
    with pytest.raises(OSError) as file_error:
        atomic.write_json(target, {"a": 1})
    with pytest.raises(OSError) as folder_error, atomic.directory(tmp_path / "out") as d:
        (d / "a").write_text("1")
    monkeypatch.undo()
    with pytest.raises(OSError) as inner_error, atomic.directory(tmp_path / "out") as d:
        open(d / "missing" / "b")  # noqa: SIM115 - an error about a file inside the folder
    for err, path in (
        (file_error.value, target),
        (folder_error.value, tmp_path / "out"),
        (inner_error.value, tmp_path / "out" / "missing" / "b"),
    ):
        assert err.filename == str(path) and ".tmp" not in str(err)
        assert getattr(err, OUTPUT) in (str(target), str(tmp_path / "out"))
    assert os_error_line(file_error.value).startswith(f"{target}: read-only file system")
    assert os_error_line(folder_error.value).startswith(f"{tmp_path / 'out'}: read-only")
    assert os_error_line(inner_error.value) is None  # inside a folder ecgpipe builds: a bug
    assert [x.name for x in tmp_path.iterdir()] == []


def test_a_full_disk_names_the_file_and_leaves_no_folder_made_for_it(tmp_path, monkeypatch):
    """ENOSPC from write(2) or fsync names no file: the error names the target, and the folders
    made for it are gone, as they were before (issue 35: `predict --out data/sub/scores.csv`)."""
    import errno

    from ecgpipe.core.errors import os_error_line

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    target = tmp_path / "data" / "sub" / "scores.csv"
    (tmp_path / "data").mkdir()
    with pytest.raises(OSError) as err:
        atomic.write_text(target, "record,p\n")
    assert err.value.filename == str(target)
    line = os_error_line(err.value)
    assert line == f"no space left on device while writing {target}; free some space on it"
    assert [x.name for x in tmp_path.iterdir()] == ["data"]  # it was there before
    assert list((tmp_path / "data").iterdir()) == []
    with pytest.raises(RuntimeError), atomic.directory(tmp_path / "made" / "out"):
        raise RuntimeError("a stage failed")
    assert [x.name for x in tmp_path.iterdir()] == ["data"]
