"""The dataset readers, by ``data.name``: the registry ``prepare`` picks from.

A reader takes its ``data`` configuration, the project's :class:`~ecgpipe.core.paths.Paths`
(``data.root`` is relative to the root) and the folder ``prepare`` is writing (a generator
writes its records there), and returns the manifest (a row per record: id, patient, path, labels,
fold, ...) and the dataset's :class:`~ecgpipe.data.manifest.DatasetInfo`. A new dataset is a
module with a ``from_config``, a config class in :mod:`ecgpipe.config.schema`, a
``conf/data/<name>.yaml``, and a line here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ecgpipe.core.paths import Paths
from ecgpipe.data import cinc2017, mitdb, ptbxl, synthetic, wfdb_folder
from ecgpipe.data.manifest import DatasetInfo

Reader = Callable[[Any, Paths, Path], tuple[pd.DataFrame, DatasetInfo]]

READERS: dict[str, Reader] = {
    "synthetic": synthetic.from_config,
    "ptbxl": ptbxl.from_config,
    "cinc2017": cinc2017.from_config,
    "wfdb_folder": wfdb_folder.from_config,
    "mitdb": mitdb.from_config,
}


def read(data: Any, paths: Paths, out: Path) -> tuple[pd.DataFrame, DatasetInfo]:
    """The manifest and description of the dataset ``data`` configures."""
    return READERS[data.name](data, paths, out)
