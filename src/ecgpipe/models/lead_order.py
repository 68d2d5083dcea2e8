"""A network that reads its leads in another order than its input gives them.

A network fine-tuned from one trained on the same leads in another order keeps its weights as
they were trained; a forward pre-hook (:class:`LeadOrder`) puts the input's leads (axis 1 of the
signal (B, leads, T) and of the spectrogram (B, leads, F, T'); per-row features (B, K) pass as
they are) into the order the weights read. It works for every network of the zoo, whatever its
first layers, and the served model's contract stays the input's order: ``predict`` maps a
record's leads onto it by name, and the network sees each lead where it was trained to.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class LeadOrder:
    """The forward pre-hook: input lead ``order[j]`` becomes the weights' lead ``j``."""

    def __init__(self, order: Sequence[int]) -> None:
        self.order = tuple(int(i) for i in order)

    def __call__(self, _: nn.Module, inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        index = list(self.order)
        return tuple(x[:, index] if x.ndim >= 3 else x for x in inputs)


def reorder(net: nn.Module, order: Sequence[int] | None) -> nn.Module:
    """``net`` reading its input's lead ``order[j]`` as its lead ``j`` (none, or the identity:
    in the input's order), in place of any order it had; returns ``net``."""
    hooks = net._forward_pre_hooks
    for key in [k for k, h in hooks.items() if isinstance(h, LeadOrder)]:
        del hooks[key]
    if order is not None and tuple(order) != tuple(range(len(order))):
        net.register_forward_pre_hook(LeadOrder(order))
    return net


def input_order(net: nn.Module) -> tuple[int, ...] | None:
    """The order :func:`reorder` gave ``net``, or None."""
    hooks = getattr(net, "_forward_pre_hooks", {}).values()
    return next((h.order for h in hooks if isinstance(h, LeadOrder)), None)


def weights_leads(net: nn.Module, leads: Sequence[str]) -> tuple[str, ...]:
    """The leads ``net``'s weights read, in their order, when its input holds ``leads``."""
    order = input_order(net)
    return tuple(leads) if order is None else tuple(leads[i] for i in order)
