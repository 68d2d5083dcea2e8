"""params.yaml must equal the composition of conf/, byte for byte what DVC would write."""

from pathlib import Path

import pytest
import yaml
from dvc.utils.hydra import compose_and_dump

from ecgpipe.compose import compose_yaml, write_params
from ecgpipe.config import ConfigError, parse_config

from .conftest import PROJECT


def test_committed_params_equal_the_composition_of_conf():
    composed = compose_yaml(PROJECT / "conf")
    committed = (PROJECT / "params.yaml").read_text()
    assert committed == composed, "params.yaml drifted from conf/: run `ecgpipe compose`"


@pytest.mark.parametrize("overrides", [[], ["data=ptbxl", "data.root=/data/ptb-xl"]])
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
