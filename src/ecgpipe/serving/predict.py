"""``ecgpipe predict``: score WFDB records with a trained model, preprocessed as its training data
was (lead selection by name, band-pass, notch, resampling from the record's own rate).

A heartbeat model scores each beat of a record instead: the beats of its annotation file (the
one the model was trained on, ``.atr`` for MIT-BIH; symbols that are not beats skipped), or,
where the record has none, the R peaks wfdb's XQRS detector finds on the model's first lead. Each
beat's window and features come from that record alone, by the code ``preprocess`` used
(:func:`ecgpipe.processing.preprocessing.beat_rows`); the output has a row per beat.

Records are read and filtered a chunk per core, in worker processes, then the model's
:class:`~ecgpipe.serving.model.RecordModel` scores those chunks in large batches of windows, with
every core: the two take turns (:func:`pipeline`), as either is slowed by the other beside it.
A record that cannot be scored (unreadable, missing a lead, too short, NaN) gets one line saying
why, and the others are still scored; the output lists it too, with its error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgpipe.core import atomic, contract, parallel
from ecgpipe.core.errors import PipelineError
from ecgpipe.data.validation import Expected, Thresholds, read_record
from ecgpipe.data.wfdb_io import detect_beats, read_annotations
from ecgpipe.processing import beats, dsp
from ecgpipe.processing.preprocessing import Layout, beat_rows, transform
from ecgpipe.serving import adapt as adapting
from ecgpipe.serving.model import Contract, InputError, RecordModel

log = logging.getLogger("ecgpipe")

WFDB_SUFFIXES = (".hea", ".dat", ".mat")
CHUNK = 64
"""Records read per task in a worker, and scored together: enough to batch windows and to make
little of a round's start and end, few enough to hold in memory a chunk per core."""


@dataclass(frozen=True)
class Outcome:
    record: str
    probs: np.ndarray | None = None
    labels: tuple[str, ...] = ()
    error: str | None = None
    sample: int | None = None
    """A beat model: the beat's R peak, at the record's own rate."""
    symbol: str = ""
    """A beat model: the beat's annotation symbol; empty where the beat was detected."""


def find_records(paths: Sequence[Path]) -> tuple[list[Path], list[Outcome]]:
    """WFDB records (paths without extension) named by ``paths``: records, or folders searched
    recursively for headers; and a failure for each path that is neither."""
    found, missing = [], []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(h.with_suffix("") for h in path.rglob("*.hea")))
        elif path.suffix in WFDB_SUFFIXES and path.with_suffix(".hea").is_file():
            found.append(path.with_suffix(""))
        elif path.with_name(path.name + ".hea").is_file():
            found.append(path)
        else:
            missing.append(Outcome(str(path), error="no WFDB record or folder here"))
    return found, missing


@dataclass(frozen=True)
class _Job:
    records: list[Path]
    contract: Contract


def _prepared(job: _Job) -> list[tuple[str, np.ndarray | str]]:
    """Each record of the job as the model wants it, or why it cannot be: the checks
    ``validate`` applied to the training records (files, header, NaN, flat, saturated, amplitude),
    then the training data's preprocessing."""
    c = job.contract
    cfg = c.preprocessing()
    layout = Layout(c.leads, Layout.of(cfg, c.leads).n_samples, None)  # the STFT is in the model
    out: list[tuple[str, np.ndarray | str]] = []
    for path, got in _checked(job):
        if isinstance(got, str):
            out.append((path, got))
            continue
        x, fs, names = got
        try:
            out.append((path, transform(x, fs, names, cfg, layout)[0].astype(np.float32)))
        except ValueError as err:  # e.g. a record too short to filter
            out.append((path, str(err)))
    return out


def _checked(job: _Job) -> Iterator[tuple[str, tuple[np.ndarray, float, list[str]] | str]]:
    """Each record of the job as (leads, samples) in mV, its rate and lead names, or why not:
    the checks ``validate`` applied to the training records, with the training run's limits,
    then the model's contract (:func:`ecgpipe.core.contract.check`: its leads by name, in its
    order)."""
    c = job.contract
    limits = Thresholds(**c.quality)
    for path in job.records:
        checked, record = read_record(Expected(path, None, c.leads, None), limits)
        if record is None:
            yield str(path), "; ".join(f.reason for f in checked.failures)
            continue
        x, fs, names = record.p_signal.T, float(record.fs), list(record.sig_name)
        at, where, what = contract.Reads.of(names, fs), f"{path}: the model", "the record"
        try:  # the model's leads by name, in its order; any rate (resampled)
            order = contract.check(c.reads, at, where, what, resampled=True, more_leads=True)
        except contract.ContractError as err:
            yield str(path), str(err)
            continue
        if order is not None:
            x, names = x[list(order)], [names[i] for i in order]
        yield str(path), (x, fs, names)


