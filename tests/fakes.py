"""In-memory fakes of the domain's ports, for unit tests without moto."""

from collections import Counter
from datetime import datetime
from typing import Any, Literal

from controlplane.ports import (
    TERMINAL_PIPELINE_STATUSES,
    Announcement,
    ApprovalChange,
    AuditRecord,
    Claim,
    DatasetArrivals,
    DatasetState,
    DecisionWait,
    Effect,
    EndpointInfo,
    EndpointState,
    Incident,
    IncidentChange,
    LedgerWrite,
    PackageInfo,
    PipelineRun,
    RetrainNote,
    StageDeployment,
    StartResult,
    WorkflowStart,
    WriteConflict,
)


class FakeLedger:
    def __init__(self) -> None:
        self.datasets: dict[tuple[str, str], DatasetState] = {}
        self.dataset_writes: Counter[tuple[str, str]] = Counter()
        self.records: dict[str, AuditRecord] = {}
        self.slots: dict[str, tuple[str, datetime]] = {}
        self.runs: dict[str, PipelineRun] = {}
        self.pending: dict[str, set[Effect]] = {}
        self.claims: dict[str, dict[Effect, datetime]] = {}

    def record_arrivals(self, arrivals: DatasetArrivals) -> DatasetState:
        key = (arrivals.model, arrivals.dataset_uri)
        self.dataset_writes[key] += 1
        current = self.datasets.get(key)
        if current is None:
            current = DatasetState(arrivals.model, arrivals.dataset_uri, 0, arrivals.at, arrivals.at)
        sequencers = [s for s in (current.max_sequencer, arrivals.max_sequencer) if s is not None]
        current = current._replace(
            object_count=current.object_count + arrivals.objects,
            first_object_at=min(current.first_object_at, arrivals.at),
            last_object_at=max(current.last_object_at, arrivals.at),
            max_sequencer=max(sequencers, default=None),
        )
        self.datasets[key] = current
        return current

    def start_dataset(self, arrivals: DatasetArrivals, request: AuditRecord) -> bool:
        """One transaction, one write of the dataset's item: nothing when the dataset is marked or the request
        recorded already (the DynamoDB ledger's other conditions are its integration tests')."""
        known = self.datasets.get((arrivals.model, arrivals.dataset_uri))
        if (known is not None and known.execution_arn is not None) or request.record_id in self.records:
            return False
        assert request.execution_arn is not None
        state = self.record_arrivals(arrivals)
        self.datasets[(arrivals.model, arrivals.dataset_uri)] = state._replace(execution_arn=request.execution_arn)
        self.records[request.record_id] = request
        self.pending[request.record_id] = set(request.effects())
        return True

    def mark_dataset_started(self, model: str, dataset_uri: str, execution_arn: str) -> None:
        self.dataset_writes[(model, dataset_uri)] += 1
        self.datasets[(model, dataset_uri)] = self.datasets[(model, dataset_uri)]._replace(execution_arn=execution_arn)

    def get_dataset(self, model: str, dataset_uri: str) -> DatasetState | None:
        return self.datasets.get((model, dataset_uri))

    def has_record(self, record_id: str) -> bool:
        return record_id in self.records

    def record(self, record: AuditRecord, *also: LedgerWrite) -> bool:
        """All or nothing, as DynamoDB's transaction: conditions are checked before anything is written."""
        if record.record_id in self.records:
            return False
        for write in also:
            if not self._condition_holds(write):
                raise WriteConflict(f"the ledger changed under record {record.record_id}")
        self.records[record.record_id] = record
        self.pending[record.record_id] = set(record.effects())
        for write in also:
            self._apply(write)
        return True

    def _condition_holds(self, write: LedgerWrite) -> bool:
        return True

    def _apply(self, write: LedgerWrite) -> None:
        raise TypeError(f"{type(self).__name__} does not store {type(write).__name__}")

    def get_record(self, record_id: str) -> AuditRecord | None:
        return self.records.get(record_id)

    def pending_effects(self, record_id: str) -> set[Effect]:
        return set(self.pending.get(record_id, set())) | set(self.claims.get(record_id, {}))

    def claim(self, record_id: str, effect: Effect, now: datetime, stale_before: datetime) -> Claim:
        claims = self.claims.setdefault(record_id, {})
        if effect in self.pending.get(record_id, set()):
            self.pending[record_id].discard(effect)
        elif effect not in claims:
            return "delivered"
        elif claims[effect] >= stale_before:
            return "in_flight"
        claims[effect] = now
        return "claimed"

    def release(self, record_id: str, effect: Effect) -> None:
        self.claims.get(record_id, {}).pop(effect, None)
        self.pending.setdefault(record_id, set()).add(effect)

    def mark_delivered(self, record_id: str, effect: Effect) -> None:
        self.claims.get(record_id, {}).pop(effect, None)

    def starts(self, workflow: str) -> list[WorkflowStart]:
        """The executions of `workflow` the outbox would start, in the order the records were written."""
        return [r.start for r in self.records.values() if r.start and r.start.workflow == workflow]

    def announcements(self) -> list[tuple[str, dict[str, Any]]]:
        """What the outbox would announce, in the order the records were written."""
        return [(r.announcement.detail_type, r.announcement.detail) for r in self.records.values() if r.announcement]

    def end_workflow_wait(self, run: PipelineRun) -> PipelineRun:
        current = self.runs.setdefault(run.pipeline_execution_arn, run)
        self.runs[run.pipeline_execution_arn] = current._replace(workflow_ended=True)
        return self.runs[run.pipeline_execution_arn]

    def acquire_pipeline_slot(self, model: str, holder: str, now: datetime, lease_until: datetime) -> str | None:
        current = self.slots.get(model)
        if current is None or current[0] == holder or current[1] < now:
            self.slots[model] = (holder, lease_until)
            return None
        return current[0]

    def release_pipeline_slot(self, model: str, holder: str) -> None:
        if self.slots.get(model, ("",))[0] == holder:
            del self.slots[model]

    def register_pipeline_run(self, run: PipelineRun) -> PipelineRun:
        return self.runs.setdefault(run.pipeline_execution_arn, run)

    def get_pipeline_run(self, pipeline_execution_arn: str) -> PipelineRun | None:
        return self.runs.get(pipeline_execution_arn)

    def attach_task_token(self, pipeline_execution_arn: str, task_token: str) -> PipelineRun:
        run = self.runs[pipeline_execution_arn]._replace(task_token=task_token)
        self.runs[pipeline_execution_arn] = run
        return run

    def complete_pipeline_run(
        self, pipeline_execution_arn: str, status: str, failure_reason: str | None
    ) -> PipelineRun | None:
        run = self.runs.get(pipeline_execution_arn)
        if run is None or run.status in TERMINAL_PIPELINE_STATUSES:
            return None
        run = run._replace(status=status, failure_reason=failure_reason)
        self.runs[pipeline_execution_arn] = run
        return run

    def lineage(self, dataset_uri: str) -> list[AuditRecord]:
        return sorted((r for r in self.records.values() if r.dataset_uri == dataset_uri), key=lambda r: r.at)

    def kinds(self) -> list[str]:
        return [record.kind for record in self.records.values()]


