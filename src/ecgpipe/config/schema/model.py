"""``model``: the network or classical model and its options (``conf/model/``), told apart by
``name``."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import (
    Field,
    create_model,
)

from ecgpipe.config.schema.base import Frozen

Count = Annotated[int, Field(ge=1)]
Widths = Annotated[list[Count], Field(min_length=1)]
Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
ModelInput = Literal["signal", "spectrogram", "both", "signal_features", "features"]
BEAT_INPUTS = ("signal_features", "features")
"""What heartbeat models read: a beat's window and its features, or its features alone."""


class _Options(Frozen):
    """A model's constructor options (``conf/model/<name>.yaml`` gives their values), checked
    here without torch. ``tests/models`` checks each against its constructor's signature."""

    input: ClassVar[ModelInput] = "signal"


class _ConvStackOptions(_Options):
    widths: Widths
    kernel_size: Count
    dropout: Dropout


class Cnn1dOptions(_ConvStackOptions):
    stem_stride: Count = Field(
        description="the first convolution's stride (its kernel that many times longer): a "
        "signal at a higher rate than the network works at, e.g. 3 for 300 Hz into 100 Hz"
    )


class Cnn1dRrOptions(_ConvStackOptions):
    rr_width: int = Field(ge=0, description="RR-feature embedding; 0 drops the RR features")


class BeatCnnOptions(Cnn1dRrOptions):
    input: ClassVar[ModelInput] = "signal_features"


class BeatLinearOptions(_Options):
    """A linear classifier on the beat features (de Chazal et al. 2004)."""

    input: ClassVar[ModelInput] = "features"
    method: Literal["logistic", "lda"] = Field(
        description="logistic regression, or linear discriminants (shrunk covariance)"
    )
    c: float = Field(gt=0, description="logistic: inverse strength of the L2 penalty")


class BeatGbmOptions(_Options):
    """Gradient-boosted trees on the beat features (scikit-learn's HistGradientBoosting)."""

    input: ClassVar[ModelInput] = "features"
    max_iter: Count = Field(description="boosting rounds at most; the best on validation is kept")
    learning_rate: float = Field(gt=0, le=1)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: Count
    l2_regularization: float = Field(ge=0)


class BeatEnsembleOptions(_Options):
    """One classifier per feature set of ``preprocess.beats.features``, fused by the product
    rule (Mondejar-Guerra et al. 2019)."""

    input: ClassVar[ModelInput] = "features"
    member: Literal["gbm", "linear"] = Field(
        description="each set's classifier: gradient-boosted trees, or a logistic regression"
    )
    max_iter: Count = Field(description="gbm: boosting rounds of each member")
    learning_rate: float = Field(gt=0, le=1)
    max_leaf_nodes: int = Field(ge=2)
    min_samples_leaf: Count
    l2_regularization: float = Field(ge=0)
    c: float = Field(gt=0, description="linear: inverse strength of the L2 penalty")


class ResNet1dWangOptions(_Options):
    width: Count
    blocks: Count
    kernels: tuple[Count, Count]
    stem_kernel: Count
    dropout: Dropout


class XResNet1dOptions(_Options):
    widths: Annotated[list[Count], Field(min_length=4, max_length=4)]
    kernel: Count
    dropout: Dropout


class Inception1dOptions(_Options):
    depth: Count
    filters: Count
    kernels: Widths
    bottleneck: Count
    dropout: Dropout


class Spectro2dOptions(_Options):
    input: ClassVar[ModelInput] = "spectrogram"
    widths: Widths
    dropout: Dropout


class HybridOptions(_Options):
    input: ClassVar[ModelInput] = "both"
    width_1d: Count
    widths_2d: Widths
    dropout: Dropout


MODEL_OPTIONS: dict[str, type[_Options]] = {
    "cnn1d": Cnn1dOptions,
    "cnn1d_rr": Cnn1dRrOptions,
    "resnet1d_wang": ResNet1dWangOptions,
    "xresnet1d50": XResNet1dOptions,
    "xresnet1d101": XResNet1dOptions,
    "inception1d": Inception1dOptions,
    "spectro2d": Spectro2dOptions,
    "hybrid": HybridOptions,
    "beat_cnn": BeatCnnOptions,
    "beat_linear": BeatLinearOptions,
    "beat_gbm": BeatGbmOptions,
    "beat_ensemble": BeatEnsembleOptions,
}
"""Every model ecgpipe builds, by name, and the options it takes."""
MODEL_NAMES = tuple(MODEL_OPTIONS)


class _Model(Frozen):
    """Which network, and its constructor options, checked against what it takes."""

    name: str
    options: _Options

    @property
    def input(self) -> ModelInput:
        """What the model reads (see :mod:`ecgpipe.models`)."""
        return self.options.input


ModelConfig = Annotated[
    Union[  # noqa: UP007 -- a union built from the table
        tuple(
            create_model(
                f"ModelConfig_{name}",
                __base__=_Model,
                name=(Literal[name], ...),
                options=(options, ...),
            )
            for name, options in MODEL_OPTIONS.items()
        )
    ],
    Field(discriminator="name"),
]
