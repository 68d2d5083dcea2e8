"""PTB-XL label derivation from SCP statements, exactly as the PTB-XL benchmark does it.

Follows ``compute_label_aggregations`` in ``helme/ecg_ptbxl_benchmarking`` (Strodthoff et al.
2020): a record's labels for a task are the set of its SCP codes (any likelihood) that the task
admits, mapped through ``scp_statements.csv``:

- ``diagnostic``: codes with ``diagnostic == 1``;
- ``subdiagnostic``: their ``diagnostic_subclass``;
- ``superdiagnostic``: their ``diagnostic_class`` (NORM, MI, STTC, CD, HYP);
- ``form`` / ``rhythm``: codes with ``form == 1`` / ``rhythm == 1``;
- ``all``: every code.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

TASKS = ("superdiagnostic", "subdiagnostic", "diagnostic", "form", "rhythm", "all")
_COLUMN = {"superdiagnostic": "diagnostic_class", "subdiagnostic": "diagnostic_subclass"}
_FLAG = {
    "superdiagnostic": "diagnostic",
    "subdiagnostic": "diagnostic",
    "diagnostic": "diagnostic",
    "form": "form",
    "rhythm": "rhythm",
}


class ScpStatements:
    """The table of SCP-ECG statements and the label map of one task."""

    def __init__(self, table: pd.DataFrame, task: str):
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; expected one of {', '.join(TASKS)}")
        self.task = task
        self.known = frozenset(table.index)
        if task == "all":
            self._map = {code: code for code in table.index}
        else:
            rows = table[table[_FLAG[task]] == 1.0]
            column = _COLUMN.get(task)
            self._map = {
                code: (code if column is None else row[column])
                for code, row in rows.iterrows()
                if column is None or isinstance(row[column], str)
            }

    @classmethod
    def read(cls, path: Path, task: str) -> ScpStatements:
        try:
            table = pd.read_csv(path, index_col=0)
        except FileNotFoundError:
            raise FileNotFoundError(f"{path}: not found (PTB-XL's SCP statement table)") from None
        needed = {"diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"}
        if missing := needed - set(table.columns):
            raise ValueError(f"{path}: lacks columns {sorted(missing)}")
        return cls(table, task)

    @property
    def classes(self) -> tuple[str, ...]:
        """The task's classes, sorted (the order of the benchmark's MultiLabelBinarizer)."""
        return tuple(sorted(set(self._map.values())))

    def unknown(self, codes: dict[str, float]) -> list[str]:
        """Codes absent from the statement table."""
        return sorted(c for c in codes if c not in self.known)

    def labels(self, codes: dict[str, float]) -> list[str]:
        """The record's labels for this task."""
        return sorted({self._map[c] for c in codes if c in self._map})
