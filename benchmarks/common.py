"""Shared set-up for the benchmarks: a synthetic project built through the real stages."""

from __future__ import annotations

import sys
from pathlib import Path

from ecgpipe.cli import main as ecgpipe

PROJECT = Path(__file__).resolve().parents[1]


def build_project(project: Path, stages: tuple[str, ...], *overrides: str) -> None:
    """Compose ``conf/`` with ``overrides`` into ``project`` and run ``stages`` there."""
    (project / "conf").symlink_to(PROJECT / "conf")
    for argv in (["compose", *overrides], *([s] for s in stages)):
        if ecgpipe(["--root", str(project), *argv]) != 0:
            sys.exit(f"benchmark set-up failed at `ecgpipe {' '.join(argv)}`")
