"""What a trained model reads (its leads by name and in its order, its sampling rate, its classes)
and the one check of an input against it.

Every consumer of a trained network checks what it is handed with :func:`check`: fine-tuning (the
data a source's weights are to read, ``train.init_from``), resuming (the data an interrupted
training goes on with), ``predict`` and ``external@NAME`` (each record), and the served model (each
array). Leads in another order are mapped by name when every lead the model reads is there; a
missing lead, another number of unnamed leads, another rate where the input cannot be resampled,
or other classes where they must be the same, are refused in one line that says what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ecgpipe.core.errors import PipelineError
from ecgpipe.core.leads import MissingLeadError, positions


class ContractError(PipelineError):
    """An input the model cannot read as it was trained to."""


@dataclass(frozen=True)
class Reads:
    """What a model reads, or what an input holds."""

    n_leads: int
    leads: tuple[str, ...] | None = None
    """Lead names in order; None where only their number is known (an array, an old checkpoint)."""
    fs: float | None = None
    """Samples per second; None where unknown (an array is taken at the model's rate)."""
    classes: tuple[str, ...] | None = None

    @classmethod
    def of(
        cls,
        leads: Sequence[str] | None,
        fs: float | None = None,
        classes: Sequence[str] | None = None,
        n_leads: int | None = None,
    ) -> Reads:
        return cls(
            len(leads) if leads is not None else int(n_leads or 0),
            None if leads is None else tuple(leads),
            None if fs is None else float(fs),
            None if classes is None else tuple(classes),
        )

    def describe_leads(self) -> str:
        return ", ".join(self.leads) if self.leads is not None else f"{self.n_leads} leads"


def check(
    model: Reads,
    given: Reads,
    where: str,
    subject: str = "this data",
    *,
    resampled: bool = False,
    more_leads: bool = False,
    same_classes: bool = False,
) -> tuple[int, ...] | None:
    """Check ``given`` against what ``model`` reads; the positions of the model's leads among
    ``given``'s (mapped by name), or None where they are already in the model's order.

    Args:
        where: who says it (``train.init_from=...``, a checkpoint or record path), the message's
            start.
        subject: what ``given`` is, in the message (``this data``, ``the record``).
        resampled: ``given`` is resampled to the model's rate (``predict``); else its rate
            must be the model's.
        more_leads: ``given`` may hold leads the model does not read (a record); else the
            leads must be the same, in any order.
        same_classes: ``given``'s classes must be the model's (resuming).

    Raises:
        ContractError: one line naming ``where``, what differs and what to do.
    """
    said = f"{where} was trained on {model.describe_leads()}"
    if model.leads is None or given.leads is None:
        if model.n_leads != given.n_leads:
            raise ContractError(
                f"{said}; {subject} has {given.describe_leads()}: the first layer cannot take them"
            )
        order = None
    else:
        try:
            found = positions(given.leads, model.leads)
        except MissingLeadError as err:
            raise ContractError(
                f"{said}; {subject} lacks {', '.join(err.missing)} "
                f"(it has {given.describe_leads()})"
            ) from None
        if not more_leads and len(found) != given.n_leads:
            raise ContractError(
                f"{said}; {subject} has {given.describe_leads()}: set "
                f"preprocess.leads=[{','.join(model.leads)}] to keep the model's"
            )
        order = None if found == tuple(range(given.n_leads)) else found
    if not resampled and None not in (model.fs, given.fs) and abs(model.fs - given.fs) > 1e-6:
        raise ContractError(
            f"{where} was trained at {model.fs:g} Hz; {subject} is at {given.fs:g} Hz: set "
            f"preprocess.fs={model.fs:g}"
        )
    classes = None not in (model.classes, given.classes)
    if same_classes and classes and model.classes != given.classes:
        raise ContractError(
            f"{where} was trained for the classes {', '.join(model.classes)}; {subject} has "
            f"{', '.join(given.classes)}"
        )
    return order