@dataclass(frozen=True)
class _Beats:
    rows: np.ndarray
    """(n, leads * window + features) as the model takes them."""
    samples: np.ndarray
    symbols: np.ndarray
    fs: float
    """The record's own rate (of ``samples``)."""


def _prepared_beats(job: _Job) -> list[tuple[str, _Beats | str]]:
    """Each record of the job as beat rows, or why it cannot be: the checks ``validate`` applied,
    the training data's preprocessing, then its beats (annotated, else detected)."""
    c = job.contract
    cfg = c.preprocessing()
    layout = Layout(c.leads, None, None)
    out: list[tuple[str, _Beats | str]] = []
    for path, got in _checked(job):
        if isinstance(got, str):
            out.append((path, got))
            continue
        x, fs, names = got
        try:
            sig = transform(x, fs, names, cfg, layout)[0]
            samples, symbols = beats_of(Path(path), x, fs, names, c)
            if not len(samples):
                raise ValueError("no beats annotated or detected")
            windows, features, _ = beat_rows(sig, samples, fs, cfg)
        except (OSError, ValueError) as err:
            out.append((path, str(err)))
            continue
        rows = np.concatenate([windows.reshape(len(windows), -1), features], axis=1)
        out.append((path, _Beats(rows.astype(np.float32), samples, symbols, fs)))
    return out


def beats_of(
    path: Path, x: np.ndarray, fs: float, names: list[str], contract: Contract
) -> tuple[np.ndarray, np.ndarray]:
    """A record's beats: (R-peak samples, symbols) of its annotation file, the symbols that are
    not beats left out; or, without one, those detected on the model's first lead (symbol "")."""
    annotator = contract.annotator
    if annotator and path.with_name(f"{path.name}.{annotator}").is_file():
        samples, symbols = read_annotations(path, annotator)
        is_beat = beats.aami(symbols) != ""
        return samples[is_beat], symbols[is_beat]
    lead = dsp.select_leads(x, names, contract.leads[:1])[0]
    samples = detect_beats(lead, fs)
    return samples, np.full(len(samples), "", dtype="<U1")


def pipeline(
    prepare: Callable[[_Job], list], model: RecordModel, records: Sequence[Path], workers: int
) -> Iterator[list]:
    """``prepare`` of each chunk of ``records``, in order: ``workers`` chunks (0: one per core) read
    at once, in this process and worker processes, then scored by the caller while the workers
    wait (:func:`parallel.rounds`).
    Taking turns keeps every core for each side: a model's threads wait on each other at every
    operation, so beside a busy reader a model on all cores runs several times slower, and a
    model given fewer threads is slower still."""
    jobs = [
        _Job(list(records[i : i + CHUNK]), model.contract) for i in range(0, len(records), CHUNK)
    ]
    return parallel.rounds(prepare, jobs, workers)


def score_beats(
    model: RecordModel, records: Sequence[Path], workers: int = 0, adapt: bool = False
) -> Iterator[Outcome]:
    """An :class:`Outcome` per beat of each record in order, or one saying why it has none;
    ``adapt``: each record's beats scored adapted to that record (:mod:`ecgpipe.serving.adapt`)."""
    if adapt:
        adapting.check(model)
    for chunk in pipeline(_prepared_beats, model, records, workers):
        for name, found in chunk:
            if isinstance(found, str):
                yield Outcome(name, error=found)
                continue
            try:
                if adapt:
                    probs = adapting.probabilities(model, found.rows, found.samples, found.fs)
                else:
                    probs = model.score(list(found.rows))
            except InputError as err:
                yield Outcome(name, error=str(err))
                continue
            for p, labels, sample, symbol in zip(
                probs, model.decide(probs), found.samples, found.symbols, strict=True
            ):
                yield Outcome(name, p, tuple(labels), sample=int(sample), symbol=str(symbol))


