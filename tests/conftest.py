"""Shared fixtures: the project root and the real PhysioNet subsets (skipped when absent)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from ecgpipe.cli import main

PROJECT = Path(__file__).resolve().parents[1]
os.environ["DVC_NO_ANALYTICS"] = "1"  # no DVC usage report from any test, in-process or not


@pytest.fixture(autouse=True)
def _tracking_uri_does_not_leak():
    """``mlflow.set_tracking_uri`` in a test also sets ``MLFLOW_TRACKING_URI``, which the stages
    take for the user's store: put the environment back after each test."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


def conf(group: str, option: str = "default", **changes: Any) -> dict:
    """What ``conf/<group>/<option>.yaml`` gives (conf/ holds every default), with ``changes``
    merged in, nested mappings key by key."""
    cfg = OmegaConf.merge(OmegaConf.load(PROJECT / "conf" / group / f"{option}.yaml"), changes)
    return OmegaConf.to_container(cfg, resolve=True)


def shared_data() -> Path:
    """Real PhysioNet subsets: ``$ECGPIPE_SHARED_DATA``, else ``../shared/data`` beside the repo."""
    return Path(os.environ.get("ECGPIPE_SHARED_DATA", PROJECT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def ptbxl_sample() -> Path:
    root = shared_data() / "ptbxl-sample"
    if not (root / "ptbxl_database.csv").is_file():
        pytest.skip(f"real PTB-XL sample not found at {root} (set ECGPIPE_SHARED_DATA)")
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A scratch project root holding a copy of conf/ (stages write data/ and reports/ here)."""
    shutil.copytree(PROJECT / "conf", tmp_path / "conf")
    return tmp_path


def tool_env() -> dict[str, str]:
    """The environment for the project's command-line tools (``ecgpipe``, ``dvc``) in this venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["DVC_NO_ANALYTICS"] = "1"
    return env


NOISE = re.compile(r"Warning|\bTip\b|💡|litlogger|litmodels|deprecated|\.py:\d+: ")
"""A third-party warning (any category: Python's and Lightning's formats name the file and line)
or advertisement."""


def noise(stderr: str) -> list[str]:
    """The lines of ``stderr`` that are :data:`NOISE`."""
    return [line for line in stderr.splitlines() if NOISE.search(line)]


def sh(*args: str, cwd: Path, timeout: float = 600, check: bool = True, env: dict | None = None):
    """Run a command of the project's in ``cwd`` (``env`` added to the tools' environment); on an
    unexpected exit code, show its output."""
    proc = subprocess.run(
        args, cwd=cwd, env=tool_env() | (env or {}), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def service(argv: list[str], ready_url: str, log: Path, **popen) -> Iterator[None]:
    """A server process started in its own process group, waited for until ``ready_url``
    answers 200 (90 s at most), and always stopped with its whole group (servers fork
    workers)."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, **popen
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    with urllib.request.urlopen(ready_url, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    out.flush()
                    pytest.fail(f"{' '.join(map(str, argv[:3]))} did not start:\n{log.read_text()}")
                time.sleep(0.5)
            yield
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


REPRO_STDERR: dict[Path, str] = {}
"""What each project of :func:`make_dvc_project` printed on stderr in its ``dvc repro``."""


def make_dvc_project(root: Path, *overrides: str) -> Path:
    """A git + DVC copy of the project whose default is ``debug=tiny`` (and ``overrides``),
    with ``dvc repro`` done (its stderr in :data:`REPRO_STDERR`).

    ``src/`` is copied only because dvc.yaml names its files as dependencies; the stages run
    the installed package.
    """
    for name in ("conf", "src/ecgpipe"):
        shutil.copytree(PROJECT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore", ".dvc/config", ".dvc/.gitignore", ".gitignore"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT / name, root / name)
    config = root / "conf" / "config.yaml"
    config.write_text(config.read_text().replace("- debug: null", "- debug: tiny"))
    sh("git", "init", "-q", cwd=root)
    sh("git", "config", "user.email", "test@example.org", cwd=root)
    sh("git", "config", "user.name", "test", cwd=root)
    sh("ecgpipe", "compose", *overrides, cwd=root)
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-qm", "tiny project", cwd=root)
    REPRO_STDERR[root] = sh("dvc", "repro", cwd=root).stderr
    sh("git", "add", "-A", cwd=root)
    sh("git", "commit", "-qm", "dvc repro", cwd=root)
    return root


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Path:
    """A tiny DVC project with the whole DAG run (shared: tests add runs, never remove data)."""
    return make_dvc_project(tmp_path_factory.mktemp("tiny-project"))


# Trained projects the serving and tracking tests share: the data stages once, then a model per
# test module.
DATA = ("data.n_records=120",)  # with the generator's defects, which validate excludes
TRAIN = ("train.max_epochs=1", "trainer.limit_train_batches=2", "train.batch_size=16")


@pytest.fixture(scope="session")
def data_project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("data")
    shutil.copytree(PROJECT / "conf", root / "conf")
    assert main(["--root", str(root), "compose", *DATA]) == 0
    for stage in ("prepare", "validate", "preprocess", "split"):
        assert main(["--root", str(root), stage]) == 0, stage
    return root


def trained(data_project: Path, where: Path, model: str, *more: str) -> tuple[Path, str]:
    """A copy of the data project with ``model`` trained (``more``: overrides after
    :data:`TRAIN`); its root and the model's URI."""
    shutil.copytree(data_project, where)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        compose = ["compose", *DATA, f"model={model}", *TRAIN, *more]
        assert main(["--root", str(where), *compose]) == 0
        assert main(["--root", str(where), "train"]) == 0
    run_id = json.loads((where / "models/run.json").read_text())["run_id"]
    return where, f"runs:/{run_id}/model"


@pytest.fixture(scope="session")
def cnn(data_project, tmp_path_factory) -> tuple[Path, str]:
    """Trained enough that its probabilities spread over records (measured: by 0.045 to 0.13
    a class over all 120, 0.06 at most on the test split; 2 steps of :data:`TRAIN` left them
    within 0.002 of each other), so a parity check of served scores at 1e-5 means something."""
    more = ("train.max_epochs=2", "trainer.limit_train_batches=5")
    return trained(data_project, tmp_path_factory.mktemp("cnn") / "p", "cnn1d", *more)
