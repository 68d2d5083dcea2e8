"""An interrupted training goes on only with the data it was reading: the same configuration
can still find other data (a re-prepared folder), and the checkpoint's contract says which."""

from pathlib import Path

import pytest

from ecgpipe.core.contract import Reads
from ecgpipe.training.resume import Interrupted, ResumeError

CKPT = Path("/p/checkpoints/last.ckpt")
READ = Reads.of(["I", "II"], 100.0, ["NORM", "MI"])


def interrupted(reads: Reads | None) -> Interrupted:
    return Interrupted(CKPT, "run", 1, None, reads)


def test_the_same_data_goes_on_and_a_checkpoint_that_does_not_say_is_trusted():
    interrupted(READ).check(Reads.of(["i", "ii"], 100.0, ["NORM", "MI"]))
    interrupted(None).check(Reads.of(["V1"], 500.0, ["AF"]))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (Reads.of(["I", "II"], 100.0, ["NORM", "AF"]), "classes NORM, MI; this data has NORM, AF"),
        (Reads.of(["I", "II"], 500.0, ["NORM", "MI"]), "trained at 100 Hz; this data is at 500 Hz"),
        (Reads.of(["I", "V1"], 100.0, ["NORM", "MI"]), "this data lacks II"),
        (Reads.of(["II", "I"], 100.0, ["NORM", "MI"]), "this data has them in another order"),
    ],
)  # fmt: skip
def test_other_data_is_refused_in_one_line_naming_the_checkpoint(data, message):
    with pytest.raises(ResumeError) as err:
        interrupted(READ).check(data)
    text = str(err.value)
    assert text.startswith(str(CKPT)) and message in text
    assert text.endswith("set train.resume=false to start afresh") and "\n" not in text
