"""``preprocess``: filtering, resampling, beats and the cache (``conf/preprocess/``)."""

from __future__ import annotations

from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from ecgpipe.config.schema.base import Frozen


class BandpassConfig(Frozen):
    enabled: bool
    low_hz: float = Field(gt=0)
    high_hz: float = Field(gt=0)
    order: int = Field(ge=1, le=10)

    @model_validator(mode="after")
    def _band(self) -> BandpassConfig:
        if self.low_hz >= self.high_hz:
            raise ValueError(f"low_hz ({self.low_hz}) must be below high_hz ({self.high_hz})")
        return self


class NotchConfig(Frozen):
    enabled: bool
    freq_hz: float = Field(gt=0)
    quality: float = Field(gt=0)


class SpectrogramConfig(Frozen):
    enabled: bool
    window: int = Field(ge=4, description="Hann window, samples")
    overlap: float = Field(ge=0.0, lt=1.0)
    f_min: float = Field(ge=0.0)
    f_max: float = Field(gt=0.0)


BEAT_FEATURE_SETS = (
    "rr", "relative", "full", "robust", "de_chazal", "wavelet", "hos", "lbp", "hermite",
)  # fmt: skip
"""What ``preprocess.beats.features`` joins with ``+`` (:mod:`ecgpipe.processing.beat_features`)."""
ADAPTABLE_SETS = ("rr", "relative", "full", "robust")
"""The sets relative to a reference that a record's normal beats can give (``evaluate.adapt``)."""


class BeatsConfig(Frozen):
    """Beat datasets (``data=mitdb``): the window cut around each annotated R peak, and the
    features beside it (:mod:`ecgpipe.processing.beat_features`)."""

    before_s: float = Field(gt=0, description="window start, before the R peak")
    after_s: float = Field(gt=0, description="window end, after the R peak")
    rr_context: int = Field(
        ge=1, description="beats in the local rhythm: the last ones (mean), each side (median)"
    )
    features: str = Field(
        description="rr: five RR features; relative: RR and morphology relative to the record's "
        "own rhythm and dominant beat; full: those, absolute ones and waveform samples; robust: "
        "RR against the minutes around the beat, its rhythm context and morphology against the "
        "record's non-premature beats, whatever the share of ectopic beats; de_chazal, wavelet, "
        "hos, lbp, hermite: the literature's morphology descriptors; sets join with + "
        "(robust+wavelet+hos)"
    )

    @field_validator("features")
    @classmethod
    def _known_sets(cls, value: str) -> str:
        names = value.split("+")
        if unknown := [n for n in names if n not in BEAT_FEATURE_SETS]:
            raise ValueError(
                f"{unknown} are not beat feature sets ({', '.join(BEAT_FEATURE_SETS)})"
            )
        if len(set(names)) < len(names):
            raise ValueError(f"a set is named twice in {value!r}")
        return value


class PreprocessConfig(Frozen):
    """Filtering, resampling and caching of every kept record into memory-mapped arrays."""

    fs: int = Field(gt=0, description="output sampling rate, Hz")
    duration_s: float | None = Field(
        gt=0, description="pad or crop every record to this; null = keep each one's length"
    )
    leads: list[str] | None = Field(description="leads to keep, in order; null = all")
    bandpass: BandpassConfig
    notch: NotchConfig
    spectrogram: SpectrogramConfig
    beats: BeatsConfig
    dtype: Literal["float32", "float16"]
    workers: int = Field(ge=0, description="processes; 0 = all cores")
    chunk_size: int = Field(ge=1, description="records per task")

    @field_validator("leads")
    @classmethod
    def _some_leads(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("an empty list keeps no lead (null means all leads)")
        return value

    @model_validator(mode="after")
    def _fits_nyquist(self) -> PreprocessConfig:
        nyquist = self.fs / 2
        if self.bandpass.enabled and self.bandpass.high_hz >= nyquist:
            raise ValueError(
                f"bandpass.high_hz ({self.bandpass.high_hz}) must be below fs/2 ({nyquist})"
            )
        if self.spectrogram.enabled and self.spectrogram.f_max > nyquist:
            raise ValueError(
                f"spectrogram.f_max ({self.spectrogram.f_max}) exceeds fs/2 ({nyquist})"
            )
        return self
