"""Processes: an ordered parallel map with a bounded number of results in flight, and whether
a process still runs."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from ecgpipe.core.errors import PipelineError

T = TypeVar("T")
R = TypeVar("R")


def alive(pid: int) -> bool:
    """Whether process ``pid`` (on this machine) still runs."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's
        return True
    return True


def n_workers(workers: int) -> int:
    """``workers`` processes, or all cores for 0."""
    return workers or os.cpu_count() or 1


def imap(
    fn: Callable[[T], R],
    items: Iterable[T],
    workers: int,
    *,
    ahead: int = 2,
    background: bool = False,
) -> Iterator[R]:
    """``map(fn, items)`` over ``workers`` processes (0 = all cores), in order.

    At most ``ahead * workers`` results are pending at once, so memory stays bounded however
    slowly the caller consumes them. With one worker it runs in this process, unless
    ``background``: then in one worker process, which computes the next results while the
    caller works on this one.
    """
    workers = n_workers(workers)
    if workers == 1 and not background:
        yield from map(fn, items)
        return
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            pending: deque[Future[R]] = deque()
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= ahead * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
    except BrokenProcessPool:
        raise WorkerDied(
            "a worker process was killed (out of memory, or a bus error writing past a full "
            "disk); free memory or disk space, or set fewer workers, and run again"
        ) from None


class WorkerDied(PipelineError):
    """A worker process ended without a result (killed by the kernel or a signal)."""
