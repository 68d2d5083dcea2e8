"""The MLflow UI in a real browser: a tiny sweep, ``mlflow server`` on 127.0.0.1 over the
project's SQLite store, and Debian's headless Chromium driven by Playwright (no browser download).

Slow (about a minute): run by ``make test-slow`` / ``.ci/run``, which installs Chromium if missing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ecgpipe.tracking import RUNS_VIEW

from ..conftest import free_port, service
from ..test_sweep import sweep

pytestmark = pytest.mark.slow

CHROMIUM = Path(os.environ.get("ECGPIPE_CHROMIUM", "/usr/bin/chromium"))
# Headless in a closed network: no GPU, no sandbox (root in CI), no background connections.
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def mlflow_server(store: Path, tmp_path: Path) -> Iterator[str]:
    """``mlflow server`` on a SQLite store; the whole process group is always stopped."""
    port = free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    argv = [str(mlflow), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--backend-store-uri", f"sqlite:///{store}"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with service(argv, f"{url}/health", tmp_path / "mlflow-server.log"):
        yield url


def test_sweep_runs_and_a_metric_chart_in_the_mlflow_ui(tiny_project, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (.ci/run does)")
    _, parent, children = sweep(tiny_project, "ui", "train.lr=1e-3,3e-3")
    assert len(children) == 2
    experiment = parent.info.experiment_id
    child = max(children, key=lambda r: r.data.metrics["best/val/macro_auroc"])

    with mlflow_server(tiny_project / "mlflow.db", tmp_path) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            expect.set_options(timeout=60_000)  # the first page load can take a while under load
            page.goto(f"{url}/#/experiments/{experiment}/runs")
            # the parent is listed with its children folded under it: unfold them
            row = page.get_by_role("row").filter(has_text=parent.info.run_name)
            expect(row).to_be_visible()
            row.locator("button[data-component-id*='runnamecellrenderer']").click()
            for run in children:
                expect(page.get_by_text(run.info.run_name, exact=True)).to_be_visible()
            page.screenshot(path=tmp_path / "runs.png")

            # the saved view "ecgpipe: key metrics" adds the key metrics as columns
            page.goto(f"{url}/#/experiments/{experiment}/runs?viewStateShareKey={RUNS_VIEW}")
            expect(page.get_by_test_id("saved-views-trigger")).to_have_text("ecgpipe: key metrics")
            headers = page.get_by_role("columnheader")
            for metric in ("best/val/macro_auroc", "test/macro_auroc"):
                expect(headers.get_by_text(metric, exact=True).first).to_be_visible()
            expect(page.get_by_role("row").filter(has_text=parent.info.run_name)).to_be_visible()
            page.screenshot(path=tmp_path / "runs-view.png")

            # a child's page draws its per-epoch validation AUROC
            page.goto(f"{url}/#/experiments/{experiment}/runs/{child.info.run_id}")
            page.get_by_role("tab", name="Model metrics").click()
            page.get_by_placeholder("Search metric charts").fill("val/macro_auroc")
            # namespaced metrics are grouped: section "val", chart "macro_auroc" (a curve per
            # step, its legend naming val/macro_auroc), beside "best/val" (one value)
            heading = page.get_by_role("heading", name="macro_auroc", exact=True)
            card = (
                page.get_by_test_id("experiment-view-compare-runs-card")
                .filter(has=heading)
                .filter(has_text="(val/macro_auroc)")
            )
            expect(card.locator(".js-plotly-plot")).to_be_visible()
            expect(card.locator("path.js-line").first).to_be_attached()  # a drawn curve
            page.screenshot(path=tmp_path / "metric-chart.png")

            # the registered version's page shows its model card (the version's description)
            name = "ecgpipe-synthetic-superdiagnostic"
            client = MlflowClient(f"sqlite:///{tiny_project / 'mlflow.db'}")
            version = max(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
            page.goto(f"{url}/#/models/{name}/versions/{version}")
            expect(page.get_by_role("heading", name=f"Model card: {name}")).to_be_visible()
            for section in ("Intended use", "Test figures", "Subgroups (test split)", "Reproduce"):
                expect(page.get_by_role("heading", name=section)).to_be_attached()
            page.screenshot(path=tmp_path / "model-card.png", full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "runs.png").stat().st_size > 10_000
    print(f"screenshots: {tmp_path / 'runs.png'}, {tmp_path / 'metric-chart.png'}")
