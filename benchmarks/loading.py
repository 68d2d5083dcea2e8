"""Loading speed: preprocess throughput, and reading training crops three ways, side by side.

    python benchmarks/loading.py [--records 1500] [--batches 30]

Builds a synthetic dataset in a temp folder (prepare -> validate through the library), then:

1. preprocess throughput (records/s) with one worker and with all cores;
2. samples/s of random training crops (batch 128, 2.5 s windows, all leads) read
   - from the memory-mapped cache (what training uses),
   - the naive way: ``wfdb.rdrecord`` and filtering each record on the fly,
   - from a plain in-RAM NumPy copy of the same bytes (the ceiling).

Targets (issue 3): all cores >= 1.7x one worker; memmap >= 50x naive and within 3x of in-RAM.
Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from common import build
from rich.console import Console
from rich.table import Table

from ecgpipe.config.parse import load_params
from ecgpipe.config.schema import PreprocessConfig
from ecgpipe.data import manifest
from ecgpipe.data.manifest import DatasetInfo
from ecgpipe.processing.cache import Cache
from ecgpipe.processing.preprocessing import Layout, build_cache, load_record, transform

BATCH = 128
WINDOW_S = 2.5


def prepare_dataset(project: Path, records: int) -> tuple[DatasetInfo, pd.DataFrame]:
    build(project, [f"data.n_records={records}", "data.defect_rate=0"], ("prepare", "validate"))
    info = DatasetInfo.read(project / "data/validated/dataset.json")
    return info, manifest.read(project / "data/validated/manifest.csv")


def preprocess_rate(df, info, root: Path, cfg: PreprocessConfig, out: Path, workers: int) -> float:
    start = time.perf_counter()
    build_cache(df, info, root, cfg.model_copy(update={"workers": workers}), out)
    return len(df) / (time.perf_counter() - start)


def crop_rate(
    read_batch: Callable[[np.ndarray, np.ndarray], np.ndarray],
    n_rows: int,
    n_samples: int,
    window: int,
    batches: int,
    seed: int = 0,
) -> float:
    rng = np.random.default_rng(seed)
    start = time.perf_counter()
    for _ in range(batches):
        rows = rng.integers(0, n_rows, BATCH)
        offsets = rng.integers(0, n_samples - window + 1, BATCH)
        batch = read_batch(rows, offsets)
        assert batch.shape[0] == BATCH and batch.shape[-1] == window
    return batches * BATCH / (time.perf_counter() - start)


def from_cache(cache: Cache, window: int, flat: np.ndarray | None = None):
    """Crops read through the cache's per-record views (of ``flat``: an in-RAM copy, if given)."""
    if flat is not None:
        cache = replace(cache, signals=flat)

    def read(rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        return np.stack(
            [cache.signal(r)[:, o : o + window] for r, o in zip(rows, offsets, strict=True)]
        ).astype(np.float32, copy=False)

    return read


def naive(paths: list[Path], cfg: PreprocessConfig, layout: Layout, window: int):
    def read(rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        out = []
        for r, o in zip(rows, offsets, strict=True):
            x, fs, names = load_record(paths[r])
            sig, _ = transform(x, fs, names, cfg, layout)
            out.append(sig[:, o : o + window])
        return np.stack(out).astype(np.float32, copy=False)

    return read


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1500)
    ap.add_argument("--batches", type=int, default=30, help="batches for the fast readers")
    ap.add_argument("--naive-batches", type=int, default=2)
    args = ap.parse_args()
    console = Console(width=110)
    cores = os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="ecgpipe-bench-") as tmp:
        project = Path(tmp)
        console.print(f"[bold]Generating and validating {args.records} synthetic records...")
        info, df = prepare_dataset(project, args.records)
        root = info.resolve_root(project)

        console.print("[bold]Preprocessing with 1 worker, then with all cores...")
        cfg = load_params(project / "params.yaml").preprocess
        one = preprocess_rate(df, info, root, cfg, project / "p1", workers=1)
        many = preprocess_rate(df, info, root, cfg, project / "pn", workers=0)

        cache = Cache.open(project / "pn")
        window = round(WINDOW_S * cache.meta["fs"])
        n, t = len(cache.lengths), int(cache.lengths.min())
        console.print("[bold]Reading random training crops three ways...")
        in_ram = np.array(cache.signals)  # the same bytes, in RAM
        rates = {
            "memmap cache": crop_rate(from_cache(cache, window), n, t, window, args.batches),
            "wfdb + filter (naive)": crop_rate(
                naive([root / p for p in df.path], cfg, Layout.of(cfg, info.leads), window),
                n,
                t,
                window,
                args.naive_batches,
            ),
            "in-RAM NumPy (ceiling)": crop_rate(
                from_cache(cache, window, in_ram), n, t, window, args.batches
            ),
        }

    table = Table(title=f"Loading speed ({args.records} records, 12 leads, 100 Hz, {cores} cores)")
    for col in ("what", "figure", "ratio", "target", "met"):
        table.add_column(col, justify="right" if col != "what" else "left")
    scale = many / one
    vs_naive = rates["memmap cache"] / rates["wfdb + filter (naive)"]
    vs_ram = rates["in-RAM NumPy (ceiling)"] / rates["memmap cache"]
    checks = [
        ("preprocess, 1 worker", f"{one:,.0f} records/s", "1.00x", "", None),
        (
            f"preprocess, {cores} workers",
            f"{many:,.0f} records/s",
            f"{scale:.2f}x",
            ">= 1.7x",
            scale >= 1.7,
        ),
        ("crops: memmap cache", f"{rates['memmap cache']:,.0f} samples/s", "", "", None),
        (
            "crops: wfdb + filter (naive)",
            f"{rates['wfdb + filter (naive)']:,.0f} samples/s",
            f"memmap {vs_naive:,.0f}x faster",
            "memmap >= 50x",
            vs_naive >= 50,
        ),
        (
            "crops: in-RAM NumPy (ceiling)",
            f"{rates['in-RAM NumPy (ceiling)']:,.0f} samples/s",
            f"{vs_ram:.2f}x memmap",
            "<= 3x memmap",
            vs_ram <= 3,
        ),
    ]
    for what, figure, ratio, target, met in checks:
        mark = "" if met is None else ("[green]yes" if met else "[red]NO")
        table.add_row(what, figure, ratio, target, mark)
    console.print(table)
    return 0 if all(m for *_, m in checks if m is not None) else 1


if __name__ == "__main__":
    sys.exit(main())
