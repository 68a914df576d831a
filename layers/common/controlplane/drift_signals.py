"""Where drift signals enter: alarms, Model Monitor runs and "Drift Detected" events become `DriftSignal`s, which
open an incident (and start the drift workflow of controlplane.drift) or join one as evidence."""

from datetime import datetime, timedelta
from typing import Literal

from controlplane import clock
from controlplane.audit import record_and_announce
from controlplane.config import ControlPlaneConfig
from controlplane.drift_config import DriftPolicy, DriftSignal, SignalKind, controlled_model, untrusted_signal
from controlplane.events.monitoring import AlarmStateChange, DriftDetected, ProcessingJobStateChange
from controlplane.naming import digest, serving_lineage
from controlplane.ports import (
    Announcement,
    AuditRecord,
    DriftLedger,
    Incident,
    IncidentChange,
    ViolationReports,
    WorkflowStart,
    WriteConflict,
)
from controlplane.schema import StrictModel

# What a monitoring job's environment says it analysed (`analysis_type`, as the SageMaker SDK sets it, or a
# `monitoring_type`), and the signal kind that means; no such variable means a data-quality run.
_MONITORING_KINDS: dict[str, SignalKind] = {
    "MODEL_QUALITY": "model_quality",
    "MODEL_BIAS": "bias",
    "MODEL_EXPLAINABILITY": "explainability",
    "DataQuality": "data_quality",
    "ModelQuality": "model_quality",
    "ModelBias": "bias",
    "ModelExplainability": "explainability",
}
_DRIFT_CHECKS = frozenset({"baseline_drift_check"})


def signal_from_alarm(event: AlarmStateChange, config: ControlPlaneConfig) -> DriftSignal | None:
    """An alarm the config maps to a model; None for every other alarm of the account."""
    found = config.drift_alarm(event.detail.alarm_name)
    if found is None:
        return None
    model, alarm = found
    state = event.detail.state
    if state.value == "INSUFFICIENT_DATA":
        return None
    endpoint = alarm.endpoint or model.production_endpoint()
    assert endpoint is not None  # config validation: drift alarms need a deployment
    return DriftSignal(
        source="alarm",
        signal_id=f"alarm:{alarm.alarm_name}:{state.timestamp or event.time.isoformat()}:{state.value}",
        endpoint=endpoint,
        kind=alarm.kind,
        state="alarm" if state.value == "ALARM" else "ok",
        reason=f"alarm {alarm.alarm_name} is {state.value}: {state.reason}"[:500],
        observed_at=event.time,
        model=model.name,
    )


def signal_from_monitoring(event: ProcessingJobStateChange, reports: ViolationReports) -> DriftSignal | None:
    """A Model Monitor run that completed with violations; None for other processing jobs and clean runs."""
    detail = event.detail
    endpoint = detail.environment.get("sagemaker_endpoint_name")
    if endpoint is None or detail.status != "Completed":
        return None
    if not (detail.exit_message or "").startswith("CompletedWithViolations"):
        return None
    monitoring_type = detail.environment.get("analysis_type") or detail.environment.get("monitoring_type", "")
    outputs = detail.output_config.outputs if detail.output_config else []
    output_uri = next((output.s3_output.s3_uri for output in outputs if output.s3_output), None)
    violations = reports.violations(output_uri) if output_uri else []
    checks = {str(violation.get("constraint_check_type", "")) for violation in violations}
    kind: SignalKind = _MONITORING_KINDS.get(monitoring_type, "data_quality")
    if kind == "data_quality" and checks & _DRIFT_CHECKS:
        kind = "data_drift"
    features = sorted({str(violation["feature_name"]) for violation in violations if violation.get("feature_name")})
    return DriftSignal(
        source="monitoring",
        signal_id=f"monitoring:{detail.job_name}",
        endpoint=endpoint,
        kind=kind,
        state="alarm",
        reason=f"{detail.exit_message} ({', '.join(sorted(checks - {''})) or 'see the report'})"[:500],
        observed_at=event.time,
        evidence_uri=f"{output_uri.rstrip('/')}/constraint_violations.json" if output_uri else None,
        features=features,
    )


def signal_from_custom(event: DriftDetected) -> DriftSignal:
    detail = event.detail
    return DriftSignal(
        source="custom",
        signal_id=f"custom:{event.id}",
        endpoint=detail.endpoint,
        kind=detail.kind,
        state="alarm",
        reason=detail.description or f"{detail.kind} reported by {event.source}",
        observed_at=event.time,
        model=detail.model,
        severity=detail.severity,
        evidence_uri=detail.evidence_uri,
        features=detail.features,
        dataset_uri=detail.dataset_uri,
        detector=event.source,
    )


class SignalOutcome(StrictModel):
    action: Literal["ignored", "incident_opened", "evidence_added", "recovered"]
    reason: str
    incident_id: str | None = None
    execution_name: str | None = None


def drift_execution_name(endpoint: str, incident_id: str) -> str:
    return f"drift-{endpoint[:50]}-{incident_id[:16]}"


def on_signal(signal: DriftSignal, config: ControlPlaneConfig, ledger: DriftLedger, data_bucket: str) -> SignalOutcome:
    """One incident per model, endpoint and kind of signal (so a quality drop is never swallowed by an open
    data-drift incident): a new one starts the drift workflow; the rest is evidence. The incident's change and
    the signal's record (which carries the start or the announcement) are one write. An untrusted signal is
    recorded, announced and changes nothing."""
    try:
        return _apply_signal(signal, config, ledger, data_bucket)
    except WriteConflict:  # another signal changed the incident meanwhile: decide again on what is there now
        return _apply_signal(signal, config, ledger, data_bucket)


