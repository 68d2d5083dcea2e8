"""The MLflow UI in a real browser, as a user meets it: a tiny sweep, ``ecgpipe ui`` on the
project's SQLite store, and Debian's headless Chromium driven by Playwright (no browser download),
opening the address ``ecgpipe ui`` prints.

Slow (about a minute): run by ``make test-slow`` / ``.ci/run``, which installs Chromium if missing.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ecgpipe.tracking import RUNS_VIEW

from ..conftest import tool_env
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
def ecgpipe_ui(project: Path, tmp_path: Path) -> Iterator[str]:
    """``ecgpipe ui --no-browser --port 0`` in ``project``: the address it prints, once it
    does; stopped with SIGTERM after, which it must survive cleanly (exit 0, its server gone)."""
    out = tmp_path / "ui.out"
    with out.open("w") as stdout:
        proc = subprocess.Popen(
            ["ecgpipe", "ui", "--no-browser", "--port", "0"],
            cwd=project, env=tool_env(), stdout=stdout, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not (found := [x for x in out.read_text().splitlines() if x.startswith("http")]):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ecgpipe ui printed no address:\n{out.read_text()}")
            time.sleep(0.5)
        yield found[0]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
    assert proc.returncode == 0, out.read_text()
    assert out.read_text().splitlines()[-1] == "ui: stopped"
    port = int(found[0].split("/#/")[0].rpartition(":")[2])
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "ecgpipe ui left its server running"


def run_link(page, run):
    """The runs table's link to ``run``, by its name and id: the project's other sweeps (the
    suite's, or a user's) can hold runs of the same name."""
    return page.get_by_role("link", name=run.info.run_name, exact=True).and_(
        page.locator(f"a[href*='/runs/{run.info.run_id}']")
    )


def test_ecgpipe_ui_opens_on_the_runs_table_then_charts_and_model_cards(tiny_project, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (.ci/run does)")
    _, parent, children = sweep(tiny_project, "ui", "train.lr=1e-3,3e-3")
    assert len(children) == 2
    experiment = parent.info.experiment_id
    child = max(children, key=lambda r: r.data.metrics["best/val/macro_auroc"])

    with ecgpipe_ui(tiny_project, tmp_path) as address, sync_playwright() as pw:
        url = address.partition("/#/")[0]
        mode_and_view = f"workflowType=machine_learning&viewStateShareKey={RUNS_VIEW}"
        assert address == f"{url}/#/experiments/{experiment}/runs?{mode_and_view}"
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        expect.set_options(timeout=60_000)  # the first page load can take a while under load

        def visit(where: str):
            """``where`` in a page of a browser context of its own: as a first visit."""
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(where)
            return page

        try:
            page = visit(address)
            # what a user sees first: the runs table, in the saved view "ecgpipe: key metrics"
            # (the key metrics as columns), in model-training mode
            expect(page.get_by_test_id("saved-views-trigger")).to_have_text("ecgpipe: key metrics")
            headers = page.get_by_role("columnheader")
            for metric in ("best/val/macro_auroc", "test/macro_auroc"):
                expect(headers.get_by_text(metric, exact=True).first).to_be_visible()
            expect(page.get_by_role("row").filter(has_text=parent.info.run_name)).to_be_visible()
            for run in children:  # sorted by a metric, the table lists a sweep's jobs flat
                expect(run_link(page, run)).to_be_visible()
            # not GenAI's overview of traces, nor its "Detect Issues" pop-up
            for genai in ("Overview", "Detect Issues", "Token Usage"):
                expect(page.get_by_text(genai, exact=True)).to_have_count(0)
            assert page.url.startswith(f"{url}/#/experiments/{experiment}/runs?{mode_and_view}")
            page.screenshot(path=tmp_path / "first.png")

            # unsorted (no view), the parent is listed with its jobs folded under it: unfold them
            page = visit(f"{url}/#/experiments/{experiment}/runs?workflowType=machine_learning")
            row = page.get_by_role("row").filter(has_text=parent.info.run_name)
            row.locator("button[data-component-id*='runnamecellrenderer']").click()
            for run in children:
                expect(run_link(page, run)).to_be_visible()
            page.screenshot(path=tmp_path / "runs.png")

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
    assert (tmp_path / "first.png").stat().st_size > 10_000
    print(f"screenshots: {tmp_path / 'first.png'}, {tmp_path / 'metric-chart.png'}")
