"""Checks of a beat model that cross-validation over whole records cannot make.

A test patient may be unlike every training record in two ways that a beat's features feel:

- **Composition**: ectopic beats the majority of the record (frequent premature beats, bigeminy,
  runs), where any reference computed over "the record's beats" is the ectopic beats' own.
  :func:`composition` cuts the stretches of each record where a class is at least half the beats
  (:func:`ecgpipe.processing.beats.dense_stretches`), writes each as a WFDB record of its own,
  scores them with ``ecgpipe predict``'s code, and compares the class's sensitivity on those
  beats as excerpts with the same beats scored within their whole records. A model whose calls
  do not depend on how many ectopic beats surround them shows no gap.
- **Atrial fibrillation**: normal beats at irregular intervals, which a model that reads
  irregularity as prematurity calls S. :func:`af_false_alarms` counts the beats called S that
  are not, per hour of atrial fibrillation or flutter (the records' rhythm annotations).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe.data.wfdb_io import read_annotations, read_header, read_rhythms, write_excerpt
from ecgpipe.processing import beats
from ecgpipe.serving.model import RecordModel
from ecgpipe.serving.predict import Outcome, score_beats

WIDTH = 20
"""Beats in an excerpt."""
SHARE = 0.5
"""An excerpt's least share of beats of the class it checks."""
AF_RHYTHMS = ("(AFIB", "(AFL")


@dataclass(frozen=True)
class Gap:
    """One class's sensitivity on its dense excerpts, and on the same beats in whole records."""

    label: str
    excerpts: int
    beats: int
    whole: float | None
    excerpted: float | None

    @property
    def gap(self) -> float | None:
        """How much sensitivity the excerpts lose (whole minus excerpted)."""
        if self.whole is None or self.excerpted is None:
            return None
        return self.whole - self.excerpted


def calls(outcomes: Sequence[Outcome]) -> pd.DataFrame:
    """A row per scored beat: record, sample, true class (of its symbol), called class."""
    rows = [
        (Path(o.record).name, o.sample, str(beats.aami([o.symbol])[0]), o.labels[0])
        for o in outcomes
        if not o.error and o.labels
    ]
    return pd.DataFrame(rows, columns=["record", "sample", "truth", "called"])


def excerpts(
    root: Path, records: Sequence[str], label: str, annotator: str, out: Path, width: int = WIDTH
) -> dict[str, tuple[str, int]]:
    """Each record's stretches of ``width`` beats where class ``label`` is at least
    :data:`SHARE` of them, written as WFDB records under ``out`` (from midway to the beat before
    to midway to the beat after). Returns excerpt name -> (record, its first sample there)."""
    made = {}
    for record in records:
        samples, symbols = read_annotations(root / record, annotator)
        kind = beats.aami(symbols)
        peaks, kind = samples[kind != ""], kind[kind != ""]
        n_samples = read_header(root / record).sig_len
        for k, run in enumerate(beats.dense_stretches(kind == label, width, SHARE)):
            first, last = run[0], run[-1]
            start = (peaks[first - 1] + peaks[first]) // 2 if first else 0
            stop = (peaks[last] + peaks[last + 1]) // 2 if last + 1 < len(peaks) else n_samples
            name = f"{record}_{label}{k}"
            write_excerpt(root / record, out / name, int(start), int(stop), annotator)
            made[name] = (record, int(start))
    return made


def composition(
    model: RecordModel,
    root: Path,
    records: Sequence[str],
    out: Path,
    labels: Sequence[str] = ("S", "V"),
    whole: pd.DataFrame | None = None,
    adapt: bool = False,
) -> list[Gap]:
    """Per class in ``labels``: its sensitivity on the beats of its dense excerpts of ``records``
    (WFDB records under ``root``, excerpts written under ``out``) scored as records, and on the
    same beats scored in their whole records (``whole``, :func:`calls` of them; scored here when
    not given); ``adapt``: every record and excerpt scored adapted to itself
    (:mod:`ecgpipe.serving.adapt`)."""
    annotator = model.contract.annotator or "atr"
    if whole is None:
        whole = calls(list(score_beats(model, [root / r for r in records], adapt=adapt)))
    keyed = whole.set_index(["record", "sample"])["called"]
    gaps = []
    for label in labels:
        made = excerpts(root, records, label, annotator, out / label)
        named = [out / label / name for name in sorted(made)]
        got = calls(list(score_beats(model, named, adapt=adapt)))
        if got.empty:
            gaps.append(Gap(label, len(made), 0, None, None))
            continue
        origin = got["record"].map({name: source for name, (source, _) in made.items()})
        at = got["sample"].astype(np.int64) + got["record"].map(
            {name: start for name, (_, start) in made.items()}
        )
        inside = got["truth"] == label
        called_whole = keyed.reindex(list(zip(origin[inside], at[inside], strict=True)))
        n = int(inside.sum())
        gaps.append(
            Gap(
                label,
                len(made),
                n,
                float(np.mean(called_whole.to_numpy() == label)) if n else None,
                float(np.mean(got.loc[inside, "called"] == label)) if n else None,
            )
        )
    return gaps


def af_false_alarms(
    called: pd.DataFrame, root: Path, records: Sequence[str], annotator: str, label: str = "S"
) -> tuple[int, float]:
    """Beats called ``label`` that are not, inside the atrial fibrillation or flutter of
    ``records`` (their rhythm annotations), and the hours of those rhythms: (count, hours)."""
    count, seconds = 0, 0.0
    for record in records:
        header = read_header(root / record)
        rhythms = read_rhythms(root / record, annotator)
        bounds = [*rhythms, (header.sig_len, "")]
        mine = called[called["record"] == record]
        at = mine["sample"].to_numpy(np.int64)
        wrong = ((mine["called"] == label) & (mine["truth"] != label)).to_numpy()
        for (start, rhythm), (stop, _) in itertools.pairwise(bounds):
            if rhythm in AF_RHYTHMS:
                count += int(wrong[(at >= start) & (at < stop)].sum())
                seconds += (stop - start) / header.fs
    return count, seconds / 3600
