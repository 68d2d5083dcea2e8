"""Synthetic 12-lead ECGs in PTB-XL's on-disk layout, with known labels and known defects.

:func:`generate` writes ``ptbxl_database.csv``, ``scp_statements.csv``, WFDB records under
``records100/`` (or ``records500/``) and ``defects.json``. :func:`synthesize` is the pure core:
one record's (12, n) signal in mV from its :class:`RecordSpec`; :func:`draw_cohort` draws the
patients, labels and folds without any signal.
"""

from ecgpipe.config import PTBXL_LEADS as LEADS
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
    "generate",
    "synthesize",
]
