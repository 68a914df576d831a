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

    def register_pipeline_run(self, run: PipelineRun) -> None: ...

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


class Workflows(Protocol):
    def start_retrain(self, name: str, request: dict[str, Any]) -> StartResult: ...

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """Resume a waiting task; False if the token is no longer valid (already resumed or timed out)."""
        ...


class Announcer(Protocol):
    def announce(self, detail_type: str, detail: dict[str, Any]) -> None:
        """Notify operators (SNS) and other teams (the control plane's event bus)."""
        ...


class PipelineDescriber(Protocol):
    def failure_reason(self, pipeline_execution_arn: str) -> str | None: ...
