"""Reading ``params.yaml`` into a :class:`~ecgpipe.config.schema.Config`, before any work starts.

Pydantic's errors become one line per offending key; an unknown key says what its section takes
(the group option that has it, or the keys closest to it) and, given ``set_by``, who set it.
A key that moved to another section is refused with its new name (:data:`MOVED`).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ecgpipe.config.schema import MODEL_NAMES, Config, ConfigError, DataConfig, ModelConfig

DATA_NAMES = ("synthetic", "ptbxl", "cinc2017", "wfdb_folder", "mitdb")
_TAGS = {"data": DATA_NAMES, "model": MODEL_NAMES}
_TAGGED: dict[str, dict[str, type[BaseModel]]] = {
    group: {
        model.model_fields["name"].annotation.__args__[0]: model  # type: ignore[union-attr]
        for model in union.__args__
    }
    for group, union in (("data", DataConfig.__origin__), ("model", ModelConfig.__origin__))
}

MOVED = {
    f"train.{key}": f"trainer.{key}{hint}"
    for key, hint in {
        "accelerator": " (or trainer=gpu, trainer=cpu)",
        "devices": " (or trainer=ddp)",
        "strategy": " (or trainer=ddp)",
        "precision": "",
        "deterministic": "",
        "fast_dev_run": " (or debug=fdr)",
        "limit_train_batches": "",
        "limit_val_batches": "",
    }.items()
}
"""Old keys and where they went: Lightning's Trainer arguments have their own group."""


def parse_config(
    raw: Any, *, origin: str = "params", set_by: Callable[[str], str | None] | None = None
) -> Config:
    """Validate a plain mapping; errors name every offending key (and, for an unknown key,
    what ``set_by`` says set it)."""
    if not isinstance(raw, dict):
        kind = type(raw).__name__
        raise ConfigError(f"{origin}: expected a mapping at the top level, got {kind}")
    for old, new in MOVED.items():
        section, key = old.split(".")
        if isinstance(raw.get(section), dict) and key in raw[section]:
            raise ConfigError(f"{origin}: {old}: moved to {new}")
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        lines = []
        for e in err.errors():
            loc = [str(p) for p in e["loc"]]
            tag = loc.pop(1) if len(loc) > 1 and loc[1] in _TAGS.get(loc[0], ()) else None
            key = ".".join(loc)
            if e["type"] == "extra_forbidden":
                msg = _unknown(loc, tag)
                if set_by is not None and (source := set_by(key)):
                    msg += f"; {source} sets it"
            else:
                msg = e["msg"].removeprefix("Value error, ")
                if e["type"] != "value_error" and isinstance(e.get("input"), str | int | float):
                    msg += f" (got {e['input']!r})"
            lines.append(f"  {key}: {msg}" if loc else f"  {msg}")
        if len(lines) == 1:
            raise ConfigError(f"{origin}: {lines[0].strip()}") from None
        raise ConfigError(f"{origin}: invalid configuration\n" + "\n".join(lines)) from None


def _section(loc: list[str], tag: str | None) -> type[BaseModel] | None:
    """The config class that holds the key at ``loc`` (its last part), if any."""
    model: type[BaseModel] = Config
    for i, part in enumerate(loc[:-1]):
        if i == 0 and part in _TAGS:
            if tag is None:
                return None
            model = _TAGGED[part][tag]
            continue
        field = model.model_fields.get(part) or next(
            (f for f in model.model_fields.values() if f.alias == part), None
        )
        kind = getattr(field, "annotation", None)
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return None
        model = kind
    return model


def _unknown(loc: list[str], tag: str | None) -> str:
    """ "unknown key", with what the section takes: the group option that has the key, or the
    known keys closest to it."""
    key, section = loc[-1], _section(loc, tag)
    if section is None:
        return "unknown key"
    if loc[0] in _TAGS and tag is not None and len(loc) == 2:
        owners = [n for n, c in _TAGGED[loc[0]].items() if key in c.model_fields]
        if owners:
            return f"unknown key for {loc[0]}={tag}; it is a key of " + " and ".join(
                f"{loc[0]}={n}" for n in owners
            )
    known = [n for n, f in section.model_fields.items() if n != "name"]
    close = difflib.get_close_matches(key, known, n=3)
    hint = f"did you mean {' or '.join(close)}?" if close else f"it takes {', '.join(known)}"
    return f"unknown key ({hint})"


def load_params(path: str | Path = "params.yaml") -> Config:
    """Read and validate ``params.yaml``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: not found; run `ecgpipe compose` to write it from conf/")
    try:  # bytes: YAML's reader takes a byte-order mark, UTF-16, and refuses what is not text
        raw = yaml.safe_load(path.read_bytes())
    except yaml.YAMLError as err:
        raise ConfigError(
            f"{path}: not valid YAML ({_yaml_problem(err)}); fix it, or run `ecgpipe compose` "
            "to write it again from conf/"
        ) from None
    return parse_config(raw, origin=str(path))


def _yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML error in one line: what is wrong, and where."""
    if isinstance(err, yaml.reader.ReaderError):
        return f"not UTF-8 or UTF-16 text at byte {err.position}"
    problem = getattr(err, "problem", None) or getattr(err, "context", None) or "unreadable"
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"{problem}{where}"
