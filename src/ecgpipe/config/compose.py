"""Compose ``conf/`` into ``params.yaml`` exactly as DVC's Hydra composition does.

DVC writes ``params.yaml`` itself on ``dvc exp run``; ``ecgpipe compose`` does the same for users
who run ``dvc repro`` after editing ``conf/``. Both compose with Hydra, resolve interpolations
and dump with ``OmegaConf.to_yaml``, so the bytes match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from hydra import compose as hydra_compose
from hydra import initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ecgpipe.config.parse import parse_config
from ecgpipe.config.schema import Config, ConfigError
from ecgpipe.core import atomic


def _hydra(conf_dir: Path, overrides: list[str], with_hydra: bool = False) -> DictConfig:
    try:
        with initialize_config_dir(str(conf_dir.resolve()), version_base=None):
            return hydra_compose(
                config_name="config", overrides=overrides, return_hydra_config=with_hydra
            )
    except (HydraException, OmegaConfBaseException) as err:
        if (key := _NEW_KEY.match(str(err))) and (adding := _appending(overrides, key[1])):
            return _hydra(conf_dir, adding, with_hydra)  # for parse_config to name the key
        text = str(err).split("Config search path")[0]  # Hydra's own search path: noise here
        why = "; ".join(line.strip() for line in text.splitlines() if line.strip())
        raise ConfigError(f"{conf_dir}: cannot compose: {why}") from None


_NEW_KEY = re.compile(r"Could not override '([^']+)'\.\s*To append to your config use")


def _appending(overrides: list[str], key: str) -> list[str] | None:
    """``overrides`` with the one that sets ``key`` made to add it, if there is one to change."""
    hits = [i for i, o in enumerate(overrides) if o.partition("=")[0] == key]
    if not hits:
        return None
    return [f"+{o}" if i in hits else o for i, o in enumerate(overrides)]


def _compose(conf_dir: Path, overrides: list[str] | None) -> tuple[DictConfig, Config]:
    overrides = list(overrides or [])
    cfg = _hydra(conf_dir, overrides)
    try:
        OmegaConf.resolve(cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{conf_dir}: cannot compose: {err}") from None
    origin = f"{conf_dir} composed"
    raw = OmegaConf.to_container(cfg)
    return cfg, parse_config(raw, origin=origin, set_by=_setter(conf_dir, overrides))


def _setter(conf_dir: Path, overrides: list[str]) -> Callable[[str], str | None]:
    """What sets a dotted key: an override, or the group option (``debug=tiny``) whose file
    does."""

    def set_by(key: str) -> str | None:
        for o in overrides:
            if o.lstrip("+~").partition("=")[0] == key:
                return f"the override {o}"
        try:
            choices = _hydra(conf_dir, overrides, with_hydra=True).hydra.runtime.choices
        except ConfigError:
            return None
        for group, choice in choices.items():
            file = conf_dir / group / f"{choice}.yaml"
            if group.startswith("hydra") or choice is None or not file.is_file():
                continue
            text = file.read_text()
            path = key if "@package _global_" in text else key.removeprefix(f"{group}.")
            if path != key or "@package _global_" in text:
                found = OmegaConf.select(OmegaConf.create(text), path, default=_ABSENT)
                if found is not _ABSENT:
                    return f"{group}={choice}"
        return None

    return set_by


_ABSENT = object()


def compose_yaml(conf_dir: Path, overrides: list[str] | None = None) -> str:
    """The YAML text of ``conf_dir/config.yaml`` composed with ``overrides``, validated."""
    return OmegaConf.to_yaml(_compose(conf_dir, overrides)[0])


def compose_config(conf_dir: Path, overrides: list[str] | None = None) -> Config:
    """``conf_dir/config.yaml`` composed with ``overrides``, as the stages would read it."""
    return _compose(conf_dir, overrides)[1]


def write_params(conf_dir: Path, params: Path, overrides: list[str] | None = None) -> str:
    """Compose and write ``params`` atomically; returns the text written."""
    text = compose_yaml(conf_dir, overrides)
    atomic.write_text(params, text)
    return text
