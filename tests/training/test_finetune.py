"""Fine-tuning from another network: what is kept, what starts afresh, what is refused."""

from __future__ import annotations

import pytest
import torch

from ecgpipe import models
from ecgpipe.core.errors import PipelineError
from ecgpipe.training import finetune

LEADS = ("I", "II", "V1")
OPTIONS = {"widths": [8, 16], "kernel_size": 7, "dropout": 0.1, "stem_stride": 1}


def net(n_classes: int, leads: int = 3) -> torch.nn.Module:
    return models.build("cnn1d", leads, n_classes, 100.0, **OPTIONS)


def source(n_classes: int = 5, **changes) -> finetune.Source:
    trained = net(n_classes)
    fields = {
        "ref": "runs:/abc/model",
        "model": "cnn1d",
        "n_leads": 3,
        "leads": LEADS,
        "fs": 100.0,
        "classes": tuple("ABCDE"[:n_classes]),
        "state": trained.state_dict(),
        "run_id": "abc",
    }
    return finetune.Source(**(fields | changes))


def test_the_same_classes_keep_the_whole_network():
    start, target = source(), net(5)
    assert finetune.start_from(start, target, "cnn1d", LEADS, 100.0, tuple("ABCDE")) == (
        True,
        None,
    )
    for key, value in target.state_dict().items():
        torch.testing.assert_close(value, start.state[key])


def test_other_classes_keep_the_backbone_and_start_the_head_afresh():
    start, target = source(), net(2)
    fresh = {k: v.clone() for k, v in target.state_dict().items()}
    kept, order = finetune.start_from(start, target, "cnn1d", LEADS, 100.0, ("NORM", "ABN"))
    assert not kept and order is None
    state = target.state_dict()
    heads = [k for k in state if finetune.is_head(k)]
    assert heads and len(heads) < len(state)
    for key, value in state.items():
        want = fresh[key] if finetune.is_head(key) else start.state[key]
        torch.testing.assert_close(value, want, msg=key)


@pytest.mark.parametrize(
    ("changes", "args", "message"),
    [
        ({"model": "resnet1d_wang"}, {}, "is a resnet1d_wang; this training's model is cnn1d"),
        (
            {},
            {"leads": ("I", "II", "V2")},
            r"was trained on I, II, V1; this data lacks V1 \(it has I, II, V2\)",
        ),
        (
            {},
            {"leads": ("V2", "II", "V3")},
            r"was trained on I, II, V1; this data lacks I, V1 \(it has V2, II, V3\)",
        ),
        (
            {},
            {"leads": ("V1", "II", "V2", "I")},
            r"this data has V1, II, V2, I: set preprocess.leads=\[I,II,V1\] to keep the model's",
        ),
        (
            {"leads": None},
            {"leads": ("I", "II")},
            "was trained on 3 leads; this data has I, II: the first layer cannot take them",
        ),
        ({}, {"fs": 500.0}, "trained at 100 Hz; this data is at 500 Hz"),
    ],
)
def test_a_source_for_other_data_is_refused_with_the_reason(changes, args, message):
    call = {"model": "cnn1d", "leads": LEADS, "fs": 100.0} | args
    with pytest.raises(finetune.FineTuneError, match=message):
        finetune.start_from(
            source(**changes), net(5), call["model"], call["leads"], call["fs"], tuple("ABCDE")
        )


def test_the_same_leads_in_another_order_are_mapped_by_name():
    """The data's leads in another order (names matched as ``predict`` matches a record's):
    the weights are kept as trained, and the order says where each of their leads is."""
    start, target = source(), net(5)
    kept, order = finetune.start_from(
        start, target, "cnn1d", ("v1", "I", "II"), 100.0, tuple("ABCDE")
    )
    assert kept and order == (1, 2, 0)
    for key, value in target.state_dict().items():
        torch.testing.assert_close(value, start.state[key])


def test_a_source_with_other_options_is_refused():
    other = models.build("cnn1d", 3, 5, 100.0, **(OPTIONS | {"widths": [8, 32]}))
    with pytest.raises(finetune.FineTuneError, match="were the model's options changed"):
        finetune.start_from(
            source(state=other.state_dict()), net(5), "cnn1d", LEADS, 100.0, tuple("ABCDE")
        )


def test_a_checkpoint_of_random_bytes_is_named_as_the_users_file(tmp_path):
    """Not torch's message, nor "rebuild it": the file is the user's."""
    path = tmp_path / "x.ckpt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(PipelineError) as err:
        finetune.from_checkpoint(str(path), tmp_path)
    assert str(err.value) == (
        f"train.init_from={path}: not a checkpoint ecgpipe can read (truncated, or another "
        "program's file); give a checkpoint `ecgpipe train` wrote (models/best.ckpt), "
        "runs:/ID/model or models:/NAME@ALIAS"
    )


def test_a_missing_checkpoint_names_what_to_give(tmp_path):
    with pytest.raises(finetune.FineTuneError, match=r"no such checkpoint; give a \.ckpt file"):
        finetune.from_checkpoint("nowhere.ckpt", tmp_path)


def test_the_backbone_is_frozen_for_the_first_epochs_only():
    class Trainer:
        current_epoch = 0

    module = torch.nn.Module()
    module.net = net(2)
    freeze = finetune.FreezeBackbone(1)
    freeze.on_train_epoch_start(Trainer(), module)  # type: ignore[arg-type]
    trainable = {k for k, p in module.named_parameters() if p.requires_grad}
    assert trainable and all(finetune.is_head(k) for k in trainable)
    Trainer.current_epoch = 1
    freeze.on_train_epoch_start(Trainer(), module)  # type: ignore[arg-type]
    assert all(p.requires_grad for p in module.parameters())
