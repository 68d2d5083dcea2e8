"""Progress reporting: a rich bar in a terminal, a few plain lines elsewhere (CI, DVC logs)."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

T = TypeVar("T")
log = logging.getLogger("ecgpipe")


def track(items: Iterable[T], total: int, description: str, *, steps: int = 10) -> Iterator[T]:
    """Yield ``items`` while showing progress; without a terminal, log about ``steps`` lines."""
    if sys.stderr.isatty():
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, transient=True) as bar:
            task = bar.add_task(description, total=total)
            for item in items:
                yield item
                bar.advance(task)
        return
    start = time.perf_counter()
    every = max(1, total // steps)
    for done, item in enumerate(items, start=1):
        yield item
        if done % every == 0 or done == total:
            rate = done / max(time.perf_counter() - start, 1e-9)
            log.info("%s: %d/%d (%.0f/s)", description, done, total, rate)
