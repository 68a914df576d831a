"""The ports the domain talks to. Adapters to AWS live in controlplane.adapters; tests use fakes."""

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal, NamedTuple, Protocol

NO_DETAILS: Mapping[str, Any] = MappingProxyType({})
"""The shared, read-only empty default of a mapping field."""


class DatasetState(NamedTuple):
    """What the ledger knows about one dataset of one model."""

    model: str
    dataset_uri: str
    object_count: int
    first_object_at: datetime
    last_object_at: datetime
    execution_arn: str | None = None
    max_sequencer: str | None = None


class DatasetArrivals(NamedTuple):
    """Objects of one dataset recorded together (those of one SQS batch): one ledger write, however many.

    `at` is when the control plane recorded them, not when S3 wrote them: the quiet period runs from the last
    object the control plane saw, so a backlog still in the queue keeps the dataset waiting.
    """

    model: str
    dataset_uri: str
    objects: int
    at: datetime
    max_sequencer: str | None = None
    """The highest S3 sequencer among them, normalized (`controlplane.datasets.sequencer_order`)."""


TERMINAL_PIPELINE_STATUSES: frozenset[str] = frozenset({"Stopped", "Failed", "Succeeded"})
"""The SageMaker Pipeline execution statuses after which nothing runs."""


class PipelineRun(NamedTuple):
    """A SageMaker Pipeline execution started by the control plane."""

    pipeline_execution_arn: str
    model: str
    dataset_uri: str
    execution_arn: str
    status: str
    task_token: str | None = None
    failure_reason: str | None = None
    workflow_ended: bool = False
    """The workflow stopped waiting (it failed or timed out) while the pipeline may still run: whoever sees the
    pipeline end frees the training slot."""


CONTROL_PLANE_EVENT_SOURCE = "mlops.controlplane"
"""The `source` of every announcement on the control plane's bus; its resource policy lets only the outbox use it."""


class Announcement(NamedTuple):
    """What operators (SNS) and other teams (the control plane's bus) are told about a record."""

    detail_type: str
    detail: dict[str, Any]


class WorkflowStart(NamedTuple):
    """A workflow execution a record's decision starts, under a deterministic name (so a repeat starts nothing)."""

    workflow: Literal["retrain", "deploy", "drift"]
    name: str
    input: dict[str, Any]


# The effects a record can carry, each delivered once by the outbox (controlplane.outbox) after the write.
Effect = Literal["sns", "bus", "start"]


class AuditRecord(NamedTuple):
    """One decision or action, written once under its deterministic `record_id`, with the effects that must
    follow it (an announcement, a workflow start): the outbox delivers them after the write, never before."""

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
    details: Mapping[str, Any] = NO_DETAILS
    announcement: Announcement | None = None
    start: WorkflowStart | None = None
    lineage: str | None = None
    """The model version's lineage key (naming.training_lineage / package_lineage): every record of one version's
    life, from its dataset and training run to each deployment, incident, response and rollback, carries it."""

    def effects(self) -> tuple[Effect, ...]:
        """The effects this record carries, in delivery order."""
        announce: tuple[Effect, ...] = ("sns", "bus") if self.announcement else ()
        return (*announce, *(("start",) if self.start else ()))


class StartResult(NamedTuple):
    outcome: Literal["started", "already_started"]
    execution_arn: str


class PackageInfo(NamedTuple):
    """What the Model Registry says about one model package version."""

    arn: str
    group: str
    version: int
    approval_status: str
    quality_statistics_uri: str | None = None
    approved_by: str | None = None
    approval_description: str | None = None
    bias_report_uris: tuple[str, ...] = ()
    """S3 URIs of ModelMetrics.Bias.Report, PreTrainingReport and PostTrainingReport, those registered."""
    metadata: Mapping[str, str] = NO_DETAILS
    """CustomerMetadataProperties."""
    generated_by: str | None = None
    """MetadataProperties.GeneratedBy: the pipeline execution that produced the version."""


class EndpointInfo(NamedTuple):
    name: str
    status: str
    config_name: str | None
    failure_reason: str | None = None


SETTLED_ENDPOINT_STATUSES: frozenset[str] = frozenset({"InService", "Failed", "OutOfService", "UpdateRollbackFailed"})
"""The endpoint statuses (the API's spelling) in which no creation or update is under way."""


class EndpointState(NamedTuple):
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
    serving_lineage: str | None = None
    """The lineage key of the serving version."""


class StageDeployment(NamedTuple):
    """One package version's deployment to one stage."""

    package_arn: str
    stage: str
    endpoint: str
    endpoint_config: str
    status: str
    deployed_at: datetime


class ApprovalChange(NamedTuple):
    """How one "Model Package State Change" event relates to the package's approval history in the ledger."""

    outcome: Literal["changed", "repeated", "unchanged", "stale"]
    """changed: a new approval status; repeated: a copy of the latest change (a duplicate or a retried event);
    unchanged: a later event with the same status (e.g. a metadata edit); stale: older than the latest change."""
    status: str
    """The package's latest approval status."""


