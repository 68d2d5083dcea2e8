"""The base of every error a user can act on; the CLI prints these without a traceback."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class PipelineError(Exception):
    """Bad input or configuration, explained in the message (names the file, key or record)."""


class TrainingDiverged(PipelineError):
    """The training loss stopped being finite (typically: the learning rate is too high)."""


OUTPUT = "ecgpipe_output"
"""The attribute of an ``OSError`` that names the output being written when it was raised
(:func:`ecgpipe.core.atomic.named` sets it)."""


def os_error_line(err: OSError) -> str | None:
    """``err`` as one line naming its path and what to do, when a user can cause it (permissions,
    a read-only or full disk, a missing folder, a file where a folder should be, too many open
    files); None for any other ``OSError`` (a bug: let it show its traceback)."""
    code, name = err.errno, err.filename
    path = Path(os.fsdecode(name)) if isinstance(name, (str, bytes, os.PathLike)) else None
    if code in (errno.EMFILE, errno.ENFILE):
        which = "this process" if code == errno.EMFILE else "the system"
        return (
            f"too many open files for {which}{f' (opening {path})' if path else ''}; raise the "
            f"limit (`ulimit -n`, now {_open_files_limit()}) or use fewer workers "
            "(validate.workers, preprocess.workers, train.num_workers)"
        )
    if code in (errno.ENOSPC, errno.EDQUOT):
        what = "no space left on device" if code == errno.ENOSPC else "disk quota exceeded"
        return f"{what}{f' while writing {path}' if path else ''}; free some space on it"
    if path is None:
        return None
    real, output = path, getattr(err, OUTPUT, None)
    writing = output is not None
    if writing and path.absolute() in Path(output).absolute().parents:  # a folder on its way
        path = Path(f"{path} (for {output})")
    if writing and Path(output).absolute() in real.absolute().parents and code in _OURS:
        return None  # a file inside a folder being built, which ecgpipe makes: a bug
    if code in (errno.EACCES, errno.EPERM):
        if writing:
            return f"{path}: permission denied; make its folder writable or choose another folder"
        return f"{path}: permission denied; give this user access to it or choose another path"
    if code == errno.EROFS:
        return (
            f"{path}: read-only file system; remount it read-write or choose a folder on a "
            "writable disk"
        )
    if code == errno.ENOENT:
        missing = _first(real, lambda p: not p.exists())
        if writing:  # a folder that cannot be made here, or one removed meanwhile
            where = real if missing is None else missing
            return (
                f"{path}: cannot create {where.name} in {where.parent}; check that folder or "
                "choose another"
            )
        if missing is None or missing == real:
            return f"{path}: not found; check the path"
        return f"{path}: no folder {missing}; create it or choose another folder"
    if code in (errno.ENOTDIR, errno.EEXIST):
        file = _first(real, lambda p: p.exists() and not p.is_dir())
        if file is None:
            return None
        where = "" if file == real else f"{file} is "
        return f"{path}: {where}a file where a folder should be; move it or choose another path"
    if code == errno.EISDIR:
        return f"{path}: a folder where a file should be; give a file's name"
    if code == errno.ENAMETOOLONG:
        return f"{path}: name too long; choose a shorter path"
    return None


_OURS = (errno.ENOENT, errno.ENOTDIR, errno.EEXIST, errno.EISDIR)
"""Errors about the layout inside an output folder: ecgpipe's doing, not a user's."""


def _first(path: Path, test) -> Path | None:
    """The first of ``path``'s ancestors (outermost first), or ``path`` itself, that passes."""
    for p in [*reversed(path.parents), path]:
        try:
            if test(p):
                return p
        except OSError:  # a folder this user may not look into
            return None
    return None


def _open_files_limit() -> str:
    try:
        import resource

        return str(resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    except (ImportError, OSError, ValueError):
        return "unknown"
