"""Shared set-up for the benchmarks: projects built through the real stages."""

from __future__ import annotations

import sys
from pathlib import Path

from ecgpipe.cli import main as ecgpipe

PROJECT = Path(__file__).resolve().parents[1]
DATA_STAGES = ("prepare", "validate", "preprocess")


def build(project: Path, overrides: list[str], stages: tuple[str, ...] = DATA_STAGES) -> None:
    """A project in ``project`` composed from ``conf/`` with ``overrides``, ``stages`` run."""
    project.mkdir(parents=True, exist_ok=True)
    (project / "conf").symlink_to(PROJECT / "conf")
    for argv in (["compose", *overrides], *([s] for s in stages)):
        if ecgpipe(["--root", str(project), *argv]) != 0:
            sys.exit(f"benchmark set-up failed at `ecgpipe {' '.join(argv)}`")
