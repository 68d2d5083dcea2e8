"""Synthetic 12-lead ECGs in PTB-XL's on-disk layout, with known labels and known defects.

:func:`generate` writes ``ptbxl_database.csv``, ``scp_statements.csv``, WFDB records under
``records100/`` (or ``records500/``) and ``defects.json``. :func:`synthesize` is the pure core:
one record's (12, n) signal in mV from its :class:`RecordSpec`; :func:`draw_cohort` draws the
patients, labels and folds without any signal. :func:`from_config` is the reader of
``data=synthetic`` (see :mod:`ecgpipe.data.readers`): it generates the dataset, then reads it as
PTB-XL.
"""

import logging
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ecgpipe.config.schema import PTBXL_LEADS as LEADS
from ecgpipe.config.schema import SyntheticDataConfig
from ecgpipe.core.paths import Paths
from ecgpipe.data import ptbxl
from ecgpipe.data.manifest import DatasetInfo
from ecgpipe.data.synthetic.cohort import Cohort, PlannedRecord, draw_cohort
from ecgpipe.data.synthetic.defects import KINDS as DEFECT_KINDS
from ecgpipe.data.synthetic.generate import GenerationSummary, generate
from ecgpipe.data.synthetic.record import RecordSpec, synthesize

__all__ = [
    "DEFECT_KINDS",
    "LEADS",
    "Cohort",
    "GenerationSummary",
    "PlannedRecord",
    "RecordSpec",
    "draw_cohort",
    "from_config",
    "generate",
    "synthesize",
]

log = logging.getLogger("ecgpipe")


def from_config(
    data: SyntheticDataConfig, paths: Paths, out: Path
) -> tuple[pd.DataFrame, DatasetInfo]:
    """Generate the dataset into ``out / "source"`` and read it in PTB-XL's layout."""
    summary = generate(data, out / "source")
    log.info(
        "prepare: generated %d records of %d patients (%d defective) in %.1f s: "
        "%.0f records/s with %d workers",
        summary.n_records,
        summary.n_patients,
        summary.n_defective,
        summary.seconds,
        summary.records_per_second,
        summary.workers,
    )
    # The manifest root is the final location, not the temp dir being written.
    label = str(paths.prepared.relative_to(paths.root) / "source")
    df, info = ptbxl.read(
        out / "source",
        root_label=label,
        sampling_rate=data.sampling_rate,
        task=data.task,
        duration_s=data.duration_s,
    )
    return df, replace(info, name=data.name)  # read in PTB-XL's layout, but named as it is
