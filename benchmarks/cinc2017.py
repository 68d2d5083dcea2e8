"""CinC 2017 quality: the project's protocol against a plain CNN, cross-validated on the same folds.

    python benchmarks/cinc2017.py [--root ../shared/data/cinc2017-sample] [--folds 5]
        [--config NAME=OVERRIDES ...] [--no-plain] [--only 0,1]

Only part of the challenge's training set is at hand (2,000 of its 8,528 records), so choices are
made, and the full-set figure estimated, by K-fold cross-validation on what is here: records are
split into K stratified folds; each fold is the test split once, and the rest is split 8:1 into
training and validation (early stopping, the decision rule), as ``experiment=cinc2017`` splits
80/10/10. Every test prediction comes from a model that never saw the record, so the K test folds
pool into one out-of-fold estimate over all records, with a bootstrap interval over records.

Compared on exactly the same folds:

- each ``--config`` (Hydra overrides on top of ``experiment=cinc2017``; default: the preset),
  trained and scored by the pipeline's own ``train`` and ``evaluate`` code;
- the plain CNN the issue names as the bar: 8 convolutional layers on the first 30 s at 100 Hz,
  class-weighted cross-entropy, Adam with cosine decay, 14 epochs, in a hand-written PyTorch loop.
  It trains on training plus validation records (it has no use for validation), which favours it.

Prints the challenge score (mean F1 of N, A and O) per fold and pooled, per-class F1, and the
training time per fold, with its extrapolation to the full 8,528 records.

    python benchmarks/cinc2017.py --budget [--config NAME=OVERRIDES]

times the whole DAG (every stage, as ``dvc repro`` runs them) of ``experiment=cinc2017`` on a
set as large as the full one, 8,528 records, made by repeating the sample's records under new
names, beside the plain CNN trained (14 epochs, 80% of them) and tested on the same records on
the same machine: a measurement of the budget (2.5x the plain CNN, and 30 minutes) on real
signals, not an extrapolation (its scores mean nothing, since the copies leak across the split).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from common import PROJECT, build
from crossval import DATA_SECTIONS, run_pipeline
from rich.console import Console
from rich.table import Table
from sklearn.model_selection import StratifiedKFold, train_test_split
from torch import nn

from ecgpipe.cli import main as ecgpipe
from ecgpipe.evaluation import metrics
from ecgpipe.processing.cache import Cache
from ecgpipe.training.datamodule import crop

FULL_SET = 8528


def folds(
    labels: np.ndarray, k: int, seed: int = 0, train_fraction: float = 1.0
) -> list[dict[str, np.ndarray]]:
    """K stratified folds of single-label records; the rest of each split 8:1 train:val, and
    (for a learning curve) only ``train_fraction`` of its training records kept, stratified."""
    rows = np.flatnonzero(labels >= 0)
    out = []
    for rest, test in StratifiedKFold(k, shuffle=True, random_state=seed).split(rows, labels[rows]):
        tr, va = train_test_split(
            rows[rest], test_size=1 / 9, stratify=labels[rows[rest]], random_state=seed
        )
        if train_fraction < 1:
            tr, _ = train_test_split(
                tr, train_size=train_fraction, stratify=labels[tr], random_state=seed
            )
        out.append({"train": np.sort(tr), "val": np.sort(va), "test": np.sort(rows[test])})
    return out


class PlainCNN(nn.Module):
    """Eight convolution layers (BN, ReLU, max-pooling), global average pooling, a linear layer."""

    def __init__(self, n_classes: int, width: int = 32):
        super().__init__()
        layers, c = [], 1
        for i in range(8):
            w = width * 2 ** min(i // 2, 3)
            layers += [nn.Conv1d(c, w, 7, padding=3), nn.BatchNorm1d(w), nn.ReLU(), nn.MaxPool1d(2)]
            c = w
        self.features = nn.Sequential(*layers)
        self.out = nn.Linear(c, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(x).mean(dim=-1))


def plain_cnn(cache: Cache, split: dict[str, np.ndarray], epochs: int = 14) -> tuple:
    """The issue's plain CNN on one fold: first 30 s at 100 Hz, z-scored per record."""
    assert cache.meta["fs"] == 100, "the plain CNN reads the 100 Hz cache"

    def inputs(rows: np.ndarray) -> torch.Tensor:
        x = np.stack([crop(cache.signal(r), 0, 3000) for r in rows])
        x = (x - x.mean(axis=-1, keepdims=True)) / (x.std(axis=-1, keepdims=True) + 1e-6)
        return torch.from_numpy(x.astype(np.float32))

    torch.manual_seed(0)
    rows = np.concatenate([split["train"], split["val"]])
    x, y = inputs(rows), torch.as_tensor(cache.labels[rows])
    n_classes = len(cache.classes)
    counts = torch.bincount(y, minlength=n_classes).clamp(min=1).float()
    model = PlainCNN(n_classes)
    loss_fn = nn.CrossEntropyLoss(weight=len(y) / (n_classes * counts))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = epochs * -(-len(y) // 64)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y)).split(64):
            loss = loss_fn(model(x[batch]), y[batch])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    seconds = time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        p = torch.cat([model(b).softmax(1) for b in inputs(split["test"]).split(256)]).numpy()
    return cache.labels[split["test"]], p.argmax(1), seconds, p


def challenge(y: np.ndarray, pred: np.ndarray, classes: list[str]) -> tuple[float, np.ndarray]:
    f1 = np.nan_to_num(metrics.confusion_rates(metrics.confusion(y, pred, len(classes)))["f1"])
    return float(metrics.challenge_f1("cinc2017", classes, f1)["cinc2017_f1"]), f1


def pooled_ci(y: np.ndarray, pred: np.ndarray, classes: list[str], n: int = 1000) -> tuple:
    rng = np.random.default_rng(0)
    draws = [challenge(y[i], pred[i], classes)[0] for i in rng.integers(0, len(y), (n, len(y)))]
    return tuple(np.percentile(draws, [2.5, 97.5]))


def full_size_copy(source: Path, target: Path, n: int = FULL_SET) -> Path:
    """``n`` records: the sample's, repeated under new names (links to its signal files)."""
    target.mkdir(parents=True)
    reference = (source / "REFERENCE.csv").read_text().split()
    lines = []
    for i in range(n):
        record, label = reference[i % len(reference)].split(",")
        name = f"B{i + 1:05d}"
        (target / f"{name}.mat").symlink_to(source / f"{record}.mat")
        header = (source / f"{record}.hea").read_text().replace(record, name)
        (target / f"{name}.hea").write_text(header)
        lines.append(f"{name},{label}")
    (target / "REFERENCE.csv").write_text("\n".join(lines) + "\n")
    return target


def budget(root: str, overrides: list[str], console: Console) -> int:
    """The whole DAG on a full-size copy, stage by stage, against the plain CNN trained on the
    same records on the same machine (the budget is 2.5x its time) and the 30-minute budget."""
    with tempfile.TemporaryDirectory(prefix="ecgpipe-cinc-budget-") as tmp:
        data = full_size_copy(Path(root), Path(tmp) / "cinc2017-full")
        reference = Path(tmp) / "plain"
        build(reference, ["experiment=cinc2017", f"data.root={data}", "preprocess.fs=100"])
        cache = Cache.open(reference / "data/processed")
        rows = np.arange(len(cache.labels))
        train, test = train_test_split(rows, test_size=0.2, stratify=cache.labels, random_state=0)
        console.print(f"[bold]plain CNN on {len(train)} of the {FULL_SET} records...")
        start = time.perf_counter()
        plain_cnn(cache, {"train": train, "val": rows[:0], "test": test})
        plain = time.perf_counter() - start
        project = Path(tmp) / "project"
        project.mkdir()
        (project / "conf").symlink_to(PROJECT / "conf")
        argv = ["experiment=cinc2017", f"data.root={data}", *overrides]
        if ecgpipe(["--root", str(project), "compose", *argv]) != 0:
            return 1
        table = Table(title=f"experiment=cinc2017 on {FULL_SET} records, {os.cpu_count()} cores")
        table.add_column("stage")
        table.add_column("wall time", justify="right")
        total = 0.0
        for stage in ("prepare", "validate", "preprocess", "split", "train", "evaluate"):
            start = time.perf_counter()
            if ecgpipe(["--root", str(project), stage]) != 0:
                return 1
            seconds = time.perf_counter() - start
            total += seconds
            table.add_row(stage, f"{seconds / 60:.1f} min")
        table.add_row("whole DAG", f"{total / 60:.1f} min (budget 30 min)")
        table.add_row("plain CNN, training and test", f"{plain / 60:.1f} min")
        table.add_row("whole DAG / plain CNN", f"{total / plain:.2f}x (budget 2.5x)")
        console.print(table)
        return 0 if total < 30 * 60 and total < 2.5 * plain else 1


def pooling(root: str, saved: Path, folds_k: int, console: Console) -> int:
    """``train.rhythm``'s weight, chosen by cross-validation: the rhythm trees fitted per fold as
    ``train`` fits them (training records, rounds chosen on validation), pooled with the saved
    out-of-fold test probabilities of a network-only run at each weight."""
    from ecgpipe.config.parse import load_params
    from ecgpipe.models import classical as models_classical
    from ecgpipe.serving.model import RhythmModel
    from ecgpipe.training import classical

    with tempfile.TemporaryDirectory(prefix="ecgpipe-cinc-pool-") as tmp:
        project = Path(tmp) / "data"
        build(project, ["experiment=cinc2017", f"data.root={root}", "preprocess.fs=100"])
        cfg = load_params(project / "params.yaml")
        cache = Cache.open(project / "data/processed")
        rhythm = RhythmModel(None, 0.0, float(cache.meta["fs"]), len(cache.classes))
        x = rhythm.features([np.asarray(cache.signal(i)) for i in range(len(cache.labels))])
    labels, classes = cache.labels, list(cache.classes)
    net = np.load(saved)
    trees, edges = [], [0]
    splits = folds(labels, folds_k)
    for split in splits:
        weights = classical.class_weights(
            np.bincount(labels[split["train"]], minlength=len(classes)), cfg.train.class_weight
        )
        fitted = classical.fit(
            "beat_gbm",
            dict(cfg.train.rhythm.options),
            cfg.train.seed,
            (x[split["train"]], labels[split["train"]]),
            (x[split["val"]], labels[split["val"]]),
            classes=classes,
            weights=weights,
            factors=None,
            dataset="cinc2017",
            monitor=cfg.monitor,
        )
        trees.append(
            models_classical.probabilities(fitted.estimator, x[split["test"]], len(classes))
        )
        edges.append(edges[-1] + len(split["test"]))
    y = labels[np.concatenate([s["test"] for s in splits])]
    p_net, p_trees = net["p"], np.concatenate(trees)
    if not np.array_equal(y, net["y"]):
        sys.exit(f"{saved}: not the out-of-fold probabilities of all {folds_k} folds in order")
    table = Table(
        title=f"Pooling the network ({saved.name}) with the rhythm trees, {folds_k}-fold CV"
    )
    for col in ("model", "pooled challenge F1", "per fold", "F1 N / A / O / ~"):
        table.add_column(col, justify="left" if col == "model" else "right")

    def row(name: str, p: np.ndarray) -> None:
        score, f1 = challenge(y, p.argmax(1), classes)
        per = [
            challenge(y[a:b], p[a:b].argmax(1), classes)[0] for a, b in itertools.pairwise(edges)
        ]
        table.add_row(
            name,
            f"{score:.4f}",
            " ".join(f"{v:.3f}" for v in per),
            " / ".join(f"{v:.2f}" for v in f1),
        )

    row("network alone", p_net)
    row("rhythm trees alone", p_trees)
    for w in (0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5):
        row(f"geometric pooling, weight {w}", models_classical.pool(p_net, p_trees, w))
    for w in (0.3, 0.5):
        row(f"arithmetic mean, weight {w}", (1 - w) * p_net + w * p_trees)
    console.print(table)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(PROJECT.parent / "shared/data/cinc2017-sample"))
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--only", default="", help="run only these folds, e.g. 0,1")
    ap.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME=OVERRIDES",
        help="a configuration to compare: space-separated Hydra overrides on experiment=cinc2017",
    )
    ap.add_argument("--no-plain", action="store_true", help="skip the plain CNN")
    ap.add_argument(
        "--train-fraction",
        type=float,
        default=1.0,
        help="train on this share of each fold's training records (a learning curve)",
    )
    ap.add_argument("--keep", default="", help="keep the projects in this folder")
    ap.add_argument("--budget", action="store_true", help="time the whole DAG at full size")
    ap.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="NPZ",
        help="also the paired gain against these saved runs (--save) of the same folds",
    )
    ap.add_argument(
        "--pooling",
        default="",
        metavar="NPZ",
        help="choose train.rhythm.weight: pool these saved network-only test probabilities "
        "(--save of a run with train.rhythm.weight=0) with the rhythm trees, per weight",
    )
    ap.add_argument("--save", default="", help="write each configuration's test scores here")
    args = ap.parse_args()
    root = str(Path(args.root).resolve())
    configs = dict(c.split("=", 1) for c in args.config) or {"experiment=cinc2017": ""}
    base = ["experiment=cinc2017", f"data.root={root}", "evaluate.n_bootstrap=100"]
    console = Console(width=120)
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    if args.pooling:
        return pooling(root, Path(args.pooling), args.folds, console)
    if args.budget:
        return budget(root, next(iter(configs.values())).split(), console)

    with tempfile.TemporaryDirectory(prefix="ecgpipe-cinc-", dir=args.keep or None) as tmp:
        tmp = Path(tmp)
        projects: dict[tuple[str, ...], Path] = {}

        def project_for(overrides: list[str]) -> Path:
            data = tuple(o for o in overrides if o.startswith(DATA_SECTIONS))
            if data not in projects:
                projects[data] = tmp / f"data{len(projects)}"
                console.print(f"[bold]Data stages for {' '.join(data) or 'the preset'}...")
                build(projects[data], [*base, *overrides])
            return projects[data]

        plain_project = project_for(["preprocess.fs=100", "preprocess.spectrogram.enabled=false"])
        labels = Cache.open(plain_project / "data/processed").labels
        splits = folds(labels, args.folds, train_fraction=args.train_fraction)
        chosen = [int(i) for i in args.only.split(",")] if args.only else range(args.folds)
        classes = Cache.open(plain_project / "data/processed").classes
        results: dict[str, list[tuple]] = {}
        for c, (name, text) in enumerate(configs.items()):
            overrides = [*base, *text.split()]
            project = project_for(text.split())
            for k in chosen:
                console.print(f"[bold]{name}: fold {k + 1} of {args.folds}...")
                pl.seed_everything(0)
                where = tmp / f"config{c}-fold{k}"
                run = run_pipeline(project, overrides, splits[k], where)
                results.setdefault(name, []).append(run)
        if not args.no_plain:
            cache = Cache.open(plain_project / "data/processed")
            for k in chosen:
                console.print(f"[bold]plain CNN: fold {k + 1} of {args.folds}...")
                results.setdefault("plain CNN (issue's bar)", []).append(
                    plain_cnn(cache, splits[k])
                )

    n_train = np.mean([len(splits[k]["train"]) for k in chosen])
    table = Table(
        title=f"CinC 2017, {len(chosen)} of {args.folds} cross-validation folds of "
        f"{len(labels)} records, {n_train:.0f} training records each: challenge F1 "
        "(mean of N, A, O)"
    )
    for col in (
        "configuration",
        "per fold",
        "pooled [95% CI]",
        "F1 N / A / O / ~",
        "train s/fold",
        "full set, est.",
    ):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    for name, runs in results.items():
        y = np.concatenate([r[0] for r in runs])
        pred = np.concatenate([r[1] for r in runs])
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            probabilities = np.concatenate([r[3] for r in runs])
            np.savez(Path(args.save) / f"{name}.npz", y=y, pred=pred, p=probabilities)
        score, f1 = challenge(y, pred, classes)
        lo, hi = pooled_ci(y, pred, classes)
        seconds = float(np.mean([r[2] for r in runs]))
        full = seconds * (0.8 * FULL_SET) / n_train / 60
        table.add_row(
            name,
            " ".join(f"{challenge(r[0], r[1], classes)[0]:.3f}" for r in runs),
            f"{score:.3f} [{lo:.3f}, {hi:.3f}]",
            " / ".join(f"{v:.2f}" for v in f1),
            f"{seconds:.0f}",
            f"{full:.1f} min",
        )
    console.print(table)
    console.print(
        "full set, est.: training time per fold scaled linearly to 80% of 8,528 records "
        "(the preset's training split), on this machine."
    )
    first, *others = results
    for saved in map(Path, args.against):
        run = np.load(saved)
        results[saved.stem] = [(run["y"], run["pred"])]
        others.append(saved.stem)
    for other in others:
        gain, lo, hi, ahead = paired_gain(results[first], results[other], classes)
        console.print(
            f"{first} - {other}: {gain:+.3f} [{lo:+.3f}, {hi:+.3f}] (paired bootstrap over "
            f"records), ahead in {ahead:.0%} of the resamples"
        )
    return 0


def paired_gain(a: list[tuple], b: list[tuple], classes: list[str], n: int = 1000) -> tuple:
    """The challenge score of runs ``a`` minus that of ``b`` on the same records, its paired
    bootstrap 95% interval over records, and the share of resamples where ``a`` is ahead."""
    y = np.concatenate([r[0] for r in a])
    pa, pb = (np.concatenate([r[1] for r in runs]) for runs in (a, b))
    assert np.array_equal(y, np.concatenate([r[0] for r in b])), "not the same records"
    rng = np.random.default_rng(0)
    draws = np.array(
        [
            challenge(y[i], pa[i], classes)[0] - challenge(y[i], pb[i], classes)[0]
            for i in rng.integers(0, len(y), (n, len(y)))
        ]
    )
    gain = challenge(y, pa, classes)[0] - challenge(y, pb, classes)[0]
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return gain, lo, hi, float(np.mean(draws > 0))


if __name__ == "__main__":
    sys.exit(main())
