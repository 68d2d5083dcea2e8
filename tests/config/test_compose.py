"""params.yaml must equal the composition of conf/, byte for byte what DVC would write."""

from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import compose_and_dump

from ecgpipe.config.compose import compose_config, compose_yaml, write_params
from ecgpipe.config.parse import parse_config
from ecgpipe.config.schema import ConfigError

from ..conftest import PROJECT


def test_committed_params_equal_the_composition_of_conf():
    composed = compose_yaml(PROJECT / "conf")
    committed = (PROJECT / "params.yaml").read_text()
    assert committed == composed, "params.yaml drifted from conf/: run `ecgpipe compose`"


@pytest.mark.parametrize(
    "overrides",
    [[], ["data=ptbxl", "data.root=/data/ptb-xl"], ["experiment=cinc2017", "data.root=/c"]],
)
def test_compose_writes_what_dvc_writes(tmp_path: Path, overrides):
    ours, theirs = tmp_path / "ours.yaml", tmp_path / "params.yaml"
    write_params(PROJECT / "conf", ours, overrides)
    compose_and_dump(theirs, str(PROJECT / "conf"), None, "config", str(tmp_path), overrides)
    assert ours.read_bytes() == theirs.read_bytes()


def test_overrides_resolve_interpolations():
    cfg = parse_config(
        yaml.safe_load(compose_yaml(PROJECT / "conf", ["data=ptbxl", "data.root=/r"]))
    )
    assert (cfg.data.root, cfg.data.source) == ("/r", "/r")


def test_bad_override_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot compose"):
        compose_yaml(PROJECT / "conf", ["data=nonexistent"])
    with pytest.raises(ConfigError, match=r"validate\.policy"):
        compose_yaml(PROJECT / "conf", ["validate.policy=sometimes"])


def test_experiment_presets_set_a_whole_protocol():
    def composed(*overrides):
        return parse_config(yaml.safe_load(compose_yaml(PROJECT / "conf", list(overrides))))

    cinc = composed("experiment=cinc2017", "data.root=/data/cinc")
    assert (cinc.data.name, cinc.data.root, cinc.split.strategy) == (
        "cinc2017",
        "/data/cinc",
        "stratified",
    )
    assert cinc.split.ratios == {"train": 0.8, "val": 0.1, "test": 0.1}
    assert cinc.monitor == "val/cinc2017_f1" and cinc.loss == "ce"
    ptbxl = composed("experiment=ptbxl_superdiagnostic", "data.root=/data/ptbxl")
    assert (ptbxl.data.name, ptbxl.data.task, ptbxl.split.strategy) == (
        "ptbxl",
        "superdiagnostic",
        "folds",
    )
    assert (ptbxl.split.train_folds, ptbxl.split.val_folds, ptbxl.split.test_folds) == (
        [1, 2, 3, 4, 5, 6, 7, 8],
        [9],
        [10],
    )
    assert (ptbxl.train.crop_s, ptbxl.train.eval_window_s, ptbxl.train.eval_stride_s) == (
        2.5,
        2.5,
        1.25,
    )
    assert ptbxl.train.aggregate == "max" and ptbxl.monitor == "val/macro_auroc"
    assert composed("experiment=cinc2017", "train.lr=1e-4").train.lr == 1e-4  # still overridable


@pytest.mark.parametrize(
    ("option", "changes"),
    [
        ("cpu", {"accelerator": "cpu"}),
        ("gpu", {"accelerator": "gpu", "devices": 1}),
        ("ddp", {"devices": 2, "strategy": "ddp"}),
    ],
)
def test_a_trainer_option_is_the_default_with_its_changes(option, changes):
    default = compose_config(PROJECT / "conf").trainer.model_dump()
    chosen = compose_config(PROJECT / "conf", [f"trainer={option}"]).trainer.model_dump()
    assert chosen == default | changes


def test_any_further_trainer_argument_is_one_override():
    for override in ("+trainer.gradient_clip_val=1.0", "trainer.gradient_clip_val=1.0"):
        cfg = compose_config(PROJECT / "conf", [override])
        assert cfg.trainer.model_dump()["gradient_clip_val"] == 1.0


def test_debug_fdr_is_debug_tiny_with_fast_dev_run():
    tiny = compose_config(PROJECT / "conf", ["debug=tiny"])
    fdr = compose_config(PROJECT / "conf", ["debug=fdr"])
    assert fdr.trainer.fast_dev_run == 1
    assert fdr.model_copy(update={"trainer": tiny.trainer}) == tiny
