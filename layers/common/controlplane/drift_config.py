"""The `drift:` section of a model: which signals concern it and how the control plane responds."""

from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from controlplane.ports import CONTROL_PLANE_EVENT_SOURCE
from controlplane.schema import StrictModel

SignalKind = Literal[
    "data_drift", "data_quality", "model_quality", "bias", "explainability", "error_rate", "latency", "custom"
]  # fmt: skip
"""What a drift signal reports: one vocabulary for the config, "Drift Detected" events and the ledger."""
Action = Literal["rollback", "retrain", "dismiss"]
Minutes = Annotated[int, Field(ge=1, le=525_600)]


class DriftAlarm(StrictModel):
    """A CloudWatch alarm whose ALARM state is a signal about this model."""

    alarm_name: Annotated[str, Field(min_length=1, max_length=255)]
    kind: SignalKind
    endpoint: str | None = None
    """Default: the endpoint of the model's last stage (production)."""


class DriftDetector(StrictModel):
    """A detector (Evidently, a custom job) whose "Drift Detected" events about this model are trusted."""

    source: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,255}$")]
    """The EventBridge `source` of its events; the stack parameter DriftDetectorSources must list it."""

    @field_validator("source")
    @classmethod
    def _not_reserved(cls, source: str) -> str:
        if source.startswith("aws.") or source == CONTROL_PLANE_EVENT_SOURCE:
            raise ValueError(
                f"'{source}' is reserved (AWS services use aws.*, the control plane's announcements "
                f"{CONTROL_PLANE_EVENT_SOURCE}); give the detector a source of its own, e.g. custom.evidently"
            )
        return source


class DriftPolicy(StrictModel):
    alarms: tuple[DriftAlarm, ...] = ()
    detectors: tuple[DriftDetector, ...] = ()
    """The detectors whose "Drift Detected" events are signals about this model; events from others are ignored."""
    incident_window_minutes: Minutes = 360
    """An open incident absorbs new signals (as evidence) for this long after it opened."""
    recovery_grace_minutes: Minutes = 30
    """After an alarm returns to OK, an ALARM within this time is the same (flapping) incident."""
    rollback_on: tuple[SignalKind, ...] = ("model_quality", "error_rate", "latency")
    rollback_window_minutes: Minutes = 1440
    """Roll back when the serving version was deployed less than this long ago (and an earlier one exists)."""
    retrain_on: tuple[SignalKind, ...] = ("data_drift", "data_quality")
    retrain_cooldown_minutes: Minutes = 720
    max_retrains_per_day: Annotated[int, Field(ge=0, le=100)] = 2
    retrain_dataset_uri: Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S*$")] | None = None
    """Data to retrain on; default: the newest dataset the model has seen."""
    require_approval: bool | None = None
    """Ask a human before any rollback or retrain; unset: the model's maturity decides (3: automatic)."""
    approval_timeout_minutes: Minutes = 60
    default_action: Action = "dismiss"
    """What happens when nobody answers a request for a decision in time."""

    @property
    def detector_sources(self) -> frozenset[str]:
        return frozenset(detector.source for detector in self.detectors)

    @property
    def retrain_lookback(self) -> timedelta:
        """How long a drift retrain counts: for the cooldown, or for the daily budget, whichever is longer."""
        return max(timedelta(days=1), timedelta(minutes=self.retrain_cooldown_minutes))

    @model_validator(mode="after")
    def _kinds_do_not_conflict(self) -> Self:
        both = sorted(set(self.rollback_on) & set(self.retrain_on))
        if both:
            raise ValueError(f"signal kind(s) {both} are in both rollback_on and retrain_on; choose one response")
        return self
