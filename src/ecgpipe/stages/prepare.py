"""Stage ``prepare``: produce a dataset and its manifest in ``data/prepared``.

``data=synthetic`` generates a dataset in PTB-XL's layout under ``data/prepared/source`` and reads
it with the PTB-XL reader; ``data=ptbxl`` reads a real copy at ``data.root``.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from ecgpipe import atomic, manifest
from ecgpipe.config import Config, PtbxlDataConfig, SyntheticDataConfig
from ecgpipe.data import ptbxl
from ecgpipe.paths import Paths

log = logging.getLogger("ecgpipe")


def run(cfg: Config, paths: Paths) -> None:
    data = cfg.data
    with atomic.directory(paths.prepared) as out:
        if isinstance(data, SyntheticDataConfig):
            from ecgpipe.data.synthetic import generate

            summary = generate(data, out / "source")
            log.info(
                "prepare: generated %d records of %d patients (%d defective) in %.1f s: "
                "%.0f records/s with %d workers",
                summary.n_records,
                summary.n_patients,
                summary.n_defective,
                summary.seconds,
                summary.records_per_second,
                summary.workers,
            )
            # The manifest root is the final location, not the temp dir being written.
            root, label = out / "source", str(paths.prepared.relative_to(paths.root) / "source")
        else:
            assert isinstance(data, PtbxlDataConfig)
            root, label = _ptbxl_root(data, paths.root)
        df, info = ptbxl.read(
            root, root_label=label, sampling_rate=data.sampling_rate, task=data.task
        )
        info = replace(info, name=data.name)  # synthetic data is read in PTB-XL's layout
        manifest.write(df, out / "manifest.csv")
        info.write(out / "dataset.json")
    log.info(
        "prepare: %d records, %d patients, task %s (%s) -> %s",
        len(df),
        df["patient_id"].nunique(),
        info.task,
        ", ".join(info.classes),
        paths.prepared.relative_to(paths.root),
    )


def _ptbxl_root(data: PtbxlDataConfig, base: Path) -> tuple[Path, str]:
    root = Path(data.root)
    root = root if root.is_absolute() else base / root
    if data.download and not (root / ptbxl.DATABASE).is_file():
        log.info("prepare: downloading PTB-XL into %s", root)
        ptbxl.download(root)
    return root, data.root
