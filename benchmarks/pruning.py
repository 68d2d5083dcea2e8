"""Optuna searches with and without pruning, side by side (issue 24).

    python benchmarks/pruning.py [--records 400] [--epochs 6] [--trials 12] [--pruner median]

One git + DVC project of synthetic records (the data stages run once by ``dvc repro``), then
the same ``ecgpipe-sweep -m hparams_search=optuna`` search twice: the same TPE seed, trial
count and search space (``conf/hparams_search/optuna.yaml``), each in its own study of the
project's ``optuna.db``; once with ``pruner.name=none``, once with the pruner. Prints per
search: trials completed / pruned / failed, epochs trained (summed over trials), wall time and
the best validation value. About 4 minutes on 2 cores with the defaults.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from common import PROJECT
from rich.console import Console
from rich.table import Table

BIN = Path(sys.executable).parent


def run(argv: list[str], cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "DVC_ROOT")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    if proc.returncode:
        sys.exit(f"`{' '.join(argv)}` failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


def dvc_project(root: Path, overrides: list[str]) -> None:
    """A git + DVC copy of the project, composed with ``overrides``, data stages run."""
    for name in ("conf", "src/ecgpipe"):
        shutil.copytree(PROJECT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("dvc.yaml", ".dvcignore", ".dvc/config", ".dvc/.gitignore", ".gitignore"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT / name, root / name)
    run(["ecgpipe", "compose", *overrides], root)
    run(["git", "init", "-q"], root)
    run(["git", "add", "-A"], root)
    run(["git", "-c", "user.email=b@example.org", "-c", "user.name=b", "commit", "-qm", "."], root)
    run(["dvc", "repro", "split"], root)


def search(root: Path, name: str, pruner: str, args, overrides: list[str]) -> dict:
    start = time.perf_counter()
    run(
        [
            "ecgpipe-sweep", "-m", f"hydra.sweep.dir=multirun/{name}", "hparams_search=optuna",
            f"hydra.sweeper.study_name={name}", f"hydra.sweeper.n_trials={args.trials}",
            f"hydra.sweeper.pruner.name={pruner}", *overrides,
        ],
        root,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{root / 'optuna.db'}")
    trials = study.get_trials()
    count = {s: sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    return {
        "complete": count[optuna.trial.TrialState.COMPLETE],
        "pruned": count[optuna.trial.TrialState.PRUNED],
        "failed": count[optuna.trial.TrialState.FAIL],
        "epochs": sum(len(t.intermediate_values) for t in trials),
        "seconds": seconds,
        "best": study.best_value,
        "best_trial": study.best_trial.number,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--pruner", default="median", choices=("median", "hyperband"))
    args = parser.parse_args()
    data = [f"data.n_records={args.records}"]
    train = [
        f"train.max_epochs={args.epochs}",
        f"train.early_stopping_patience={args.epochs}",  # trials end by epochs or pruning
        "train.batch_size=32",
        "evaluate.n_bootstrap=100",
        "mlflow.system_metrics.enabled=false",
    ]
    pruning = [  # the median of the completed trials, from the second epoch on
        "hydra.sweeper.pruner.median.n_startup_trials=3",
        "hydra.sweeper.pruner.median.n_warmup_steps=1",
    ]
    console = Console(width=110)
    with tempfile.TemporaryDirectory(prefix="ecgpipe-pruning-") as tmp:
        root = Path(tmp)
        console.print(f"[bold]Preparing {args.records} synthetic records (dvc repro)...")
        dvc_project(root, data + train)
        results = {}
        for label, pruner in (("no pruning", "none"), (f"{args.pruner} pruning", args.pruner)):
            console.print(f"[bold]{label}: {args.trials} trials of up to {args.epochs} epochs...")
            results[label] = search(root, pruner, pruner, args, data + train + pruning)
    table = Table(
        title=f"Optuna search, TPE seed 42, {args.trials} trials of up to {args.epochs} epochs, "
        f"{args.records} synthetic records (val/macro_auroc)"
    )
    for column in ("", "complete", "pruned", "failed", "epochs trained", "wall time", "best val"):
        table.add_column(column, justify="right" if column else "left")
    for label, r in results.items():
        table.add_row(
            label,
            str(r["complete"]),
            str(r["pruned"]),
            str(r["failed"]),
            str(r["epochs"]),
            f"{r['seconds']:.0f} s",
            f"{r['best']:.4f} (trial {r['best_trial']})",
        )
    console.print(table)


if __name__ == "__main__":
    main()
