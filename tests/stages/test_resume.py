"""``train.resume``: a training killed mid-way (SIGKILL, a real process) goes on from its last
checkpoint into the same MLflow run, and ends where an uninterrupted one ends, bit for bit,
wherever the kill lands: mid-epoch, during validation, right after a checkpoint.

Bit for bit where the training itself is: on one CPU thread. With several, two trainings of the
same seed in two processes (interrupted or not) can differ in the last bits at their first
optimiser step, whichever kernels the threads split the work into (measured on 2 cores under
load: 1 fresh process in 20 to 40 differed, with the same batch and generators; one thread:
50 in 50 equal). The trainings compared here run on one thread (``ONE_THREAD``)."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mlflow import MlflowClient

from ecgpipe.cli import main
from ecgpipe.config.parse import load_params

from ..conftest import DATA, tool_env

EPOCHS = ("train.max_epochs=4", "train.early_stopping_patience=10", "train.batch_size=16")
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def compose(root: Path, *more: str) -> None:
    assert main(["--root", str(root), "compose", *DATA, *EPOCHS, *more]) == 0


def train(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["ecgpipe", "--root", str(root), "train"],
        env=tool_env() | ONE_THREAD,
        capture_output=True,
        text=True,
        timeout=600,
    )


def kill_after_epoch(root: Path, epoch: int) -> None:
    """Start ``ecgpipe train`` and SIGKILL it once the checkpoint of ``epoch`` is written."""
    proc = subprocess.Popen(
        ["ecgpipe", "--root", str(root), "train"],
        env=tool_env() | ONE_THREAD,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = root / "checkpoints" / "last.ckpt"
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if torch.load(last, map_location="cpu", weights_only=False)["epoch"] >= epoch:
                    break
            except (OSError, RuntimeError, EOFError, KeyError):
                pass  # not written yet
            time.sleep(0.05)
        assert proc.poll() is None, "the training ended before it could be killed"
    finally:
        proc.kill()
        proc.wait()


def weights(root: Path) -> dict[str, torch.Tensor]:
    return torch.load(root / "models/best.ckpt", map_location="cpu", weights_only=False)[
        "state_dict"
    ]


def losses(root: Path) -> dict[str, object]:
    """The run's training and validation loss, epoch by epoch, in MLflow and in the curve
    ``plots/training.csv``: the weights after every epoch, not only the best one's."""
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    (run,) = runs(root)
    return {
        **{
            key: [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, key)]
            for key in ("train/loss", "val/loss")
        },
        "curve": (root / "plots/training.csv").read_text(),
    }


def runs(root: Path) -> list:
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    return client.search_runs([e.experiment_id for e in client.search_experiments()])


