"""Shared synthetic datasets: generated once per session into a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecgpipe.config.schema import SyntheticDataConfig
from ecgpipe.data.synthetic import Cohort, GenerationSummary, draw_cohort, generate
from tests.conftest import conf

# 10 % defects on 120 records: 12 broken records, so every kind occurs.
SMALL = SyntheticDataConfig(
    **conf("data", "synthetic", n_records=120, seed=7, defect_rate=0.1, workers=2)
)


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    root = tmp_path_factory.mktemp("synthetic") / "ds"
    return root, generate(SMALL, root)


@pytest.fixture(scope="session")
def dataset_serial(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, GenerationSummary]:
    root = tmp_path_factory.mktemp("synthetic_serial") / "ds"
    return root, generate(SMALL.model_copy(update={"workers": 1}), root)


@pytest.fixture(scope="session")
def cohort() -> Cohort:
    """3000 cohort draws at the default settings (labels and specs only, no signals)."""
    return draw_cohort(SyntheticDataConfig(**conf("data", "synthetic", n_records=3000)))
