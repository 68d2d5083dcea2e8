"""``mlflow``: the tracking store and what a run records (``conf/mlflow/``)."""

from __future__ import annotations

from pydantic import (
    Field,
    field_validator,
)

from ecgpipe.config.schema.base import Frozen

TRACKING_SCHEMES = ("sqlite:///PATH", "postgresql://...", "mysql://...", "http(s)://HOST")


def check_tracking_uri(uri: str) -> str:
    """``uri`` if MLflow can track to it (a SQLite file, a database, a server), else a
    ValueError that says what it takes."""
    scheme, sep, rest = uri.partition("://")
    base = scheme.split("+")[0].lower()
    ok = bool(sep) and (
        (base == "sqlite" and rest.startswith("/") and len(rest) > 1)
        or (base in ("postgresql", "mysql", "mssql") and bool(rest))
        or (base in ("http", "https") and bool(rest.split("/")[0]))
        or (base == "databricks")
    )
    if not ok:
        raise ValueError(
            f"{uri!r} is not a tracking store MLflow reads; use {', '.join(TRACKING_SCHEMES)}"
        )
    return uri


class SystemMetricsConfig(Frozen):
    """MLflow's system metrics (CPU, memory, disk, network, and GPU where there is one) in every
    training run, as ``system/...`` (``system/cpu_utilization_percentage``, ...)."""

    enabled: bool
    interval_s: float = Field(gt=0, description="seconds between samples, each one logged")


class MlflowConfig(Frozen):
    """Tracking: a SQLite store at the project root; ``MLFLOW_TRACKING_URI`` overrides it."""

    tracking_uri: str = Field(description=f"a store URI: {', '.join(TRACKING_SCHEMES)}")
    artifact_location: str = Field(
        description="for new experiments in a local store (a server keeps its own)"
    )
    experiment: str = Field(min_length=1)
    system_metrics: SystemMetricsConfig

    @field_validator("tracking_uri")
    @classmethod
    def _a_store(cls, value: str) -> str:
        return check_tracking_uri(value)
