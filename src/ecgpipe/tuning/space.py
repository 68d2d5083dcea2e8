"""The search space: ``hydra.sweeper.params`` and the command line's sweep overrides, in Hydra's
sweep syntax, parsed by Hydra's own override parser into Optuna distributions.

- ``interval(a, b)``: a float in [a, b]; ``tag(log, interval(a, b))`` on a log scale;
  ``int(interval(a, b))``: an integer.
- ``range(a, b[, step])``: integers from a up to b, excluded (as Python's ``range``).
- ``choice(x, y)`` or ``x,y``: one of the values.

Anything else (``model=resnet1d_wang``) is passed to every trial unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import (
    ChoiceSweep,
    IntervalSweep,
    Override,
    RangeSweep,
    Transformer,
)
from hydra.errors import HydraException
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from ecgpipe.core.errors import PipelineError


@dataclass
class SearchSpace:
    """Optuna's distributions by parameter (``train.lr``), the override key of each
    (``+model.options.dropout`` keeps its ``+``), and the overrides every trial gets."""

    distributions: dict[str, BaseDistribution] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    fixed: list[str] = field(default_factory=list)

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """A trial's overrides: its sampled values, then the fixed ones."""
        return [f"{self.keys[name]}={value}" for name, value in params.items()] + self.fixed


def parse(params: Mapping[str, Any] | None, arguments: Sequence[str]) -> SearchSpace:
    """The space of ``hydra.sweeper.params`` and the command line (``arguments``), which wins
    where both name a key."""
    lines = [f"{k}={v}" for k, v in (params or {}).items()] + list(arguments)
    try:
        parsed = OverridesParser.create().parse_overrides(lines)
    except HydraException as err:
        raise PipelineError(f"hydra.sweeper.params: {err}".splitlines()[0]) from None
    space = SearchSpace()
    fixed: dict[str, str] = {}
    for override in parsed:
        name = override.key_or_group
        space.distributions.pop(name, None)
        fixed.pop(name, None)
        if override.is_sweep_override():
            space.distributions[name] = distribution(override)
            space.keys[name] = override.get_key_element()
        else:
            fixed[name] = override.input_line or f"{name}={override.get_value_string()}"
    space.fixed = list(fixed.values())
    if not space.distributions:
        raise PipelineError(
            "hydra.sweeper.params: the search space is empty; give dimensions such as "
            "train.lr: tag(log, interval(3e-4, 3e-2))"
        )
    return space


def distribution(override: Override) -> BaseDistribution:
    """The Optuna distribution of one sweep override."""
    value = override.value()
    key = override.key_or_group
    if isinstance(value, IntervalSweep):
        log = "log" in value.tags
        if isinstance(value.start, int) and isinstance(value.end, int):
            return IntDistribution(value.start, value.end, log=log)
        return FloatDistribution(float(value.start), float(value.end), log=log)
    if isinstance(value, RangeSweep) and not value.shuffle and _ints(value):
        last = value.start + (value.stop - 1 - value.start) // value.step * value.step
        if last < value.start:
            raise PipelineError(f"{key}: {override.input_line} is empty")
        return IntDistribution(value.start, last, step=value.step)
    if isinstance(value, RangeSweep | ChoiceSweep):
        choices = list(override.sweep_iterator(transformer=Transformer.encode))
        if not choices:
            raise PipelineError(f"{key}: {override.input_line} has no values")
        return CategoricalDistribution(choices)
    raise PipelineError(f"{key}: {override.input_line}: not a search dimension Optuna can sample")


def _ints(value: RangeSweep) -> bool:
    return all(isinstance(v, int) for v in (value.start, value.stop, value.step))
