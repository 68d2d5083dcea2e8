"""Fixtures of the processing tests: the real MIT-BIH DS1 records (skipped when absent)."""

import pytest

from ..conftest import shared_data


@pytest.fixture(scope="module")
def mitdb():
    root = shared_data() / "mitdb-ds1"
    if not (root / "RECORDS").is_file():
        pytest.skip(f"real MIT-BIH DS1 not found at {root} (set ECGPIPE_SHARED_DATA)")
    return root