@pytest.fixture(scope="module")
def uninterrupted(data_project: Path, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("whole") / "p"
    shutil.copytree(data_project, root)
    compose(root)
    assert train(root).returncode == 0
    return root


def test_a_killed_training_resumes_into_its_run_and_ends_as_an_uninterrupted_one(
    data_project: Path, uninterrupted: Path, tmp_path: Path
):
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    compose(root)
    kill_after_epoch(root, 1)
    killed = runs(root)
    assert len(killed) == 1 and killed[0].info.status != "FINISHED"
    assert not (root / "models").exists()  # nothing half-written where evaluate reads

    compose(root, "train.resume=true")
    proc = train(root)
    assert proc.returncode == 0, proc.stderr
    run_id = killed[0].info.run_id
    assert f"train: resuming after epoch 1 from {root / 'checkpoints/last.ckpt'}" in proc.stderr
    assert f"into MLflow run {run_id}" in proc.stderr

    (run,) = runs(root)  # no second run
    assert run.info.run_id == run_id and run.info.status == "FINISHED"
    assert json.loads((root / "models/run.json").read_text())["run_id"] == run_id
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    curve = client.get_metric_history(run_id, "val/macro_auroc")
    steps = [m.step for m in curve]
    assert len(curve) == 4 and steps == sorted(set(steps))  # the curve goes on, no repeats
    assert not (root / "checkpoints").exists()  # a finished training leaves none

    whole = weights(uninterrupted)
    resumed = weights(root)
    assert whole.keys() == resumed.keys()
    for key in whole:
        torch.testing.assert_close(resumed[key], whole[key], rtol=0, atol=0, msg=key)
    (reference,) = runs(uninterrupted)
    assert (
        run.data.metrics["best/val/macro_auroc"] == reference.data.metrics["best/val/macro_auroc"]
    )
    assert losses(root) == losses(uninterrupted)


KILLER = """
import os, signal, sys
from pathlib import Path
import pytorch_lightning as pl
from ecgpipe.config.parse import load_params
from ecgpipe.core.paths import Paths
from ecgpipe.stages import train

root, moment, epoch = Path(sys.argv[1]), sys.argv[2], 2

class Kill(pl.callbacks.Checkpoint):  # a checkpoint callback: its hooks run after the saving one
    def on_train_batch_start(self, trainer, module, batch, i):
        at = {"after_checkpoint": 0, "mid_epoch": 2}.get(moment)
        if trainer.current_epoch == epoch and i == at:
            os.kill(os.getpid(), signal.SIGKILL)

    def on_train_epoch_end(self, trainer, module):
        if moment == "epoch_end" and trainer.current_epoch == 1:  # just after its checkpoint
            os.kill(os.getpid(), signal.SIGKILL)

    def on_validation_batch_start(self, trainer, module, batch, i, dataloader_idx=0):
        if moment == "validation" and trainer.current_epoch == epoch:
            os.kill(os.getpid(), signal.SIGKILL)

paths = Paths(root)
train.run(load_params(paths.params), paths, callbacks=[Kill()])
"""
"""``train`` as ``ecgpipe train`` runs it, SIGKILLed at a chosen moment: as epoch 1 ends (its
checkpoint written, its epoch-end hooks not all run), or in epoch 2 (epochs 0 and 1
checkpointed): its first batch, its third (mid-epoch), or its validation."""


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["epoch_end", "after_checkpoint", "mid_epoch", "validation"])
def test_wherever_the_kill_lands_the_resumed_training_ends_as_an_uninterrupted_one(
    data_project: Path, uninterrupted: Path, tmp_path: Path, moment: str
):
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    compose(root)
    killed = subprocess.run(
        [sys.executable, "-c", KILLER, str(root), moment], env=tool_env() | ONE_THREAD,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    saved = torch.load(root / "checkpoints/last.ckpt", map_location="cpu", weights_only=False)
    assert saved["epoch"] == 1  # what came after epoch 1's checkpoint is lost

    compose(root, "train.resume=true")
    proc = train(root)
    assert proc.returncode == 0, proc.stderr
    assert "resuming after epoch 1" in proc.stderr
    whole, resumed = weights(uninterrupted), weights(root)
    for key in whole:
        torch.testing.assert_close(resumed[key], whole[key], rtol=0, atol=0, msg=key)
    assert losses(root) == losses(uninterrupted)


def test_resuming_with_another_configuration_is_refused_with_the_difference(
    data_project: Path, tmp_path: Path, caplog
):
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    compose(root)
    kill_after_epoch(root, 0)
    compose(root, "train.resume=true", "train.lr=0.01")
    assert main(["--root", str(root), "train"]) != 0
    err = caplog.text
    assert "the interrupted training had another configuration: train.lr 0.003 -> 0.01" in err
    assert "train.resume=false to start afresh" in err

    compose(root)  # resume=false: the interrupted training is dropped, a new one starts
    assert main(["--root", str(root), "train"]) == 0
    assert not (root / "checkpoints").exists()
    assert len(runs(root)) == 2


def test_resume_with_nothing_to_resume_trains_from_the_start(
    data_project: Path, tmp_path: Path, caplog
):
    root = tmp_path / "p"
    shutil.copytree(data_project, root)
    compose(root, "train.resume=true", "train.max_epochs=1")
    with caplog.at_level("INFO", logger="ecgpipe"):
        assert main(["--root", str(root), "train"]) == 0
    assert "no interrupted training" in caplog.text
    assert (root / "models/best.ckpt").is_file()


def files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def interrupted(data_project: Path, where: Path, last: bytes, run: str | None = None) -> Path:
    """A project whose interrupted training left ``last`` as ``checkpoints/last.ckpt`` and
    ``run`` as ``checkpoints/run.json`` (by default, as that training wrote it), composed to
    resume it."""
    root = where / "p"
    shutil.copytree(data_project, root)
    compose(root, "train.resume=true")
    if run is None:
        config = load_params(root / "params.yaml").model_dump(by_alias=True, mode="json")
        run = json.dumps({"run_id": "0" * 32, "config": config})
    (root / "checkpoints").mkdir()
    (root / "checkpoints/last.ckpt").write_bytes(last)
    (root / "checkpoints/run.json").write_text(run, encoding="utf-8")
    return root


def a_checkpoint(tmp_path: Path) -> bytes:
    """A checkpoint as torch writes one (a zip archive), as a killed training leaves it."""
    torch.save({"epoch": 1, "state_dict": {"w": torch.zeros(64)}}, tmp_path / "c.ckpt")
    return (tmp_path / "c.ckpt").read_bytes()


def refused(root: Path, caplog) -> str:
    """``ecgpipe train``'s one-line refusal, with nothing new left behind (no MLflow run, no
    folder)."""
    before = files(root)
    caplog.clear()
    assert main(["--root", str(root), "train"]) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "\n" not in errors[0], errors
    assert files(root) == before
    return errors[0].removeprefix("ecgpipe train: error: ")


def test_resuming_from_a_truncated_checkpoint_says_to_start_afresh(
    data_project: Path, tmp_path: Path, caplog
):
    whole = a_checkpoint(tmp_path)
    root = interrupted(data_project, tmp_path, whole[: len(whole) // 2])
    assert refused(root, caplog) == (
        f"{root / 'checkpoints/last.ckpt'}: not a checkpoint ecgpipe can read (truncated, or "
        "another program's file); set train.resume=false to start afresh"
    )


@pytest.mark.parametrize(
    ("run", "why"),
    [
        ('{"run_id": "0000', "not valid JSON, truncated or damaged"),
        ("[1, 2]", "holds a list, not a mapping"),
        (json.dumps({"run_id": 7, "config": {}}), "its run_id is a number, not a string"),
        (json.dumps({"run_id": "a", "config": [1]}), "its config is a list, not a mapping"),
        (json.dumps({"config": {}}), "lacks run_id"),
    ],
)
def test_resuming_with_a_damaged_run_file_says_to_start_afresh(
    data_project: Path, tmp_path: Path, caplog, run: str, why: str
):
    root = interrupted(data_project, tmp_path, a_checkpoint(tmp_path), run)
    line = refused(root, caplog)
    assert line.startswith(f"{root / 'checkpoints/run.json'}: {why}")
    assert line.endswith("; set train.resume=false to start afresh")
