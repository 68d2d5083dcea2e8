"""Scoring new records: ``ecgpipe predict`` on a folder of synthetic WFDB records, beside the
naive way (each record read and filtered, then the model called once per window in a Python loop).

    python benchmarks/predict.py [--records 1000]

Both read the same files, apply the same preprocessing and give the same probabilities; the
difference is batching windows across records and reading in worker processes.
Target (issue 11): at least 10x the naive records/s.
"""

from __future__ import annotations

import argparse
import json
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
from ecgpipe.config import PreprocessConfig, load_params
from ecgpipe.preprocessing import Layout, load_record, transform
from ecgpipe.serving import predict
from ecgpipe.serving.model import RecordModel
from ecgpipe.serving.windows import crop, window_starts


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1000)
    args = ap.parse_args()
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    console = Console(width=110)
    with tempfile.TemporaryDirectory(prefix="ecgpipe-bench-predict-") as tmp:
        project = Path(tmp)
        console.print(f"[bold]A project of {args.records} synthetic records, a model trained...")
        train = ["train.max_epochs=1", "train.limit_train_batches=4"]
        build(
            project,
            [f"data.n_records={args.records}", "data.defect_rate=0", *train],
            ("prepare", "validate", "preprocess", "split", "train"),
        )
        cfg = load_params(project / "params.yaml")
        model, _ = tracking.load_record_model("models/", cfg.mlflow, project)
        source = project / "data/prepared/source"
        records, _ = predict.find_records([source])

        start = time.perf_counter()
        command = ["--root", str(project), "predict", str(source), "--out", str(project / "p.csv")]
        if ecgpipe(command):
            sys.exit("ecgpipe predict failed")
        whole = time.perf_counter() - start  # the command: loading the model included

        start = time.perf_counter()
        fast = np.stack([o.probs for o in predict.score(model, records)])
        batched = time.perf_counter() - start

        start = time.perf_counter()
        slow = naive(model, records[:200])
        looped = (time.perf_counter() - start) / 200 * len(records)
        run = json.loads((project / "models/run.json").read_text())["run_id"]
    assert np.allclose(fast[:200], slow, atol=1e-5), "the two ways disagree"

    n = len(records)
    c = model.contract
    table = Table(
        title=f"Scoring {n} records ({len(c.leads)} leads, {c.window / c.fs:g} s windows every "
        f"{c.stride / c.fs:g} s, {cfg.model.name}), {os.cpu_count()} cores"
    )
    for col in ("way", "records/s", "vs naive", "target", "met"):
        table.add_column(col, justify="left" if col == "way" else "right")
    rate = {"naive": n / looped, "batched": n / batched, "command": n / whole}
    table.add_row("naive: a model call per window, one process", f"{rate['naive']:.0f}", "1.0x")
    ratio = rate["batched"] / rate["naive"]
    table.add_row(
        "ecgpipe predict: batched windows, workers read",
        f"{rate['batched']:.0f}",
        f"{ratio:.1f}x",
        ">= 10x",
        "yes" if ratio >= 10 else "NO",
    )
    table.add_row(
        "  the command, model loading and CSV included",
        f"{rate['command']:.0f}",
        f"{rate['command'] / rate['naive']:.1f}x",
    )
    console.print(table)
    console.print(f"(naive timed on 200 records and scaled; same probabilities; run {run})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
