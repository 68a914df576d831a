"""The `drift:` section of a model: which signals concern it and how the control plane responds; and the
`DriftSignal` every source becomes, which both the signal intake and the drift workflow check against it."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal, Self

from pydantic import Field, field_validator, model_validator

from controlplane.ports import CONTROL_PLANE_EVENT_SOURCE
from controlplane.schema import StrictModel

if TYPE_CHECKING:  # config.py imports this module
    from controlplane.config import ControlPlaneConfig, ModelConfig

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


class DriftSignal(StrictModel):
    """One observation, whatever its source, about one endpoint."""

    source: Literal["alarm", "monitoring", "custom"]
    signal_id: str
    endpoint: str
    kind: SignalKind
    state: Literal["alarm", "ok"]
    reason: str
    observed_at: datetime
    model: str | None = None
    severity: str = "high"
    evidence_uri: str | None = None
    features: list[str] = []
    dataset_uri: str | None = None
    detector: str | None = None
    """A custom signal's EventBridge source, which the model's drift.detectors must list."""


def controlled_model(signal: DriftSignal, config: "ControlPlaneConfig") -> "ModelConfig | None":
    """The model under control whose stage the signal's endpoint is (and that it names, if it names one)."""
    found = config.stage_for_endpoint(signal.endpoint)
    if found is None:
        return None
    model = found[0]
    if signal.model is not None and signal.model != model.name:
        return None
    return model


def untrusted_signal(signal: DriftSignal, model: "ModelConfig", data_bucket: str) -> str | None:
    """Why a signal about a model under control may not be acted on (a detector the model does not list, a
    dataset outside the model's data); None when it may."""
    if signal.source == "custom":
        sources = model.drift.detector_sources if model.drift else frozenset()
        if signal.detector not in sources:
            configured = ", ".join(sorted(sources)) or "none"
            return (
                f"source '{signal.detector}' is not a drift detector of model '{model.name}' (its drift.detectors: "
                f"{configured})"
            )
    if signal.dataset_uri is not None:
        return model.dataset_location_problem(signal.dataset_uri, data_bucket)
    return None
