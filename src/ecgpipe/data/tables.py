"""What the dataset readers share: reading a labels table, and finding the records in a folder.

Whole-file problems (missing, empty, only a header, not UTF-8, ragged rows, missing columns) are one
:class:`DatasetError` naming the file, and the line where there is one; they are never a pandas
traceback. Problems of a single row are the reader's to report per record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from io import StringIO
from pathlib import Path

import pandas as pd

from ecgpipe.core.errors import PipelineError


class DatasetError(PipelineError, ValueError):
    """A dataset's files cannot be read as a whole (a per-record problem is not raised)."""


def read_table(
    path: Path,
    *,
    required: Sequence[str] = (),
    names: Sequence[str] | None = None,
    what: str = "table",
) -> pd.DataFrame:
    """A CSV file as a frame of stripped strings (empty cells are ``""``, never NaN).

    ``names`` reads a file without a header row under those column names (a row with more
    fields is an error); otherwise the first row names the columns and ``required`` must be
    among them. Either line ending is accepted.
    """
    if not path.is_file():
        raise DatasetError(f"{path}: not found ({what})")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = path.read_bytes()[: err.start].count(b"\n") + 1
        raise DatasetError(f"{path} line {line}: not UTF-8 text ({what})") from None
    if not text.strip():
        raise DatasetError(f"{path}: empty ({what})")
    try:
        table = pd.read_csv(
            StringIO(text),
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            header=None if names is not None else "infer",
        )
    except pd.errors.ParserError as err:
        raise DatasetError(f"{path}: {_parser_message(err)} ({what})") from None
    if names is not None:
        if table.shape[1] != len(names):
            raise DatasetError(
                f"{path}: rows have {table.shape[1]} fields, expected {len(names)} "
                f"({', '.join(names)}; {what})"
            )
        table.columns = list(names)
    table.columns = [str(c).strip() for c in table.columns]
    if missing := [c for c in required if c not in table.columns]:
        found = ", ".join(table.columns)
        raise DatasetError(f"{path}: lacks column(s) {missing} ({what}; it has {found})")
    if table.empty:
        raise DatasetError(f"{path}: no rows below its header ({what})")
    return table.fillna("").apply(lambda col: col.str.strip())


def _parser_message(err: pd.errors.ParserError) -> str:
    """pandas' 'Expected 2 fields in line 5, saw 3' -> 'line 5 has 3 fields, expected 2'."""
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(err))
    if found:
        expected, line, saw = found.groups()
        return f"line {line} has {saw} fields, expected {expected}"
    if found := re.search(r"EOF inside string starting at row (\d+)", str(err)):
        return f"a quote opened in row {found[1]} is never closed"
    return f"not a readable CSV table: {str(err).strip()}"


def header_records(root: Path, *, recursive: bool) -> set[str]:
    """The WFDB records under ``root``, as paths relative to it without the ``.hea`` suffix."""
    pattern = "**/*.hea" if recursive else "*.hea"
    return {p.relative_to(root).with_suffix("").as_posix() for p in root.glob(pattern)}
