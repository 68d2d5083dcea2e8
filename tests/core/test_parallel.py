"""The ordered process maps: results in order, rounds that leave the cores to the caller, and a
worker the kernel kills is one clear error."""

import os
import signal
import time

import pytest

from ecgpipe.core.parallel import WorkerDied, alive, imap, rounds


def square(x: int) -> int:
    return x * x


def die_on_three(x: int) -> int:
    if x == 3:
        os.kill(os.getpid(), signal.SIGBUS)  # as a memory-mapped write past a full disk does
    return x


def test_results_come_in_order_over_workers():
    assert list(imap(square, range(20), workers=2, ahead=1)) == [x * x for x in range(20)]


def busy(x: int) -> tuple[int, float, float, int]:
    """``x``, and when and in which process it was worked on."""
    start = time.monotonic()
    time.sleep(0.05)
    return x, start, time.monotonic(), os.getpid()


def test_rounds_keep_the_order_and_never_run_while_the_caller_works():
    caller, done = [], []
    for x, start, end, pid in rounds(busy, list(range(7)), workers=3):
        done.append((x, start, end, pid))
        began = time.monotonic()
        time.sleep(0.05)  # the caller's work on this result
        caller.append((began, time.monotonic()))
    assert [x for x, *_ in done] == list(range(7))
    assert [pid == os.getpid() for *_, pid in done] == [True, False, False] * 2 + [True]
    for _, start, end, _ in done:
        assert not any(start < b and a < end for a, b in caller)  # no worker ran meanwhile
    # a round of 3 runs at once: its items overlap in time
    assert done[1][1] < done[0][2] and done[2][1] < done[0][2]


def test_one_worker_or_one_item_runs_in_this_process():
    assert [pid for *_, pid in rounds(busy, [0], workers=2)] == [os.getpid()]
    assert {pid for *_, pid in rounds(busy, [0, 1, 2], workers=1)} == {os.getpid()}


@pytest.mark.parametrize(
    "run",
    [
        lambda: imap(die_on_three, range(6), workers=2),
        lambda: rounds(die_on_three, list(range(6)), workers=2),
    ],
)
def test_a_killed_worker_is_one_clear_error_not_a_broken_pool(run):
    with pytest.raises(WorkerDied, match=r"worker process was killed .* full disk"):
        list(run())


def test_alive_knows_this_process_from_a_finished_one():
    assert alive(os.getpid())
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert not alive(pid)
