"""The trainer takes ``trainer``'s keys as Lightning's own arguments, refuses what is not one in a
line naming the key, and its fit ends with the best epoch's classifier (or, with
``fast_dev_run``, the last weights)."""

import logging
from pathlib import Path

import pytest
import torch

from ecgpipe.config.compose import compose_config
from ecgpipe.config.schema import Config, ConfigError
from ecgpipe.training import classifier, trainer
from ecgpipe.training.classifier import load_checkpoint
from tests.conftest import PROJECT

from .test_datamodule import LENGTHS, dm, make_cache

UNKNOWN = "not an argument of Lightning's Trainer"
SMALL = ("model.options.widths=[4]", "model.options.kernel_size=3", "train.monitor=val/loss")


def config(*overrides: str) -> Config:
    return compose_config(PROJECT / "conf", [*SMALL, "trainer=cpu", *overrides])


def test_further_lightning_arguments_pass_through(tmp_path: Path):
    cfg = config("+trainer.gradient_clip_val=0.5", "+trainer.accumulate_grad_batches=2")
    built = trainer.make(cfg, False, tmp_path)
    assert (built.gradient_clip_val, built.accumulate_grad_batches) == (0.5, 2)
    assert built.max_epochs == cfg.train.max_epochs


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+trainer.acelerator=cpu", f"trainer.acelerator: {UNKNOWN} (did you mean accelerator?)"),
        ("+trainer.max_epochs=3", "trainer.max_epochs: not a trainer key here: set train.max_"),
        ("+trainer.callbacks=[]", "trainer.callbacks: not a trainer key here: ecgpipe sets them"),
    ],
)
def test_a_key_lightning_does_not_take_here_is_one_line_naming_it(tmp_path, override, message):
    with pytest.raises(ConfigError) as err:
        trainer.make(config(override), False, tmp_path)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


def test_the_fit_keeps_the_best_epoch(tmp_path: Path, caplog):
    cfg = config("train.max_epochs=2", "trainer.limit_train_batches=1")
    data = dm(make_cache(tmp_path, LENGTHS), batch_size=4)
    torch.manual_seed(0)
    module = classifier.build(cfg, data)
    built = trainer.make(cfg, False, tmp_path / "checkpoints")
    with caplog.at_level(logging.INFO, logger="ecgpipe"):
        best, value = trainer.fit(built, module, data, tmp_path / "best.ckpt")
    checkpoint = built.checkpoint_callback
    assert value == pytest.approx(float(checkpoint.best_model_score))
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()  # to resume from
    kept = load_checkpoint(tmp_path / "best.ckpt")
    for a, b in zip(best.state_dict().values(), kept.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)
    epochs = [r.message for r in caplog.records if r.message.startswith("epoch ")]
    assert len(epochs) == 2 and "val/loss" in epochs[0]  # a line per epoch without a terminal


def test_fast_dev_run_keeps_the_last_weights(tmp_path: Path):
    """``debug=fdr``: one batch through fitting and validation; no checkpoint is kept by
    Lightning, so the last weights are."""
    cfg = config("debug=fdr")
    assert cfg.trainer.fast_dev_run == 1
    data = dm(make_cache(tmp_path, LENGTHS), batch_size=4)
    module = classifier.build(cfg, data)
    built = trainer.make(cfg, False, tmp_path / "checkpoints")
    fitted, _ = trainer.fit(built, module, data, tmp_path / "best.ckpt")
    assert fitted is module and built.global_step == 1
    kept = load_checkpoint(tmp_path / "best.ckpt")
    torch.testing.assert_close(kept.net.state_dict(), module.net.state_dict())
