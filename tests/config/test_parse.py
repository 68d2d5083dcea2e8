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


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode(),
        lambda text: text.replace("\n", "\r\n").encode(),
        lambda text: text.encode("utf-16"),
    ],
    ids=["bom", "crlf", "utf16"],
)
def test_a_re_encoded_params_yaml_reads_as_the_same_configuration(tmp_path: Path, encode):
    params = tmp_path / "params.yaml"
    params.write_text(compose_yaml(PROJECT / "conf"))
    reference = load_params(params)
    params.write_bytes(encode(params.read_text()))
    assert load_params(params) == reference


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"train:\n  lr: 0.1\n\x9d\xff: 1\n", "not UTF-8 or UTF-16 text at byte"),
        (b"train:\n  lr: 0.1\n  crop_", "could not find expected ':' at line 3, column 8"),
        (b"data: [unclosed\n", "at line 2, column 1"),
    ],
)
def test_a_damaged_params_yaml_is_one_line_naming_it(tmp_path: Path, data: bytes, why: str):
    params = tmp_path / "params.yaml"
    params.write_bytes(data)
    with pytest.raises(ConfigError) as err:
        load_params(params)
    line = str(err.value)
    assert "\n" not in line and line.startswith(f"{params}: not valid YAML (") and why in line
    assert line.endswith("run `ecgpipe compose` to write it again from conf/")
