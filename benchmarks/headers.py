"""Reading WFDB headers and records: ecgpipe's header parsers against wfdb's own, side by side.

    python benchmarks/headers.py [FOLDER] [--passes 3]

``wfdb.rdheader`` and ``wfdb.rdrecord`` over every record of FOLDER (default: the PTB-XL
sample, ``../shared/data/ptbxl-sample``), timed in two fresh processes: one where
:func:`ecgpipe.data.wfdb_io.install` put the fast parsers in wfdb's place, one where nothing did
(wfdb's own parsers). The first also times :func:`ecgpipe.data.wfdb_io.read_record` (a plain
record's samples read directly, then the lead-name and unit checks and mV), shown beside plain
``wfdb.rdrecord`` with wfdb's own parsers. Only the module's public functions are used; the best
of ``--passes`` passes, in ms a record. The figures quoted in docs/benchmarks.md come from this
command.
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
paths = [h.with_suffix("") for h in sorted(Path(sys.argv[2]).rglob("*.hea"))]
records = [str(p) for p in paths]
timed = [("rdheader", wfdb.rdheader, records), ("rdrecord", wfdb.rdrecord, records)]
if sys.argv[1] == "fast":
    from ecgpipe.data import wfdb_io
    assert wfdb_io.install(), "the fast parsers could not be installed"
    timed.append(("read_record", wfdb_io.read_record, paths))
out = {}
for name, fn, args in timed:
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        start = time.perf_counter()
        for r in args:
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
    print(f"{'ms a record':<25} {'wfdb own':>9} {'ecgpipe':>9} {'speed-up':>9}")
    rows = [(name, name, name) for name in ("rdheader", "rdrecord")]
    rows.append(("read_record vs rdrecord", "rdrecord", "read_record"))
    for label, theirs, ours in rows:
        t, o = own[theirs], fast[ours]
        print(f"{label:<25} {t:9.2f} {o:9.2f} {t / o:8.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
