"""The ports the domain talks to. Adapters to AWS live in controlplane.adapters; tests use fakes."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol


@dataclass(frozen=True)
class DatasetState:
    """What the ledger knows about one dataset of one model."""

    model: str
    dataset_uri: str
    object_count: int
    first_object_at: datetime
    last_object_at: datetime
    execution_arn: str | None = None


@dataclass(frozen=True)
class PipelineRun:
    """A SageMaker Pipeline execution started by the control plane."""

    pipeline_execution_arn: str
    model: str
    dataset_uri: str
    execution_arn: str
    status: str
    task_token: str | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    """One decision or action, written once under its deterministic `record_id`."""

    record_id: str
    kind: str
    model: str
    reason: str
    at: datetime
    dataset_uri: str | None = None
    event_id: str | None = None
    execution_arn: str | None = None
    pipeline_execution_arn: str | None = None
    status: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StartResult:
    outcome: Literal["started", "already_started"]
    execution_arn: str


@dataclass(frozen=True)
class PackageInfo:
    """What the Model Registry says about one model package version."""

    arn: str
    group: str
    version: int
    approval_status: str
    quality_statistics_uri: str | None = None
    approved_by: str | None = None


@dataclass(frozen=True)
class EndpointInfo:
    name: str
    status: str
    config_name: str | None
    failure_reason: str | None = None


@dataclass(frozen=True)
class EndpointState:
    """Desired and actual state of one endpoint, as the ledger knows it."""

    endpoint: str
    model: str
    stage: str
    serving_package_arn: str | None = None
    serving_version: int | None = None
    serving_config: str | None = None
    previous_package_arn: str | None = None
    previous_config: str | None = None
    last_known_good_package_arn: str | None = None
    last_known_good_config: str | None = None
    status: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class StageDeployment:
    """One package version's deployment to one stage."""

    package_arn: str
    stage: str
    endpoint: str
    endpoint_config: str
    status: str
    deployed_at: datetime


@dataclass(frozen=True)
class ApprovalChange:
    """How one "Model Package State Change" event relates to the package's approval history in the ledger."""

    outcome: Literal["changed", "repeated", "unchanged", "stale"]
    """changed: a new approval status; repeated: a copy of the latest change (a duplicate or a retried event);
    unchanged: a later event with the same status (e.g. a metadata edit); stale: older than the latest change."""
    status: str
    """The package's latest approval status."""


@dataclass(frozen=True)
class Incident:
    """The open (or recovering) drift incident of one kind on one model's endpoint."""

    model: str
    endpoint: str
    incident_id: str
    status: str
    opened_at: datetime
    kind: str
    signal_count: int
    recovered_at: datetime | None = None
    task_token: str | None = None


class Ledger(Protocol):
    def touch_dataset(self, model: str, dataset_uri: str, at: datetime) -> DatasetState: ...

    def mark_dataset_started(self, model: str, dataset_uri: str, execution_arn: str) -> None: ...

    def get_dataset(self, model: str, dataset_uri: str) -> DatasetState | None: ...

    def record(self, record: AuditRecord) -> bool:
        """Write the record unless one with the same id exists; True if this call wrote it."""
        ...

    def acquire_pipeline_slot(self, model: str, holder: str, now: datetime, lease_until: datetime) -> str | None:
        """Take the model's training slot for `holder`; return the current other holder when it is taken."""
        ...

    def release_pipeline_slot(self, model: str, holder: str) -> None: ...

    def register_pipeline_run(self, run: PipelineRun) -> PipelineRun:
        """Register the run unless another execution already did; return the registered run."""
        ...

    def get_pipeline_run(self, pipeline_execution_arn: str) -> PipelineRun | None: ...

    def attach_task_token(self, pipeline_execution_arn: str, task_token: str) -> PipelineRun:
        """Store the token that resumes the waiting workflow; return the run as it is now."""
        ...

    def complete_pipeline_run(
        self, pipeline_execution_arn: str, status: str, failure_reason: str | None
    ) -> PipelineRun | None:
        """Set the terminal status once; None if the run is unknown or already complete."""
        ...

    def lineage(self, dataset_uri: str) -> list[AuditRecord]: ...


