"""prepare and validate on a small PTB-XL-layout folder damaged at random (seeded): headers' and
tables' bytes, truncations, swapped and deleted files, duplicated rows. Never a traceback; either
one clear error, or every record kept or excluded with a reason, and the counts add up."""

from __future__ import annotations

import json
import logging
import random
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from ecgpipe.cli import main
from ecgpipe.data import manifest

from ..conftest import PROJECT

N_MUTATIONS = 200
TABLES = ("ptbxl_database.csv", "scp_statements.csv")


def _flip_bytes(rng: random.Random, file: Path) -> None:
    data = bytearray(file.read_bytes())
    for _ in range(rng.randint(1, 8)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)
    file.write_bytes(bytes(data))


def _truncate(rng: random.Random, file: Path) -> None:
    data = file.read_bytes()
    file.write_bytes(data[: rng.randrange(len(data) + 1)])


def _duplicate_row(rng: random.Random, file: Path) -> None:
    lines = file.read_bytes().splitlines(keepends=True)
    if len(lines) > 1:
        lines.insert(rng.randrange(1, len(lines) + 1), rng.choice(lines[1:]))
    file.write_bytes(b"".join(lines))


def _garble_field(rng: random.Random, file: Path) -> None:
    lines = file.read_bytes().splitlines() or [b""]
    i = rng.randrange(len(lines))
    fields = lines[i].split()
    if fields:
        fields[rng.randrange(len(fields))] = rng.choice([b"-1", b"0", b"x", b"1e9", b"", b"12/ab"])
    lines[i] = b" ".join(fields)
    file.write_bytes(b"\n".join(lines) + b"\n")


def mutate(rng: random.Random, root: Path) -> str:
    """Damage ``root`` in one random way; what was done."""
    records = sorted(root.rglob("*.hea"))
    kind = rng.choice(
        ["flip_header", "flip_table", "truncate_header", "truncate_dat", "truncate_table",
         "swap_headers", "swap_dat", "delete", "duplicate_row", "garble_header"]
    )  # fmt: skip
    if kind == "flip_header":
        _flip_bytes(rng, rng.choice(records))
    elif kind == "flip_table":
        _flip_bytes(rng, root / rng.choice(TABLES))
    elif kind == "truncate_header":
        _truncate(rng, rng.choice(records))
    elif kind == "truncate_dat":
        _truncate(rng, rng.choice(records).with_suffix(".dat"))
    elif kind == "truncate_table":
        _truncate(rng, root / rng.choice(TABLES))
    elif kind in ("swap_headers", "swap_dat"):
        suffix = ".hea" if kind == "swap_headers" else ".dat"
        a, b = (r.with_suffix(suffix) for r in rng.sample(records, 2))
        da, db = a.read_bytes(), b.read_bytes()
        a.write_bytes(db)
        b.write_bytes(da)
    elif kind == "delete":
        victim = rng.choice([*records, *(r.with_suffix(".dat") for r in records)])
        victim.unlink()
    elif kind == "duplicate_row":
        _duplicate_row(rng, root / TABLES[0])
    else:
        _garble_field(rng, rng.choice(records))
    return kind


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A clean 24-record synthetic PTB-XL folder."""
    project = tmp_path_factory.mktemp("fuzz-source")
    shutil.copytree(PROJECT / "conf", project / "conf")
    argv = ["compose", "data.n_records=24", "data.defect_rate=0", "data.workers=1"]
    assert main(["--root", str(project), *argv]) == 0
    assert main(["--root", str(project), "prepare"]) == 0
    return project / "data/prepared/source"


@pytest.mark.slow
def test_prepare_and_validate_survive_random_damage(pristine, tmp_path, caplog):
    rng = random.Random(20261203)
    project = tmp_path / "p"
    shutil.copytree(PROJECT / "conf", project / "conf")
    reasons: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for i in range(N_MUTATIONS):
        root = tmp_path / "ds"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(pristine, root)
        done = [mutate(rng, root) for _ in range(rng.randint(1, 3))]
        for stale in ("data", "reports"):
            shutil.rmtree(project / stale, ignore_errors=True)
        compose = ["compose", "data=ptbxl", f"data.root={root}", "validate.workers=1"]
        assert main(["--root", str(project), *compose, "validate.max_excluded_fraction=1"]) == 0
        caplog.clear()
        with caplog.at_level(logging.ERROR, logger="ecgpipe"):
            codes = [main(["--root", str(project), "prepare"])]
            if codes[0] == 0:  # as dvc repro: validate runs on what prepare made
                codes.append(main(["--root", str(project), "validate"]))
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        context = f"mutation {i} {done}: {errors}"
        assert "Traceback" not in caplog.text, context
        if any(codes):
            assert len(errors) == 1 and "\n" not in errors[0], context
            assert str(tmp_path / "p" / "data" / ".") not in errors[0], context  # no temp path
            refused[re.sub(r"\d+|/\S+", "#", errors[0].split(": error: ")[1])] += 1
            continue
        report = json.loads((project / "reports/integrity.json").read_text())
        prepared = len(manifest.read(project / "data/prepared/manifest.csv"))
        kept = len(manifest.read(project / "data/validated/manifest.csv"))
        assert report["n_records"] == prepared == kept + report["n_excluded"], context
        assert len(report["excluded"]) == report["n_excluded"], context
        for row in report["excluded"]:
            assert row["reason"] and "NoneType" not in row["reason"], context
            reasons.update(row["checks"])
    print(f"\n{N_MUTATIONS} mutations; exclusion checks seen: {dict(reasons)}")
    print(f"whole-dataset refusals, {len(refused)} distinct:")
    for why, n in refused.most_common():
        print(f"  {n:3d}  {why}")
    assert len(reasons) >= 5
