"""Processes: ordered parallel maps (a bounded number of results in flight, or rounds that leave
the cores to the caller in between), and whether a process still runs."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
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
) -> Iterator[R]:
    """``map(fn, items)`` over ``workers`` processes (0 = all cores), in order.

    At most ``ahead * workers`` results are pending at once, so memory stays bounded however
    slowly the caller consumes them. With one worker it runs in this process.
    """
    workers = n_workers(workers)
    if workers == 1:
        yield from map(fn, items)
        return
    with _pool(workers) as pool:
        pending: deque[Future[R]] = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= ahead * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def rounds(fn: Callable[[T], R], items: Sequence[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` in order, in rounds of ``workers`` items (0 = all cores) computed at
    once: the first of each round in this process, the others in worker processes. A round starts
    only when the caller asks for the result after the last one, so nothing runs in the workers
    while the caller works on a round's results, and the caller may use every core (a model's
    threads) without being slowed by them."""
    workers = min(n_workers(workers), len(items))
    if workers <= 1:
        yield from map(fn, items)
        return
    with _pool(workers - 1) as pool:
        for start in range(0, len(items), workers):
            first, *rest = items[start : start + workers]
            pending = [pool.submit(fn, item) for item in rest]
            done = fn(first)
            yield from [done, *(future.result() for future in pending)]


@contextmanager
def _pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool whose killed worker is a :class:`WorkerDied` that says what to do."""
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            yield pool
    except BrokenProcessPool:
        raise WorkerDied(
            "a worker process was killed (out of memory, or a bus error writing past a full "
            "disk); free memory or disk space, or set fewer workers, and run again"
        ) from None


class WorkerDied(PipelineError):
    """A worker process ended without a result (killed by the kernel or a signal)."""
