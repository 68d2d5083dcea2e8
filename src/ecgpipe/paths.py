"""Where each stage reads and writes, relative to the project root (as named in dvc.yaml).

``train`` and ``evaluate`` write under ``out`` (the root by default, as in dvc.yaml); a sweep job
gives its own directory there, so it trains on the DAG's data without touching the DAG's outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Paths:
    root: Path
    out: Path | None = None

    @property
    def results(self) -> Path:
        """Where ``train`` and ``evaluate`` write: ``out``, else the root."""
        return self.out or self.root

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
        return self.results / "models"

    @property
    def metrics(self) -> Path:
        return self.results / "metrics"

    @property
    def plots(self) -> Path:
        return self.results / "plots"

    @property
    def reports(self) -> Path:
        """validate's and split's reports."""
        return self.root / "reports"

    @property
    def eval_reports(self) -> Path:
        """evaluate's report and figures."""
        return self.results / "reports"
