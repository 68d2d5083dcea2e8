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

from ecgpipe.core.errors import PipelineError
from ecgpipe.core.parallel import alive


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync it, then rename it over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    fd, tmp = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_orphans(path)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    tmp.chmod(0o777 & ~_umask())
    try:
        yield tmp
    except BaseException as err:
        shutil.rmtree(tmp, ignore_errors=True)
        # a message names the file by where it will be, never by the temp folder
        err.args = tuple(
            a.replace(str(tmp), str(path)) if isinstance(a, str) else a for a in err.args
        )
        raise
    old = path.with_name(f".{path.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


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
