"""Shared fixtures: the project root and the real PhysioNet subsets (skipped when absent)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]


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
