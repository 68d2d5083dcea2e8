"""PTB-XL scale: the whole DAG on the synthetic generator at two sizes (by default 2,180 and
21,799 records, the full PTB-XL's count), then the data stages at 500 Hz, each stage's wall time
and peak memory (the resident memory of the stage and all its worker processes together,
sampled every 0.1 s), side by side.

    python benchmarks/scale.py [--sizes 2180 21799] [--epochs 1]

Memory bounded by chunks shows as a peak that stays flat from one size to the other; a stage
whose peak grows with the record count holds the dataset in memory. ``train`` runs
``--epochs`` epochs (time per epoch is what scales).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
from common import PROJECT
from rich.console import Console
from rich.table import Table

STAGES = ("prepare", "validate", "preprocess", "split", "train", "evaluate")
DATA_STAGES = STAGES[:3]


def tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and its descendants (0 for those gone meanwhile)."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        with contextlib.suppress(psutil.Error):
            total += p.memory_info().rss
    return total


def measure(root: Path, stage: str) -> tuple[float, float]:
    """Run ``ecgpipe <stage>`` in ``root``: wall seconds and peak MiB of its process tree."""
    ecgpipe = Path(sys.executable).parent / "ecgpipe"
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    log = (root / f"{stage}.log").open("w")
    start = time.perf_counter()
    proc = subprocess.Popen([ecgpipe, "--root", str(root), stage], stdout=log, stderr=log, env=env)
    peak = 0
    watched = psutil.Process(proc.pid)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss(watched))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    code = proc.wait()
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    log.close()
    if code:
        sys.exit(f"ecgpipe {stage} failed in {root}; see {root / f'{stage}.log'}")
    return seconds, peak / 2**20


def project(base: Path, name: str, overrides: list[str]) -> Path:
    root = base / name
    root.mkdir()
    (root / "conf").symlink_to(PROJECT / "conf")
    ecgpipe = Path(sys.executable).parent / "ecgpipe"
    subprocess.run([ecgpipe, "--root", str(root), "compose", *overrides], check=True,
                   capture_output=True)  # fmt: skip
    return root


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs=2, default=[2180, 21799])
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    console = Console(width=120)
    runs = {}
    common = ["data.defect_rate=0.01", f"train.max_epochs={args.epochs}"]
    with tempfile.TemporaryDirectory(prefix="ecgpipe-bench-scale-") as tmp:
        for n in args.sizes:
            for fs, stages in ((100, STAGES), (500, DATA_STAGES)):
                name = f"{n} records, {fs} Hz"
                console.print(f"[bold]{name}[/]: {', '.join(stages)}")
                overrides = [f"data.n_records={n}", f"data.sampling_rate={fs}", *common]
                root = project(Path(tmp), f"{n}-{fs}", overrides)
                runs[name] = {s: measure(root, s) for s in stages}
                for s, (sec, mib) in runs[name].items():
                    console.print(f"  {s}: {sec:.1f} s, peak {mib:.0f} MiB")

    table = Table(
        title=f"The DAG at PTB-XL scale: wall time and peak memory per stage "
        f"({os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB)"
    )
    table.add_column("stage")
    for name in runs:
        table.add_column(f"{name}: s", justify="right")
        table.add_column("MiB", justify="right")
    for s in STAGES:
        row = [s]
        for stages in runs.values():
            sec, mib = stages.get(s, (None, None))
            row += ["" if sec is None else f"{sec:.1f}", "" if mib is None else f"{mib:.0f}"]
        table.add_row(*row)
    console.print(table)
    console.print(f"(train: {args.epochs} epoch(s); the data stages at 500 Hz resample to 100 Hz)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