class FakeWorkflows:
    """Step Functions' StartExecution semantics: a name starts once; a repeat with the same input while running
    answers like a start, anything else is ExecutionAlreadyExists."""

    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}
        self.deploys: dict[str, dict[str, Any]] = {}
        self.drifts: dict[str, dict[str, Any]] = {}
        self.resumed: list[tuple[str, dict[str, Any]]] = []
        self.stale_tokens: set[str] = set()

    def execution_arn(self, workflow: str, name: str) -> str:
        return f"arn:aws:states:us-east-1:123456789012:execution:{workflow}:{name}"

    def start_retrain(self, name: str, request: dict[str, Any]) -> StartResult:
        arn = self.execution_arn("retrain", name)
        if name in self.started and self.started[name] != request:
            return StartResult("already_started", arn)
        self.started[name] = request
        return StartResult("started", arn)

    def start_deploy(self, name: str, request: dict[str, Any]) -> StartResult:
        arn = f"arn:aws:states:us-east-1:123456789012:execution:deploy:{name}"
        if name in self.deploys and self.deploys[name] != request:
            return StartResult("already_started", arn)
        self.deploys[name] = request
        return StartResult("started", arn)

    def start(self, workflow: str, name: str, request: dict[str, Any]) -> StartResult:
        if workflow == "drift":
            self.drifts[name] = request
            return StartResult("started", f"arn:aws:states:us-east-1:123456789012:execution:drift:{name}")
        return {"retrain": self.start_retrain, "deploy": self.start_deploy}[workflow](name, request)

    def resume(self, task_token: str, output: dict[str, Any]) -> bool:
        """A token resumes once (Step Functions answers a used one with TaskDoesNotExist)."""
        if task_token in self.stale_tokens or any(token == task_token for token, _ in self.resumed):
            return False
        self.resumed.append((task_token, output))
        return True


