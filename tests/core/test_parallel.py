"""The ordered process map: results in order, and a worker the kernel kills is one clear error."""

import os
import signal

import pytest

from ecgpipe.core.parallel import WorkerDied, alive, imap


def square(x: int) -> int:
    return x * x


def die_on_three(x: int) -> int:
    if x == 3:
        os.kill(os.getpid(), signal.SIGBUS)  # as a memory-mapped write past a full disk does
    return x


def test_results_come_in_order_over_workers():
    assert list(imap(square, range(20), workers=2, ahead=1)) == [x * x for x in range(20)]


def test_a_killed_worker_is_one_clear_error_not_a_broken_pool():
    with pytest.raises(WorkerDied, match=r"worker process was killed .* full disk"):
        list(imap(die_on_three, range(6), workers=2))


def test_alive_knows_this_process_from_a_finished_one():
    assert alive(os.getpid())
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert not alive(pid)
