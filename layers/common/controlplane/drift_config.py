"""The `drift:` section of a model: which signals concern it and how the control plane responds."""

from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

SignalKind = Literal[
    "data_drift", "data_quality", "model_quality", "bias", "explainability", "error_rate", "latency", "custom"
]  # fmt: skip
Action = Literal["rollback", "retrain", "dismiss"]
Minutes = Annotated[int, Field(ge=1, le=525_600)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class DriftAlarm(_Strict):
    """A CloudWatch alarm whose ALARM state is a signal about this model."""

    alarm_name: Annotated[str, Field(min_length=1, max_length=255)]
    kind: SignalKind
    endpoint: str | None = None
    """Default: the endpoint of the model's last stage (production)."""


class DriftPolicy(_Strict):
    alarms: tuple[DriftAlarm, ...] = ()
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
    require_approval: bool = False
    """Ask a human before any rollback or retrain."""
    approval_timeout_minutes: Minutes = 60
    default_action: Action = "dismiss"
    """What happens when nobody answers a request for a decision in time."""

    @model_validator(mode="after")
    def _kinds_do_not_conflict(self) -> Self:
        both = sorted(set(self.rollback_on) & set(self.retrain_on))
        if both:
            raise ValueError(f"signal kind(s) {both} are in both rollback_on and retrain_on; choose one response")
        return self
