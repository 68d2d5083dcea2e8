"""The whole tiny DAG on a GPU in bf16 mixed precision (``trainer=gpu``); skipped where there is
no CUDA device."""

import json
import shutil

import pytest
import torch

from ecgpipe.cli import main

from ..conftest import PROJECT
from .test_train_evaluate import TINY

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def test_the_tiny_dag_on_a_gpu_in_bf16(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copytree(PROJECT / "conf", tmp_path / "conf")
    gpu = ("trainer=gpu", "trainer.precision=bf16-mixed")
    assert main(["--root", str(tmp_path), "compose", *TINY, *gpu]) == 0
    for stage in ("prepare", "validate", "preprocess", "split"):
        assert main(["--root", str(tmp_path), stage]) == 0, stage
    torch.cuda.reset_peak_memory_stats()
    assert main(["--root", str(tmp_path), "train"]) == 0
    assert torch.cuda.max_memory_allocated() > 0  # the training ran on the GPU
    assert main(["--root", str(tmp_path), "evaluate"]) == 0
    test = json.loads((tmp_path / "metrics/eval.json").read_text())["test"]
    assert 0.0 <= test["macro_auroc"] <= 1.0
    # the checkpoint was written on the GPU and scores on the CPU (the served model's device)
    ckpt = torch.load(tmp_path / "models/best.ckpt", map_location="cpu", weights_only=False)
    assert ckpt["state_dict"]