class Incident(NamedTuple):
    """The open (or recovering) drift incident of one kind on one model's endpoint."""

    model: str
    endpoint: str
    incident_id: str
    status: str
    opened_at: datetime
    kind: str
    signal_count: int
    recovered_at: datetime | None = None


DecisionStatus = Literal["waiting", "answered", "expired", "closed"]


class DecisionWait(NamedTuple):
    """A workflow's question to a human: a drift workflow's about an incident (keyed by the incident id), or a deploy
    workflow's approval of a deployment into a stage that requires one (keyed by its approval id). The task token
    that resumes the workflow stays here, in the ledger: the announcement names the question, and only the decision
    workflow answers.

    waiting: asked; answered: a decision execution claimed it and resumes the workflow; expired: the workflow no
    longer waited when the answer came; closed: the response was decided (the token is gone)."""

    incident_id: str
    """The question's id: an incident id, or an approval id (APPROVAL_ID_PATTERN)."""
    model: str
    endpoint: str
    status: DecisionStatus
    drift_execution_arn: str | None = None
    task_token: str | None = None
    answered_by: str | None = None
    action: str | None = None
    """The answer: rollback, retrain or dismiss; approve or refuse."""
    decision_execution_arn: str | None = None
    reason: str | None = None
    """closed: the response decided."""
    question: Literal["drift", "approval"] = "drift"
    requested_by: str | None = None
    """approval: who requested the deployment, and so may not approve it."""
    stage: str | None = None
    """approval: the stage the deployment goes to."""
    package_arn: str | None = None
    """approval: the version deployed."""
    lineage: str | None = None
    """The lineage key of the version the question is about (the serving one, for a drift decision)."""


class IncidentChange(NamedTuple):
    """The endpoint's incident of a kind, written if the stored one still has `expected_id` (None: no incident)."""

    incident: Incident
    expected_id: str | None


class RetrainNote(NamedTuple):
    """One drift retrain, counted against the model's cooldown and daily budget (its own item: a retry of the same
    decision writes the same item, so it counts once)."""

    model: str
    at: datetime
    incident_id: str
    counts_until: datetime
    """After this the note counts against nothing (see DriftPolicy.retrain_lookback): DynamoDB's TTL deletes it, so a
    model keeps only the retrains its cooldown and budget still need."""


# Ledger items committed in one transaction with an audit record: all of them, or none.
LedgerWrite = EndpointState | StageDeployment | IncidentChange | RetrainNote | DecisionWait


class WriteConflict(Exception):
    """A conditional write committed with a record found the ledger changed (e.g. another signal opened the
    incident first); nothing of the transaction was written."""


class Ledger(Protocol):
    def record_arrivals(self, arrivals: DatasetArrivals) -> DatasetState:
        """Add the objects to the dataset's count, keep its first and latest arrival time and highest sequencer;
        one conditional write however many objects arrived (a second only when a concurrent batch of the same
        dataset got ahead). The count is at least the number of distinct objects: a redelivered one counts
        again."""
        ...

    def start_dataset(self, arrivals: DatasetArrivals, request: AuditRecord) -> bool:
        """Record the arrivals of a dataset not yet started, mark it started by the request's execution, and
        write the request (whose start the outbox delivers), all in one transaction: the dataset's item is
        written once. False, with nothing written, when the dataset is marked already, a concurrent batch got
        ahead, the request is recorded already or a newer dataset is noted as the model's latest."""
        ...

    def mark_dataset_started(self, model: str, dataset_uri: str, execution_arn: str) -> None: ...

    def get_dataset(self, model: str, dataset_uri: str) -> DatasetState | None: ...

    def record(self, record: AuditRecord, *also: LedgerWrite) -> bool:
        """Write the record, and `also` in the same transaction, unless a record with the same id exists
        (then nothing is written); True if this call wrote it. WriteConflict when a write of `also` fails its
        condition."""
        ...

    def acquire_pipeline_slot(self, model: str, holder: str, now: datetime, lease_until: datetime) -> str | None:
        """Take the model's training slot for `holder`; return the current other holder when it is taken."""
        ...

    def release_pipeline_slot(self, model: str, holder: str) -> None: ...

    def register_pipeline_run(self, run: PipelineRun) -> PipelineRun:
        """Register the run unless another execution already did; return the registered run."""
        ...

    def get_pipeline_run(self, pipeline_execution_arn: str) -> PipelineRun | None: ...

    def end_workflow_wait(self, run: PipelineRun) -> PipelineRun:
        """Mark (registering the run if need be) that its workflow no longer waits; return the run as it is now."""
        ...

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
    def record(self, record: AuditRecord, *also: LedgerWrite) -> bool: ...

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

    def get_endpoint_waiter(self, endpoint: str) -> str | None:
        """The token of the workflow waiting on the endpoint, if any."""
        ...

    def clear_endpoint_waiter(self, endpoint: str, task_token: str) -> None:
        """Forget the waiter, if it is still this token (resume first: a retry then finds the token)."""
        ...

    def get_decision(self, incident_id: str) -> DecisionWait | None:
        """A question to a human (here: an approval) by its id."""
        ...

    def get_pipeline_run(self, pipeline_execution_arn: str) -> PipelineRun | None: ...

    def note_package_lineage(self, package_arn: str, lineage: str) -> None:
        """Remember the version's lineage key (the first one noted stays)."""
        ...

    def package_lineage(self, package_arn: str) -> str | None: ...


