"""The project's default DVC remote (a folder beside the project): push, a fresh clone pulls,
and nothing needs recomputing; the same for an experiment (``dvc exp push`` / ``pull``).
Slow: about 3 minutes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .conftest import sh

pytestmark = pytest.mark.slow

UP_TO_DATE = "Data and pipelines are up to date."


def assert_nothing_to_recompute(project: Path) -> None:
    assert UP_TO_DATE in sh("dvc", "status", cwd=project).stdout
    done = sh("dvc", "repro", cwd=project).stdout
    assert "Running stage" not in done, done


def test_push_then_a_fresh_clone_pulls_everything_and_an_experiment_too(tiny_project, tmp_path):
    work, origin, clone = tmp_path / "work", tmp_path / "origin.git", tmp_path / "clone"
    shutil.copytree(tiny_project, work, ignore=shutil.ignore_patterns("multirun"))
    shutil.rmtree(work / ".dvc" / "tmp", ignore_errors=True)
    storage = tmp_path / "ecgpipe-dvc-storage"  # the default remote: beside the project
    assert sh("dvc", "config", "core.remote", cwd=work).stdout.strip() == "beside"

    sh("dvc", "push", cwd=work)
    assert any(storage.rglob("*")), f"dvc push stored nothing in {storage}"
    sh("git", "clone", "-q", "--bare", str(work), str(origin), cwd=tmp_path)
    sh("git", "remote", "add", "origin", str(origin), cwd=work)
    sh("git", "clone", "-q", str(origin), str(clone), cwd=tmp_path)
    assert not (clone / "models").exists()
    sh("dvc", "pull", cwd=clone)
    assert (clone / "models/best.ckpt").is_file() and (clone / "metrics/eval.json").is_file()
    assert_nothing_to_recompute(clone)

    sh("dvc", "exp", "run", "-S", "train.lr=1e-3", "-n", "lr-small", cwd=work)
    sh("dvc", "exp", "push", "origin", "lr-small", cwd=work)
    sh("dvc", "exp", "pull", "origin", "lr-small", cwd=clone)
    assert "lr-small" in sh("dvc", "exp", "list", cwd=clone).stdout
    sh("dvc", "exp", "apply", "lr-small", cwd=clone)
    assert "lr: 0.001" in (clone / "params.yaml").read_text()
    assert (clone / "metrics/eval.json").read_text() == (work / "metrics/eval.json").read_text()
    assert_nothing_to_recompute(clone)
