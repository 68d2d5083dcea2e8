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

from ecgpipe.data.tables import DatasetError, read_table

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
        """The statement table at ``path``; a whole-file problem is one DatasetError naming the
        file (and the line or column)."""
        what = "PTB-XL's SCP statement table"
        needed = ("diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass")
        raw = read_table(path, required=needed, what=what)
        table = raw.set_index(raw.columns[0])
        for column in ("diagnostic", "form", "rhythm"):
            bad = ~table[column].isin(("", "1", "1.0", "0", "0.0"))
            if bad.any():
                line = int(bad.to_numpy().argmax()) + 2
                raise DatasetError(
                    f"{path} line {line}: column {column} holds {table[column][bad].iloc[0]!r}, "
                    f"expected 1.0 or empty ({what})"
                )
            table[column] = table[column].map(lambda v: float(v) if v else float("nan"))
        for column in ("diagnostic_class", "diagnostic_subclass"):
            table[column] = table[column].map(lambda v: v or None)
        statements = cls(table, task)
        if not statements.classes:
            raise DatasetError(f"{path}: defines no statements for task {task} ({what})")
        return statements

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
