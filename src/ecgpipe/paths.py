"""Where each stage reads and writes, relative to the project root (as named in dvc.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    root: Path

    @property
    def params(self) -> Path:
        return self.root / "params.yaml"

    @property
    def conf(self) -> Path:
        return self.root / "conf"

    @property
    def prepared(self) -> Path:
        """prepare's output: ``manifest.csv``, ``dataset.json`` and, if generated, ``source/``."""
        return self.root / "data" / "prepared"

    @property
    def validated(self) -> Path:
        """validate's output: the manifest of kept records and ``dataset.json``."""
        return self.root / "data" / "validated"

    @property
    def processed(self) -> Path:
        """preprocess's output: the memory-mapped cache (see :mod:`ecgpipe.cache`)."""
        return self.root / "data" / "processed"

    @property
    def split(self) -> Path:
        """split's output: ``train.npy``, ``val.npy``, ``test.npy`` row indices."""
        return self.root / "data" / "split"

    @property
    def models(self) -> Path:
        """train's output: the checkpoint, normalisation, thresholds and MLflow run id."""
        return self.root / "models"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics"

    @property
    def plots(self) -> Path:
        return self.root / "plots"

    @property
    def reports(self) -> Path:
        return self.root / "reports"
