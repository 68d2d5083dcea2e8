"""The notebooks run, top to bottom, on the tiny project's outputs; git holds them stripped."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from .conftest import PROJECT

NOTEBOOKS = sorted((PROJECT / "notebooks").glob("*.ipynb"))


def execute(name: str, root: Path, cwd: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("ECGPIPE_ROOT", str(root))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend draws figures
    nb = nbformat.read(PROJECT / "notebooks" / name, as_version=4)
    NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
    ).execute()
    return nb


def outputs(nb: nbformat.NotebookNode, mime: str) -> list[str]:
    return [
        o.get("text") or o.get("data", {}).get(mime, "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.outputs
        if mime == "text/plain" or mime in o.get("data", {})
    ]


def test_data_tour_shows_every_class_and_the_reports(tiny_project, tmp_path, monkeypatch):
    nb = execute("01_data_tour.ipynb", tiny_project, tmp_path, monkeypatch)
    text = "\n".join(map(str, outputs(nb, "text/plain")))
    # one 12-lead figure per class, the class balance and the prevalence per split
    assert len(outputs(nb, "image/png")) == 5 + 2
    for cls in ("CD", "HYP", "MI", "NORM", "STTC"):
        assert f"{cls}: record" in text
    assert "patients in more than one split: 0" in text
    assert "synthetic (superdiagnostic, multilabel)" in text


def test_compare_runs_tables_and_draws_the_runs(tiny_project, tmp_path, monkeypatch):
    nb = execute("02_compare_runs.ipynb", tiny_project, tmp_path, monkeypatch)
    html = "\n".join(map(str, outputs(nb, "text/html")))
    assert "val AUROC" in html and "test AUROC" in html
    assert len(outputs(nb, "image/png")) == 2  # learning curves, ROC curves


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, cell.source[:60]