def read(model: RecordModel, path: Path) -> np.ndarray:
    """One record as the model wants it (checked and preprocessed), or a PipelineError why not."""
    found, missing = find_records([path])
    if missing:
        raise PipelineError(f"{path}: {missing[0].error}")
    (name, x), *_ = _prepared(_Job(found[:1], model.contract))
    if isinstance(x, str):
        raise PipelineError(f"{name}: {x}")
    try:
        return model.check(x, name)
    except InputError as err:
        raise PipelineError(str(err)) from None


def score(model: RecordModel, records: Sequence[Path], workers: int = 0) -> Iterator[Outcome]:
    """An :class:`Outcome` per record, in order: records are read and filtered in ``workers``
    processes (0: one per core), a chunk each, then scored (:func:`pipeline`)."""
    for chunk in pipeline(_prepared, model, records, workers):
        done: list[Outcome | None] = []  # the chunk's outcomes in order; None: to be scored
        good: list[tuple[str, np.ndarray]] = []
        for name, x in chunk:
            if isinstance(x, str):
                done.append(Outcome(name, error=x))
                continue
            try:
                good.append((name, model.check(x, name)))
                done.append(None)
            except InputError as err:
                done.append(Outcome(name, error=str(err).removeprefix(f"{name}: ")))
        if good:
            probs = model.score([x for _, x in good])
            scored = iter(
                Outcome(name, p, tuple(labels))
                for (name, _), p, labels in zip(good, probs, model.decide(probs), strict=True)
            )
            done = [o or next(scored) for o in done]
        yield from done  # type: ignore[misc]


def table(outcomes: Sequence[Outcome], contract: Contract, model_ref: str) -> pd.DataFrame:
    """A row per record (a beat model: per beat, with its sample and annotation symbol): its
    probabilities, labels and error (empty where scored), the model."""
    classes = contract.classes
    probs = np.full((len(outcomes), len(classes)), np.nan)
    for i, o in enumerate(outcomes):
        if o.probs is not None:
            probs[i] = o.probs
    out = pd.DataFrame({"record": [o.record for o in outcomes]})
    if contract.annotator is not None or any(o.sample is not None for o in outcomes):
        out["sample"] = pd.array([o.sample for o in outcomes], dtype="Int64")
        out["symbol"] = [o.symbol for o in outcomes]
    for j, c in enumerate(classes):
        out[f"p_{c}"] = probs[:, j]
    out["labels"] = [";".join(o.labels) for o in outcomes]
    scored = np.isfinite(probs).all(axis=1)
    if scored.any() and (sets := contract.sets(probs[scored])) is not None:
        out["set"] = ""
        out.loc[scored, "set"] = sets
    out["error"] = [o.error or "" for o in outcomes]
    out["model"] = model_ref
    return out


def write(df: pd.DataFrame, out: Path | None) -> None:
    """CSV (or JSON records, by the extension) to ``out``, atomically; CSV on stdout for None."""
    if out is None:
        print(df.to_csv(index=False), end="")
    elif out.suffix.lower() == ".json":
        atomic.write_text(out, json.dumps(json.loads(df.to_json(orient="records")), indent=1))
    else:
        atomic.write_text(out, df.to_csv(index=False))


def run(
    model: RecordModel, model_ref: str, paths: Sequence[Path], out: Path | None, adapt: bool = False
) -> int:
    """Score every record (a beat model: every beat of each record, ``adapt``: adapted to the
    record, :mod:`ecgpipe.serving.adapt`) under ``paths``; the number of records that could not
    be scored."""
    records, outcomes = find_records(paths)
    if adapt:
        try:
            adapting.check(model)
        except InputError as err:
            raise PipelineError(f"predict --adapt: {err}") from None
        log.info("predict --adapt: each record is read whole before any of its beats is called")
        outcomes.extend(score_beats(model, records, adapt=True))
    else:
        outcomes.extend((score_beats if model.per_beat else score)(model, records))
    for o in outcomes:
        if o.error:
            log.error("predict: %s: %s", o.record, o.error)
    failed = sum(1 for o in outcomes if o.error)
    write(table(outcomes, model.contract, model_ref), out)
    scored = len({o.record for o in outcomes if not o.error})
    log.info(
        "predict: %d records scored%s, %d failed, with %s%s",
        scored,
        f" ({len(outcomes) - failed} beats)" if model.per_beat else "",
        failed,
        model_ref,
        f"; wrote {out}" if out else "",
    )
    return failed
