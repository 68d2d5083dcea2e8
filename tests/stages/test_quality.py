"""The quality bar on the default configuration, end to end (slow: about 5 minutes on 2 cores)."""

import json
import shutil
from pathlib import Path

import pytest

from ecgpipe.cli import main

from ..conftest import PROJECT


@pytest.mark.slow
def test_default_model_on_default_synthetic_data_reaches_090(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    shutil.copytree(PROJECT / "conf", tmp_path / "conf")
    assert main(["--root", str(tmp_path), "compose"]) == 0
    for stage in ("prepare", "validate", "preprocess", "split", "train", "evaluate"):
        assert main(["--root", str(tmp_path), stage]) == 0, stage
    result = json.loads((tmp_path / "metrics/eval.json").read_text())
    assert result["test"]["macro_auroc"] >= 0.90
    assert result["test"]["macro_auroc_ci"][0] >= 0.85
    assert result["baseline"]["macro_auroc"] == pytest.approx(0.5)
