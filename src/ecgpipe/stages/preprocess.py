"""Stage ``preprocess``: the kept records, filtered and resampled, cached in ``data/processed``."""

from __future__ import annotations

import logging
import time

from ecgpipe.config.schema import Config
from ecgpipe.core.parallel import n_workers
from ecgpipe.core.paths import Paths
from ecgpipe.data import manifest
from ecgpipe.data.manifest import DatasetInfo
from ecgpipe.processing.preprocessing import build_beat_cache, build_cache

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths) -> None:
    info = DatasetInfo.read(paths.validated / "dataset.json")
    df = manifest.read(paths.validated / "manifest.csv")
    start = time.perf_counter()
    if info.label_kind == "beat":
        meta = build_beat_cache(
            df, info, info.resolve_root(paths.root), cfg.preprocess, paths.processed
        )
        seconds = time.perf_counter() - start
        log.info(
            "preprocess: %d beats of %d records (%d non-beat annotations skipped, %d beats "
            "zero-padded at a record's end, %d of classes left out) x %d leads at %g Hz in "
            "%.1f s (%.0f beats/s, %d workers)",
            meta["n_beats"],
            len(df),
            meta["n_non_beat"],
            meta["n_padded_beats"],
            meta["n_unlabelled"],
            len(meta["leads"]),
            meta["fs"],
            seconds,
            meta["n_beats"] / max(seconds, 1e-9),
            n_workers(cfg.preprocess.workers),
        )
        return
    meta = build_cache(df, info, info.resolve_root(paths.root), cfg.preprocess, paths.processed)
    seconds = time.perf_counter() - start
    d = meta["duration_s"] or {"min": 0.0, "max": 0.0, "total": 0.0}
    log.info(
        "preprocess: %d records (%.1f to %.1f s, %.0f s in all) x %d leads at %g Hz%s in %.1f s "
        "(%.0f records/s, %d workers)",
        len(df),
        d["min"],
        d["max"],
        d["total"],
        len(meta["leads"]),
        meta["fs"],
        f", with spectrograms of {meta['n_freqs']} bins" if meta["spectrogram"] else "",
        seconds,
        len(df) / max(seconds, 1e-9),
        n_workers(cfg.preprocess.workers),
    )
