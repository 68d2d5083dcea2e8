"""Reading WFDB headers and records: ecgpipe's header parser against wfdb's own, side by side.

    python benchmarks/headers.py [FOLDER] [--passes 3]

``wfdb.rdheader`` and ``wfdb.rdrecord`` over every record of FOLDER (default: the PTB-XL
sample, ``../shared/data/ptbxl-sample``), timed in two fresh processes: one where
:func:`ecgpipe.data.wfdb_io.install` put the fast parser in wfdb's place, one where nothing did
(wfdb's own parser). Only the module's public function is used; the best of ``--passes`` passes,
in ms a record. The figures quoted in docs/benchmarks.md come from this command.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]

TIMING = """
import json, sys, time
from pathlib import Path
import wfdb
if sys.argv[1] == "fast":
    from ecgpipe.data import wfdb_io
    assert wfdb_io.install(), "the fast parser could not be installed"
records = [str(h.with_suffix("")) for h in sorted(Path(sys.argv[2]).rglob("*.hea"))]
out = {}
for name, fn in (("rdheader", wfdb.rdheader), ("rdrecord", wfdb.rdrecord)):
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        start = time.perf_counter()
        for r in records:
            fn(r)
        best = min(best, time.perf_counter() - start)
    out[name] = best / len(records) * 1e3
print(json.dumps(out | {"records": len(records)}))
"""


def timed(parser: str, folder: Path, passes: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", TIMING, parser, str(folder), str(passes)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = PROJECT.parent / "shared/data/ptbxl-sample"
    ap.add_argument("folder", type=Path, nargs="?", default=default)
    ap.add_argument("--passes", type=int, default=3)
    args = ap.parse_args()
    if not any(args.folder.rglob("*.hea")):
        sys.exit(f"no WFDB headers under {args.folder}")
    own, fast = timed("wfdb", args.folder, args.passes), timed("fast", args.folder, args.passes)
    print(f"{own['records']} records under {args.folder}, best of {args.passes} passes")
    print(f"{'ms a record':<12} {'wfdb own':>9} {'ecgpipe':>9} {'speed-up':>9}")
    for name in ("rdheader", "rdrecord"):
        print(f"{name:<12} {own[name]:9.2f} {fast[name]:9.2f} {own[name] / fast[name]:8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
