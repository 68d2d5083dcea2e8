"""The dataset readers, by ``data.name``: the registry ``prepare`` picks from.

A reader takes its ``data`` configuration, the project's :class:`~ecgpipe.core.paths.Paths`
(``data.root`` is relative to the root) and the folder ``prepare`` is writing (a generator
writes its records there), and returns the manifest (a row per record: id, patient, path, labels,
fold, ...) and the dataset's :class:`~ecgpipe.data.manifest.DatasetInfo`. A new dataset is a
module with a ``from_config``, a config class in :mod:`ecgpipe.config.schema`, a
``conf/data/<name>.yaml``, and a line here. :func:`prepare` writes what a reader returns (the
``prepare`` stage's dataset, and each of ``external@NAME``'s sets, :func:`prepare_external`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd

from ecgpipe.core import atomic
from ecgpipe.core.paths import Paths
from ecgpipe.data import cinc2017, manifest, mitdb, ptbxl, synthetic, wfdb_folder
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


def prepare(data: Any, paths: Paths, folder: Path) -> tuple[pd.DataFrame, DatasetInfo]:
    """The dataset ``data`` configures, read (or generated) into ``folder``, which ends up
    holding it with its ``manifest.csv`` and ``dataset.json`` (or is left as it was)."""
    with atomic.directory(folder) as out:
        df, info = read(data, paths, out)
        manifest.write(df, out / "manifest.csv")
        info.write(out / "dataset.json")
    return df, info


def prepare_external(data: Any, paths: Paths, name: str) -> tuple[pd.DataFrame, Path]:
    """External set ``name`` prepared in ``data/external/NAME``: its manifest as read back,
    and the folder its record paths are relative to."""
    folder = paths.external(name)
    _, info = prepare(data, replace(paths, dataset=str(folder.relative_to(paths.root))), folder)
    return manifest.read(folder / "manifest.csv"), info.resolve_root(paths.root)