class DeploymentLedger(Protocol):
    def record(self, record: AuditRecord) -> bool: ...

    def acquire_endpoint_lock(self, endpoint: str, holder: str, now: datetime, lease_until: datetime) -> str | None:
        """Take the endpoint's lock for `holder`; return the other holder when it is taken."""
        ...

    def release_endpoint_lock(self, endpoint: str, holder: str) -> None: ...

    def raise_desired_version(self, endpoint: str, version: int) -> int:
        """Record that `version` was requested for the endpoint; return the highest version requested so far."""
        ...

    def get_endpoint_state(self, endpoint: str) -> EndpointState | None: ...

    def put_endpoint_state(self, state: EndpointState) -> None: ...

    def record_stage_deployment(self, deployment: StageDeployment) -> None: ...

    def get_stage_deployment(self, package_arn: str, stage: str) -> StageDeployment | None: ...

    def note_approval_change(self, package_arn: str, status: str, changed_at: datetime) -> ApprovalChange:
        """A status other than the latest counts as a change unless an event newer than `changed_at` was seen."""
        ...

    def set_endpoint_waiter(self, endpoint: str, task_token: str) -> None: ...

    def claim_endpoint_waiter(self, endpoint: str) -> str | None:
        """Remove and return the waiting task token, so that exactly one caller resumes it."""
        ...


class DriftLedger(Protocol):
    def record(self, record: AuditRecord) -> bool: ...

    def has_record(self, record_id: str) -> bool: ...

    def get_incident(self, model: str, endpoint: str, kind: str) -> Incident | None: ...

    def put_incident(self, incident: Incident, expected_id: str | None) -> bool:
        """Write the endpoint's current incident if the stored one still has `expected_id` (None: no incident)."""
        ...

    def get_endpoint_state(self, endpoint: str) -> EndpointState | None: ...

    def get_stage_deployment(self, package_arn: str, stage: str) -> StageDeployment | None: ...

    def retrain_times(self, model: str) -> list[datetime]: ...

    def note_retrain(self, model: str, at: datetime) -> None: ...

    def latest_dataset(self, model: str) -> str | None:
        """The URI of the newest dataset the model has seen, if any."""
        ...


class ViolationReports(Protocol):
    def violations(self, output_uri: str) -> list[dict[str, Any]]:
        """The violations of a Model Monitor run's `constraint_violations.json` under `output_uri`."""
        ...


class Registry(Protocol):
    def describe_package(self, package_arn: str) -> PackageInfo: ...

    def quality_metrics(self, package: PackageInfo) -> dict[str, Any] | None: ...


class Endpoints(Protocol):
    def describe(self, endpoint: str) -> EndpointInfo | None: ...

    def create_model(self, model_name: str, package_arn: str) -> None: ...

    def create_endpoint_config(
        self, config_name: str, model_name: str, variant: str, instance_type: str, instance_count: int
    ) -> None: ...

    def ensure_alarms(self, endpoint: str, variant: str, model_latency_p99_ms: int) -> list[str]: ...

    def invoke(self, endpoint: str, payload: str, content_type: str) -> tuple[bool, str]: ...


class Workflows(Protocol):
    def start_retrain(self, name: str, request: dict[str, Any]) -> StartResult: ...

    def start_deploy(self, name: str, request: dict[str, Any]) -> StartResult: ...

    def start_drift(self, name: str, request: dict[str, Any]) -> StartResult: ...

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """Resume a waiting task; False if the token is no longer valid (already resumed or timed out)."""
        ...


class Announcer(Protocol):
    def announce(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Notify operators (SNS) and other teams (the control plane's event bus)."""
        ...


class PipelineDescriber(Protocol):
    def failure_reason(self, pipeline_execution_arn: str) -> str | None: ...
