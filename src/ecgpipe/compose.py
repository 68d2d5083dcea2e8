"""Compose ``conf/`` into ``params.yaml`` exactly as DVC's Hydra composition does.

DVC writes ``params.yaml`` itself on ``dvc exp run``; ``ecgpipe compose`` does the same for users
who run ``dvc repro`` after editing ``conf/``. Both compose with Hydra, resolve interpolations
and dump with ``OmegaConf.to_yaml``, so the bytes match.
"""

from __future__ import annotations

from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.errors import HydraException
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ecgpipe import atomic
from ecgpipe.config import ConfigError, parse_config


def compose_yaml(conf_dir: Path, overrides: list[str] | None = None) -> str:
    """The YAML text of ``conf_dir/config.yaml`` composed with ``overrides``, validated."""
    try:
        with initialize_config_dir(str(conf_dir.resolve()), version_base=None):
            cfg = hydra_compose(config_name="config", overrides=list(overrides or []))
        OmegaConf.resolve(cfg)
    except (HydraException, OmegaConfBaseException) as err:
        raise ConfigError(f"{conf_dir}: cannot compose: {err}") from None
    parse_config(OmegaConf.to_container(cfg), origin=f"{conf_dir} composed")
    return OmegaConf.to_yaml(cfg)


def write_params(conf_dir: Path, params: Path, overrides: list[str] | None = None) -> str:
    """Compose and write ``params`` atomically; returns the text written."""
    text = compose_yaml(conf_dir, overrides)
    atomic.write_text(params, text)
    return text