def _apply_signal(
    signal: DriftSignal, config: ControlPlaneConfig, ledger: DriftLedger, data_bucket: str
) -> SignalOutcome:
    now = clock.now()
    model = controlled_model(signal, config)
    if model is None or model.drift is None:
        why = "no model under control serves" if model is None else f"model '{model.name}' has no drift policy for"
        ledger.record(
            AuditRecord(
                record_id=f"{signal.signal_id}#ignored",
                kind="DriftIgnored",
                model=signal.model or "(unknown)",
                reason=f"{why} endpoint '{signal.endpoint}': {signal.reason}",
                at=now,
                status="Ignored",
                details={"endpoint": signal.endpoint, "source": signal.source, "kind": signal.kind},
            )
        )
        return SignalOutcome(action="ignored", reason=f"{why} endpoint '{signal.endpoint}'")
    untrusted = untrusted_signal(signal, model, data_bucket)
    if untrusted is not None:
        record = AuditRecord(
            record_id=f"{signal.signal_id}#ignored",
            kind="DriftIgnored",
            model=model.name,
            reason=untrusted,
            at=now,
            status="Rejected",
            details={
                "endpoint": signal.endpoint,
                "source": signal.source,
                "kind": signal.kind,
                "detector": signal.detector,
                "dataset_uri": signal.dataset_uri,
            },
        )
        record_and_announce(record, "Drift Signal Rejected", ledger)
        return SignalOutcome(action="ignored", reason=untrusted)
    policy = model.drift
    if ledger.has_record(_signal_record_id(signal)):
        return SignalOutcome(action="ignored", reason="signal already handled (a redelivered event)")
    incident = ledger.get_incident(model.name, signal.endpoint, signal.kind)
    if signal.state == "ok":
        if incident is None or incident.status != "open":
            # Recorded, so that a redelivery after a later alarm (EventBridge does not keep order) stays ignored.
            ledger.record(
                AuditRecord(
                    record_id=_signal_record_id(signal),
                    kind="DriftIgnored",
                    model=model.name,
                    reason=f"no open incident to recover: {signal.reason}",
                    at=now,
                    status="Ignored",
                    details={"endpoint": signal.endpoint, "source": signal.source, "kind": signal.kind},
                )
            )
            return SignalOutcome(action="ignored", reason="no open incident to recover")
        recovering = incident._replace(status="recovering", recovered_at=now)
        resolved = Announcement(
            "Drift Resolved",
            {
                "model": model.name,
                "endpoint": signal.endpoint,
                "incident_id": incident.incident_id,
                "reason": signal.reason,
            },
        )
        _record_signal(model.name, recovering, signal, "DriftRecovered", ledger, incident.incident_id, resolved)
        return SignalOutcome(action="recovered", reason=signal.reason, incident_id=incident.incident_id)
    if incident is not None and _absorbs(incident, policy, now):
        joined = incident._replace(status="open", recovered_at=None, signal_count=incident.signal_count + 1)
        _record_signal(model.name, joined, signal, "DriftEvidence", ledger, incident.incident_id)
        return SignalOutcome(
            action="evidence_added", reason="joins the open incident", incident_id=incident.incident_id
        )
    incident_id = digest(model.name, signal.endpoint, signal.kind, signal.signal_id, length=16)
    opened = Incident(model.name, signal.endpoint, incident_id, "open", now, signal.kind, 1)
    name = drift_execution_name(signal.endpoint, incident_id)
    start = WorkflowStart("drift", name, {"incident_id": incident_id, "signal": signal.model_dump(mode="json")})
    expected = incident.incident_id if incident else None
    _record_signal(model.name, opened, signal, "DriftIncidentOpened", ledger, expected, start=start)
    return SignalOutcome(action="incident_opened", reason=signal.reason, incident_id=incident_id, execution_name=name)


def _absorbs(incident: Incident, policy: DriftPolicy, now: datetime) -> bool:
    if incident.status == "open":
        return now - incident.opened_at < timedelta(minutes=policy.incident_window_minutes)
    if incident.status == "recovering" and incident.recovered_at is not None:
        return now - incident.recovered_at < timedelta(minutes=policy.recovery_grace_minutes)
    return False


def _signal_record_id(signal: DriftSignal) -> str:
    return f"{signal.signal_id}#signal"


def _record_signal(
    model: str,
    incident: Incident,
    signal: DriftSignal,
    kind: str,
    ledger: DriftLedger,
    expected_id: str | None,
    announcement: Announcement | None = None,
    start: WorkflowStart | None = None,
) -> None:
    """What the signal did to its incident, written with the incident's change; the record also marks the
    signal as handled."""
    record = AuditRecord(
        record_id=_signal_record_id(signal),
        kind=kind,
        model=model,
        reason=signal.reason,
        at=clock.now(),
        status=incident.status,
        details={"incident_id": incident.incident_id, "endpoint": signal.endpoint, "source": signal.source},
        announcement=announcement,
        start=start,
        lineage=serving_lineage(signal.endpoint, ledger),
    )
    ledger.record(record, IncidentChange(incident, expected_id))