class FakeAnnouncer:
    """SNS and the bus; `failing` makes the next calls of a channel raise, like a throttled service."""

    def __init__(self) -> None:
        self.notified: list[tuple[str, str]] = []
        self.published: list[tuple[str, str]] = []
        self.failing: dict[str, int] = {}

    def _fail_if_asked(self, channel: str) -> None:
        if self.failing.get(channel, 0) > 0:
            self.failing[channel] -= 1
            raise RuntimeError(f"{channel} throttled")

    def notify(self, announcement: Announcement, record_id: str) -> None:
        self._fail_if_asked("sns")
        self.notified.append((announcement.detail_type, record_id))

    def publish(self, announcement: Announcement, record_id: str) -> None:
        self._fail_if_asked("bus")
        self.published.append((announcement.detail_type, record_id))


class FakeDescriber:
    def __init__(self, reason: str | None = "AlgorithmError: out of memory") -> None:
        self.reason = reason
        self.asked: list[str] = []

    def failure_reason(self, pipeline_execution_arn: str) -> str | None:
        self.asked.append(pipeline_execution_arn)
        return self.reason


class FakeDeploymentLedger(FakeLedger):
    def __init__(self) -> None:
        super().__init__()
        self.locks: dict[str, tuple[str, datetime]] = {}
        self.desired: dict[str, int] = {}
        self.endpoints: dict[str, EndpointState] = {}
        self.stage_deployments: dict[tuple[str, str], StageDeployment] = {}
        self.waiters: dict[str, str] = {}
        self.approvals: dict[str, tuple[str, datetime, datetime]] = {}
        """package ARN -> (status, changed_at, seen_at), as the DynamoDB ledger keeps them."""
        self.decisions: dict[str, DecisionWait] = {}
        """Questions to humans (drift decisions, approvals) by id."""
        self.lineages: dict[str, str] = {}
        """package ARN -> the version's lineage key (the first noted)."""

    def acquire_endpoint_lock(self, endpoint: str, holder: str, now: datetime, lease_until: datetime) -> str | None:
        current = self.locks.get(endpoint)
        if current is None or current[0] == holder or current[1] < now:
            self.locks[endpoint] = (holder, lease_until)
            return None
        return current[0]

    def release_endpoint_lock(self, endpoint: str, holder: str) -> None:
        if self.locks.get(endpoint, ("",))[0] == holder:
            del self.locks[endpoint]

    def raise_desired_version(self, endpoint: str, version: int) -> int:
        self.desired[endpoint] = max(version, self.desired.get(endpoint, 0))
        return self.desired[endpoint]

    def get_endpoint_state(self, endpoint: str) -> EndpointState | None:
        return self.endpoints.get(endpoint)

    def put_endpoint_state(self, state: EndpointState) -> None:
        self.endpoints[state.endpoint] = state

    def record_stage_deployment(self, deployment: StageDeployment) -> None:
        self.stage_deployments[(deployment.package_arn, deployment.stage)] = deployment

    def get_stage_deployment(self, package_arn: str, stage: str) -> StageDeployment | None:
        return self.stage_deployments.get((package_arn, stage))

    def _apply(self, write: LedgerWrite) -> None:
        match write:
            case EndpointState():
                self.put_endpoint_state(write)
            case StageDeployment():
                self.record_stage_deployment(write)
            case DecisionWait():
                self.decisions[write.incident_id] = write
            case _:
                super()._apply(write)

    def note_approval_change(self, package_arn: str, status: str, changed_at: datetime) -> ApprovalChange:
        known = self.approvals.get(package_arn)
        if known is None or (known[0] != status and known[2] <= changed_at):
            self.approvals[package_arn] = (status, changed_at, changed_at)
            return ApprovalChange("changed", status)
        known_status, known_changed_at, seen_at = known
        if known_status != status or seen_at > changed_at:
            return ApprovalChange("stale", known_status)
        if known_changed_at == changed_at:
            return ApprovalChange("repeated", status)
        self.approvals[package_arn] = (status, known_changed_at, changed_at)
        return ApprovalChange("unchanged", status)

    def set_endpoint_waiter(self, endpoint: str, task_token: str) -> None:
        self.waiters[endpoint] = task_token

    def get_endpoint_waiter(self, endpoint: str) -> str | None:
        return self.waiters.get(endpoint)

    def clear_endpoint_waiter(self, endpoint: str, task_token: str) -> None:
        if self.waiters.get(endpoint) == task_token:
            del self.waiters[endpoint]

    def get_decision(self, incident_id: str) -> DecisionWait | None:
        return self.decisions.get(incident_id)

    def note_package_lineage(self, package_arn: str, lineage: str) -> None:
        self.lineages.setdefault(package_arn, lineage)

    def package_lineage(self, package_arn: str) -> str | None:
        return self.lineages.get(package_arn)

    def claim_decision(
        self, incident_id: str, decision_execution_arn: str, answered_by: str, action: str
    ) -> DecisionWait | None:
        current = self.decisions.get(incident_id)
        if current is None or not (
            current.status == "waiting" or current.decision_execution_arn == decision_execution_arn
        ):
            return None
        claimed = current._replace(
            status="answered",
            answered_by=answered_by,
            action=action,
            decision_execution_arn=decision_execution_arn,
        )
        self.decisions[incident_id] = claimed
        return claimed

    def expire_decision(self, incident_id: str, decision_execution_arn: str) -> None:
        current = self.decisions.get(incident_id)
        if current and current.status == "answered" and current.decision_execution_arn == decision_execution_arn:
            self.decisions[incident_id] = current._replace(status="expired")


