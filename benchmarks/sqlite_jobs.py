"""Parallel sweep jobs on the embedded SQLite store: does any run get lost or locked out?

    python benchmarks/sqlite_jobs.py [--parallel 4 8]

For each count N, a sweep of 2N tiny trainings (``debug=tiny``, one epoch) with the joblib
launcher running N at once, all logging into one ``sqlite:///mlflow.db``. Prints, per N, the
runs the sweep made, how many finished, and how many log lines say ``database is locked``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import PROJECT
from mlflow import MlflowClient
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(PROJECT))
from tests.conftest import make_dvc_project

BIN = Path(sys.executable).parent


def sweep(root: Path, parallel: int) -> dict:
    rates = ",".join(f"{1e-3 * (1 + i / 10):.5f}" for i in range(2 * parallel))
    name = f"joblib{parallel}"
    start = time.perf_counter()
    proc = subprocess.run(
        [str(BIN / "ecgpipe-sweep"), "-m", f"hydra.sweep.dir=multirun/{name}",
         "hydra/launcher=joblib", f"hydra.launcher.n_jobs={parallel}",
         "train.max_epochs=1", f"train.lr={rates}"],
        cwd=root, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    parent = json.loads((root / "multirun" / name / "mlflow_parent.json").read_text())["run_id"]
    client = MlflowClient(f"sqlite:///{root / 'mlflow.db'}")
    experiment = client.get_run(parent).info.experiment_id
    children = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent}'")
    return {
        "jobs": 2 * parallel,
        "runs": len(children),
        "finished": sum(r.info.status == "FINISHED" for r in children),
        "locked": (proc.stdout + proc.stderr).count("database is locked"),
        "exit": proc.returncode,
        "seconds": seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parallel", type=int, nargs="+", default=[4, 8])
    args = parser.parse_args()
    table = Table(title="Parallel sweep jobs, one SQLite store (debug=tiny, one epoch each)")
    for column in ("at once", "jobs", "runs made", "finished", "'database is locked'", "exit"):
        table.add_column(column, justify="right")
    table.add_column("wall s", justify="right")
    with tempfile.TemporaryDirectory(prefix="ecgpipe-bench-sqlite-") as tmp:
        root = make_dvc_project(Path(tmp))  # the tests' tiny DVC project, `dvc repro` done
        for parallel in args.parallel:
            r = sweep(root, parallel)
            table.add_row(
                str(parallel), *(str(r[k]) for k in ("jobs", "runs", "finished", "locked", "exit")),
                f"{r['seconds']:.0f}",
            )  # fmt: skip
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