class DriftLedger(Protocol):
    def record(self, record: AuditRecord, *also: LedgerWrite) -> bool: ...

    def has_record(self, record_id: str) -> bool: ...

    def get_incident(self, model: str, endpoint: str, kind: str) -> Incident | None: ...

    def put_incident(self, incident: Incident, expected_id: str | None) -> bool:
        """Write the endpoint's current incident if the stored one still has `expected_id` (None: no incident)."""
        ...

    def get_endpoint_state(self, endpoint: str) -> EndpointState | None: ...

    def get_stage_deployment(self, package_arn: str, stage: str) -> StageDeployment | None: ...

    def retrain_times(self, model: str, since: datetime) -> list[datetime]:
        """The model's drift retrains since `since`, oldest first."""
        ...

    def latest_dataset(self, model: str) -> str | None:
        """The URI of the newest dataset the model has seen, if any."""
        ...

    def get_decision(self, incident_id: str) -> DecisionWait | None: ...

    def package_lineage(self, package_arn: str) -> str | None: ...


class DecisionLedger(Protocol):
    def record(self, record: AuditRecord, *also: LedgerWrite) -> bool: ...

    def get_decision(self, incident_id: str) -> DecisionWait | None: ...

    def claim_decision(
        self, incident_id: str, decision_execution_arn: str, answered_by: str, action: str
    ) -> DecisionWait | None:
        """Mark the waiting decision answered by this execution (again, for a retry of the same execution); None
        when it is not waiting for it (answered by another, expired, closed)."""
        ...

    def expire_decision(self, incident_id: str, decision_execution_arn: str) -> None:
        """The workflow no longer waited for this execution's answer: mark the decision expired."""
        ...


class ViolationReports(Protocol):
    def violations(self, output_uri: str) -> list[dict[str, Any]]:
        """The violations of a Model Monitor run's `constraint_violations.json` under `output_uri`."""
        ...


class Registry(Protocol):
    def describe_package(self, package_arn: str) -> PackageInfo: ...

    def quality_metrics(self, package: PackageInfo) -> dict[str, Any] | None: ...

    def bias_reports(self, package: PackageInfo) -> list[dict[str, Any]]: ...


class ModelCards(Protocol):
    def upsert(self, name: str, content: dict[str, Any]) -> Literal["created", "updated", "unchanged"]:
        """Create the card, or give it a new version when its content changed."""
        ...

    def content(self, name: str) -> dict[str, Any] | None:
        """The card's current content (SageMaker's model card JSON), or None when there is no such card."""
        ...


class Endpoints(Protocol):
    def describe(self, endpoint: str) -> EndpointInfo | None: ...

    def create_model(self, model_name: str, package_arn: str) -> None: ...

    def create_endpoint_config(
        self, config_name: str, model_name: str, variant: str, instance_type: str, instance_count: int
    ) -> None: ...

    def ensure_alarms(self, endpoint: str, variant: str, model_latency_p99_ms: int) -> list[str]: ...

    def invoke(self, endpoint: str, payload: str, content_type: str) -> tuple[bool, str]: ...


class Workflows(Protocol):
    def start(self, workflow: str, name: str, request: dict[str, Any]) -> StartResult: ...

    def execution_arn(self, workflow: str, name: str) -> str:
        """The ARN the workflow's execution of that name has, started or not (Step Functions derives it from the
        state machine's ARN and the name)."""
        ...

    def start_retrain(self, name: str, request: dict[str, Any]) -> StartResult: ...

    def start_deploy(self, name: str, request: dict[str, Any]) -> StartResult: ...

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """Resume a waiting task; False if the token is no longer valid (already resumed or timed out)."""
        ...


class Announcer(Protocol):
    def notify(self, announcement: Announcement, record_id: str) -> None:
        """Tell operators (SNS)."""
        ...

    def publish(self, announcement: Announcement, record_id: str) -> None:
        """Tell other teams (the control plane's event bus)."""
        ...


Claim = Literal["claimed", "delivered", "in_flight"]


class Outbox(Protocol):
    def get_record(self, record_id: str) -> AuditRecord | None: ...

    def pending_effects(self, record_id: str) -> set[Effect]:
        """The effects of the record not delivered yet (claimed ones included)."""
        ...

    def claim(self, record_id: str, effect: Effect, now: datetime, stale_before: datetime) -> Claim:
        """Take a pending effect for delivery: `claimed`, or `delivered` when nothing is left to do, or `in_flight`
        when another delivery holds it since `stale_before` or later (an older claim is taken over)."""
        ...

    def release(self, record_id: str, effect: Effect) -> None:
        """Put a claimed effect back to pending (its delivery failed)."""
        ...

    def mark_delivered(self, record_id: str, effect: Effect) -> None: ...


class PipelineDescriber(Protocol):
    def failure_reason(self, pipeline_execution_arn: str) -> str | None: ...
