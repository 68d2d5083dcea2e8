"""Atomic writes: a reader sees the old file or the complete new one, never a half-written one.

Temp files and folders are built beside their target, named after it and the writing process
(``.NAME.PID.XXXX.tmp``): removed when the block fails, and, when the process was killed
instead, by the next write of the same target. What they become honours the user's umask
(``mkstemp`` and ``mkdtemp`` make them private).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ecgpipe.core.errors import OUTPUT, PipelineError
from ecgpipe.core.parallel import alive


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename it over ``path``;
    on failure, nothing is left (not even the folders made for it)."""
    path = Path(path)
    with named(path), _parents(path):
        _remove_orphans(path)
        fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, 0o666 & ~_umask())
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException as err:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(err, OSError) and err.filename is None:  # write(2) names no file
                err.filename = tmp
            raise


def write_text(path: str | Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


@contextmanager
def directory(path: str | Path) -> Iterator[Path]:
    """Build a directory under a temp name and swap it in only when the block succeeds.

    Yields the temp directory to write into. On error the temp directory is removed and an
    existing ``path`` is left untouched.
    """
    path = Path(path)
    made = _missing_parents(path)
    with named(path), _parents(path):
        _remove_orphans(path)
        tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
        tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        _remove_empty(made)
        # a message names the file by where it will be, never by the temp folder
        err.args = tuple(
            a.replace(str(tmp), str(path)) if isinstance(a, str) else a for a in err.args
        )
        _rename(err, path)
        raise
    old = path.with_name(f".{path.name}.old")
    with named(path):
        try:
            if old.exists():
                shutil.rmtree(old)
            if path.exists():
                os.replace(path, old)
            os.replace(tmp, path)
        except BaseException:
            if old.exists() and not path.exists():  # the old one back
                os.replace(old, path)
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    shutil.rmtree(old, ignore_errors=True)


def _missing_parents(path: Path) -> list[Path]:
    """The folders above ``path`` that do not exist yet, deepest first."""
    return [p for p in path.absolute().parents if not p.exists()]


def _remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (deepest first) while they are empty."""
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


@contextmanager
def _parents(path: Path) -> Iterator[None]:
    """Make the folders ``path`` needs; remove those made here if the block fails."""
    made = _missing_parents(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield
    except BaseException:
        _remove_empty(made)
        raise


@contextmanager
def named(path: Path) -> Iterator[None]:
    """An ``OSError`` raised in the block names ``path`` where it named one of its temp files or
    folders (``.NAME.PID.XXXX.tmp``, ``.NAME.old``), so that a message never shows a temp path.
    """
    try:
        yield
    except OSError as err:
        _rename(err, path)
        raise


def _rename(err: BaseException, path: Path) -> None:
    if not isinstance(err, OSError):
        return
    for attr in ("filename", "filename2"):
        name = getattr(err, attr)
        if isinstance(name, (str, bytes, os.PathLike)):
            setattr(err, attr, _final(Path(os.fsdecode(name)), path.name) or name)
    if isinstance(err.filename, str) and not hasattr(err, OUTPUT):
        # the innermost output being written, when the error is about it, a file in it or a
        # folder on its way (see os_error_line)
        failed, out = Path(err.filename).absolute(), path.absolute()
        if failed == out or failed in out.parents or out in failed.parents:
            setattr(err, OUTPUT, str(path))


def _final(name: Path, target: str) -> str | None:
    """``name`` with its component that is a temp name of ``target`` replaced by ``target``;
    None if it has none."""
    parts = name.parts
    for i, part in enumerate(parts):
        found = _ORPHAN.fullmatch(part)
        if part == f".{target}.old" or (found is not None and found["name"] == target):
            return str(Path(*parts[:i], target, *parts[i + 1 :]))
    return None


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


_ORPHAN = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.tmp")


def _remove_orphans(path: Path) -> None:
    """Temp files and folders of ``path`` left by a process that no longer runs."""
    if not path.parent.is_dir():
        return
    for entry in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        found = _ORPHAN.fullmatch(entry.name)
        if found is None or found["name"] != path.name or alive(int(found["pid"])):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _umask() -> int:
    """The process's umask (read without changing it where the kernel shows it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class NoSpaceError(PipelineError, OSError):
    """The disk cannot hold what a stage is about to write."""


def reserve(folder: Path, nbytes: int, what: Path) -> None:
    """Refuse, before writing, a file of ``nbytes`` under ``folder`` that would not fit: a
    memory-mapped file written past the end of the disk kills its writer with SIGBUS."""
    free = shutil.disk_usage(folder).free
    if nbytes > free:
        raise NoSpaceError(
            f"no space left on device while writing {what} (needs about "
            f"{nbytes / 2**20:,.0f} MB, {free / 2**20:,.0f} MB free)"
        )