FAIR_BIAS_REPORT = {
    "post_training_bias_metrics": {
        "label": "churned",
        "label_value_or_threshold": "1",
        "facets": {"gender": [{"value_or_threshold": "F", "metrics": [
            {"name": "DPPL", "description": "Difference in positive proportions", "value": 0.0},
            {"name": "DI", "description": "Disparate impact", "value": 1.0},
        ]}]},
    }
}  # fmt: skip
"""A bias report within the bundled config's bounds."""


class FakeRegistry:
    def __init__(self) -> None:
        self.packages: dict[str, PackageInfo] = {}
        self.metrics: dict[str, dict[str, Any]] = {}
        self.bias: dict[str, list[dict[str, Any]]] = {}

    def add(
        self,
        arn: str,
        status: str = "Approved",
        auc: float | None = 0.9,
        bias: list[dict[str, Any]] | None = None,
        # bias: default one fair report; [] registers none
        metadata: dict[str, str] | None = None,
    ) -> PackageInfo:
        group, version = arn.split(":model-package/")[1].rsplit("/", 1)
        bias = [FAIR_BIAS_REPORT] if bias is None else bias
        package = PackageInfo(
            arn, group, int(version), status, f"s3://metrics/{group}/{version}.json", "alice",
            bias_report_uris=tuple(f"s3://metrics/{group}/{version}-bias-{n}.json" for n in range(len(bias))),
            metadata=metadata or {},
        )  # fmt: skip
        self.packages[arn] = package
        if auc is not None:
            self.metrics[arn] = {"binary_classification_metrics": {"auc": {"value": auc}}}
        self.bias[arn] = bias
        return package

    def describe_package(self, package_arn: str) -> PackageInfo:
        return self.packages[package_arn]

    def quality_metrics(self, package: PackageInfo) -> dict[str, Any] | None:
        return self.metrics.get(package.arn)

    def bias_reports(self, package: PackageInfo) -> list[dict[str, Any]]:
        return self.bias.get(package.arn, [])


