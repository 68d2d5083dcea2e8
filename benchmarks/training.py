"""Training throughput: the Lightning loop against a plain PyTorch loop, side by side.

    python benchmarks/training.py [--records 1200] [--epochs 3]

Same model (the default cnn1d), data (random 2.5 s crops from the memmap cache), batch size,
optimiser (AdamW, one-cycle) and loss. Times the training epochs after the first (warm-up) in
samples/s; validation is off in both. Target (issue 4): Lightning within 10% of the plain loop.
Exits non-zero when the target is missed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from common import build
from rich.console import Console
from rich.table import Table

from ecgpipe import models
from ecgpipe.config.parse import load_params
from ecgpipe.training import classifier
from ecgpipe.training.datamodule import ECGDataModule


class EpochTimer(pl.Callback):
    def __init__(self) -> None:
        self.times: list[float] = []

    def on_train_epoch_start(self, *_) -> None:
        self.start = time.perf_counter()

    def on_train_epoch_end(self, *_) -> None:
        self.times.append(time.perf_counter() - self.start)


def lightning_rate(module, dm: ECGDataModule, epochs: int) -> float:
    timer = EpochTimer()
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        limit_val_batches=0,
        callbacks=[timer],
    )
    trainer.fit(module, datamodule=dm)
    return samples(dm) * (epochs - 1) / sum(timer.times[1:])


def plain_rate(module, dm: ECGDataModule, epochs: int) -> float:
    loader = dm.train_dataloader()
    opt = torch.optim.AdamW(
        module.parameters(), lr=module.optimiser.lr, weight_decay=module.optimiser.weight_decay
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=module.optimiser.lr, total_steps=epochs * len(loader)
    )
    module.train()
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        for batch in loader:
            loss = module.member_loss(module(batch), batch["target"].float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        times.append(time.perf_counter() - start)
    return samples(dm) * (epochs - 1) / sum(times[1:])


def samples(dm: ECGDataModule) -> int:
    n = len(dm.rows["train"])
    return n - n % dm.cfg.batch_size  # the loader drops the last partial batch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1200)
    ap.add_argument("--epochs", type=int, default=3)
    args = ap.parse_args()
    console = Console(width=110)
    with tempfile.TemporaryDirectory(prefix="ecgpipe-bench-") as tmp:
        project = Path(tmp)
        console.print(f"[bold]Preparing {args.records} synthetic records...")
        build(
            project,
            [f"data.n_records={args.records}", "data.defect_rate=0"],
            ("prepare", "validate", "preprocess", "split"),
        )
        cfg = load_params(project / "params.yaml")
        dm = ECGDataModule(
            project / "data/processed",
            project / "data/split",
            models.INPUTS[cfg.model.name],
            cfg.train,
        )
        rates = {}
        for name, fn in (("plain PyTorch loop", plain_rate), ("Lightning Trainer", lightning_rate)):
            console.print(f"[bold]{name}: {args.epochs} epochs...")
            pl.seed_everything(0)
            rates[name] = fn(classifier.build(cfg, dm), dm, args.epochs)

    ratio = rates["Lightning Trainer"] / rates["plain PyTorch loop"]
    table = Table(
        title=f"Training throughput ({cfg.model.name}, batch {cfg.train.batch_size}, "
        f"{torch.get_num_threads()} threads)"
    )
    for col in ("loop", "samples/s", "vs plain", "target", "met"):
        table.add_column(col, justify="left" if col == "loop" else "right")
    table.add_row("plain PyTorch loop", f"{rates['plain PyTorch loop']:,.0f}", "1.00x", "", "")
    table.add_row(
        "Lightning Trainer",
        f"{rates['Lightning Trainer']:,.0f}",
        f"{ratio:.2f}x",
        ">= 0.90x",
        "[green]yes" if ratio >= 0.9 else "[red]NO",
    )
    console.print(table)
    return 0 if ratio >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
