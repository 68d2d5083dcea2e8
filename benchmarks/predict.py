"""Scoring new records: ``ecgpipe predict`` on a folder of synthetic WFDB records, beside the
naive way (each record read and filtered, then the model called once per window in a Python loop).

    python benchmarks/predict.py [--records 1000]

Both read the same files, apply the same preprocessing and give the same probabilities; the
difference is batching windows across records and reading in worker processes. Measured for the
default ``cnn1d`` and for a small one (widths 8, 16), and beside each, the ceiling of any batching:
the model alone on windows already read and cut. A model whose compute per window outweighs the
cost of a call gains only what batching saves on that compute.

Reading (checking, filtering) is also timed alone, on one core. Reading and scoring share the
cores, so no schedule beats ``1 / ceiling + 1 / (cores * reading)`` seconds a record: the ceiling
is at best ``1 + ceiling / (cores * reading)`` times ``predict``, the bound printed beside it.
Targets: at least 10x the naive records/s (issue 11); within 1.25x of the ceiling for the
default network (issue 25).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import build
from rich.console import Console
from rich.table import Table

from ecgpipe import tracking
from ecgpipe.cli import main as ecgpipe
from ecgpipe.config.parse import load_params
from ecgpipe.config.schema import PreprocessConfig
from ecgpipe.core import parallel
from ecgpipe.processing.preprocessing import Layout, load_record, transform
from ecgpipe.processing.windows import crop, window_starts
from ecgpipe.serving import predict
from ecgpipe.serving.model import RecordModel

MODELS = {"cnn1d": [], "cnn1d, widths 8, 16": ["model.options.widths=[8,16]"]}
NAIVE_RECORDS = 200  # timed on these and scaled


def naive(model: RecordModel, records: list[Path]) -> np.ndarray:
    """A notebook's loop: per record, read, filter, then one model call per window."""
    c = model.contract
    cfg = PreprocessConfig.model_validate(c.preprocess)
    layout = Layout(c.leads, None, None)
    out = []
    with torch.no_grad():
        for path in records:
            x, fs, names = load_record(path)
            x = transform(x, fs, names, cfg, layout)[0].astype(np.float32)
            probs = [
                model.windows(torch.from_numpy(crop(x, s, c.window)[None]))[0].numpy()
                for s in window_starts(x.shape[1], c.window, c.stride)
            ]
            out.append(np.max(probs, axis=0) if c.aggregate == "max" else np.mean(probs, axis=0))
    return np.stack(out)


def measure(project: Path, n_records: int, overrides: list[str]) -> tuple[dict[str, float], str]:
    """Records/s of each way, for a model trained on a fresh project of ``n_records``; what the
    model scores."""
    train = ["train.max_epochs=1", "trainer.limit_train_batches=4"]
    build(
        project,
        [f"data.n_records={n_records}", "data.defect_rate=0", *train, *overrides],
        ("prepare", "validate", "preprocess", "split", "train"),
    )
    cfg = load_params(project / "params.yaml")
    model, _ = tracking.load_record_model("models/", cfg.mlflow, project)
    source = project / "data/prepared/source"
    records, _ = predict.find_records([source])
    n = len(records)

    start = time.perf_counter()
    command = ["--root", str(project), "predict", str(source), "--out", str(project / "p.csv")]
    if ecgpipe(command):
        sys.exit("ecgpipe predict failed")
    whole = time.perf_counter() - start  # the command: loading the model included

    start = time.perf_counter()
    fast = np.stack([o.probs for o in predict.score(model, records)])
    batched = time.perf_counter() - start

    start = time.perf_counter()
    slow = naive(model, records[:NAIVE_RECORDS])
    looped = (time.perf_counter() - start) / NAIVE_RECORDS * n
    assert np.allclose(fast[:NAIVE_RECORDS], slow, atol=1e-5), "the two ways disagree"

    c = model.contract
    start = time.perf_counter()
    signals = [x for _, x in predict._prepared(predict._Job(records, c))]
    reading = n / (time.perf_counter() - start)  # records/s on one core
    windows = np.stack(
        [
            crop(x, s, c.window)
            for x in signals
            for s in window_starts(x.shape[1], c.window, c.stride)
        ]
    )
    start = time.perf_counter()
    model.score_windows(windows)
    compute = time.perf_counter() - start
    rates = {"naive": n / looped, "batched": n / batched, "command": n / whole}
    what = (
        f"{len(c.leads)} leads, {c.window / c.fs:g} s windows every {c.stride / c.fs:g} s, "
        f"{len(windows) / n:.0f} a record"
    )
    return rates | {"ceiling": n / compute, "reading": reading}, what


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1000)
    args = ap.parse_args()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    console = Console(width=120)
    rates = {}
    with tempfile.TemporaryDirectory(prefix="ecgpipe-bench-predict-") as tmp:
        for i, (name, overrides) in enumerate(MODELS.items()):
            console.print(f"[bold]{args.records} synthetic records, a {name} trained...")
            rates[name], what = measure(Path(tmp) / str(i), args.records, overrides)

    cores = parallel.n_workers(0)  # the readers predict starts, one a core
    table = Table(title=f"Scoring {args.records} records ({what}), {cores} cores")
    for col in ("model", "way", "records/s", "vs naive", "target", "met"):
        table.add_column(col, justify="left" if col in ("model", "way") else "right")
    for name, rate in rates.items():
        ratio = rate["batched"] / rate["naive"]
        rows = [
            ("naive: a model call per window, one process", rate["naive"], "", ""),
            (
                "ecgpipe predict: batched windows, workers read",
                rate["batched"],
                ">= 10x",
                "yes" if ratio >= 10 else "NO",
            ),
            ("  the command, model loading and CSV included", rate["command"], "", ""),
            ("  ceiling: the model alone on cut windows", rate["ceiling"], "", ""),
            ("  reading and filtering alone, one core", rate["reading"], "", ""),
        ]
        behind = rate["ceiling"] / rate["batched"]
        bound = 1 + rate["ceiling"] / (cores * rate["reading"])
        met = "yes" if behind <= 1.25 else "NO"
        console.print(
            f"{name}: the ceiling is {behind:.2f}x ecgpipe predict (target <= 1.25x: {met}); "
            f"no schedule on {cores} cores could do better than {bound:.2f}x"
        )
        for i, (way, value, target, met) in enumerate(rows):
            vs = f"{value / rate['naive']:.1f}x"
            table.add_row(name if i == 0 else "", way, f"{value:.0f}", vs, target, met)
        table.add_section()
    console.print(table)
    console.print(
        f"(naive timed on {NAIVE_RECORDS} records and scaled; the same probabilities to 1e-5)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
