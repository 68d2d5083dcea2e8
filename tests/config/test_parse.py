"""A key that moved to another section is refused with its new name, in one line, whether an old
``params.yaml`` or an old override carries it."""

import re
from pathlib import Path

import pytest
import yaml

from ecgpipe.config.compose import compose_config, compose_yaml
from ecgpipe.config.parse import MOVED, load_params, parse_config
from ecgpipe.config.schema import ConfigError

from ..conftest import PROJECT


def _defaults() -> dict:
    return yaml.safe_load(compose_yaml(PROJECT / "conf"))


def test_an_old_params_yaml_names_the_new_key(tmp_path: Path):
    raw = _defaults()
    raw["train"]["accelerator"] = "gpu"
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as err:
        load_params(params)
    assert str(err.value) == (
        f"{params}: train.accelerator: moved to trainer.accelerator (or trainer=gpu, trainer=cpu)"
    )


@pytest.mark.parametrize("old", sorted(MOVED))
def test_every_moved_key_is_refused_with_its_new_home(old: str):
    raw = _defaults()
    section, key = old.split(".")
    raw[section][key] = raw["trainer"][key]  # the new home holds the key
    with pytest.raises(ConfigError, match=rf"^params: {re.escape(old)}: moved to trainer\.{key}"):
        parse_config(raw)


def test_an_old_override_names_the_new_key():
    with pytest.raises(ConfigError, match=r"train\.fast_dev_run: moved to trainer\.fast_dev_run"):
        compose_config(PROJECT / "conf", ["train.fast_dev_run=true"])