class FakeEndpoints:
    def __init__(self) -> None:
        self.endpoints: dict[str, EndpointInfo] = {}
        self.models: dict[str, str] = {}
        self.configs: dict[str, str] = {}
        self.alarms: list[str] = []
        self.responses: dict[str, tuple[bool, str]] = {}

    def describe(self, endpoint: str) -> EndpointInfo | None:
        return self.endpoints.get(endpoint)

    def create_model(self, model_name: str, package_arn: str) -> None:
        self.models[model_name] = package_arn

    def create_endpoint_config(
        self, config_name: str, model_name: str, variant: str, instance_type: str, instance_count: int
    ) -> None:
        self.configs[config_name] = model_name

    def ensure_alarms(self, endpoint: str, variant: str, model_latency_p99_ms: int) -> list[str]:
        names = [f"{endpoint}-5xx-errors", f"{endpoint}-model-latency"]
        self.alarms.extend(name for name in names if name not in self.alarms)
        return names

    def invoke(self, endpoint: str, payload: str, content_type: str) -> tuple[bool, str]:
        return self.responses.get(endpoint, (True, "0.93"))


class FakeDriftLedger(FakeDeploymentLedger):
    def __init__(self) -> None:
        super().__init__()
        self.incidents: dict[tuple[str, str, str], Incident] = {}
        self.retrains: dict[str, dict[tuple[datetime, str], datetime]] = {}
        self.retrain_notes: list[RetrainNote] = []
        self.datasets_seen: dict[str, str] = {}

    def get_incident(self, model: str, endpoint: str, kind: str) -> Incident | None:
        return self.incidents.get((model, endpoint, kind))

    def put_incident(self, incident: Incident, expected_id: str | None) -> bool:
        key = (incident.model, incident.endpoint, incident.kind)
        current = self.incidents.get(key)
        if (current.incident_id if current else None) != expected_id:
            return False
        self.incidents[key] = incident
        return True

    def _condition_holds(self, write: LedgerWrite) -> bool:
        if isinstance(write, IncidentChange):
            incident = write.incident
            current = self.incidents.get((incident.model, incident.endpoint, incident.kind))
            return (current.incident_id if current else None) == write.expected_id
        return True

    def _apply(self, write: LedgerWrite) -> None:
        match write:
            case IncidentChange():
                self.put_incident(write.incident, write.expected_id)
            case RetrainNote():
                self.note_retrain(write.model, write.at, write.incident_id)
                self.retrain_notes.append(write)
            case _:
                super()._apply(write)

    def retrain_times(self, model: str, since: datetime) -> list[datetime]:
        return sorted(at for at in self.retrains.get(model, {}).values() if at >= since)

    def note_retrain(self, model: str, at: datetime, incident_id: str = "test") -> None:
        self.retrains.setdefault(model, {})[(at, incident_id)] = at

    def latest_dataset(self, model: str) -> str | None:
        return self.datasets_seen.get(model)


class FakeModelCards:
    def __init__(self) -> None:
        self.cards: dict[str, list[dict[str, Any]]] = {}
        """Each card's content versions, oldest first."""

    def upsert(self, name: str, content: dict[str, Any]) -> Literal["created", "updated", "unchanged"]:
        versions = self.cards.setdefault(name, [])
        if versions and versions[-1] == content:
            return "unchanged"
        versions.append(content)
        return "created" if len(versions) == 1 else "updated"

    def content(self, name: str) -> dict[str, Any] | None:
        versions = self.cards.get(name)
        return versions[-1] if versions else None
