"""Drift response: the drift workflow's tasks. An incident (opened by a signal, see controlplane.drift_signals) or an
operator's request gets one response from a tested per-model policy: roll back, retrain, or ask a human.

Each task function serves one state of statemachines/drift.asl.json, which branches on `wait_for_human` and
`action` computed here.
"""

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field

from controlplane import clock
from controlplane.audit import record_and_announce, record_rejected_request
from controlplane.config import ControlPlaneConfig
from controlplane.deployment_config import ENDPOINT_NAME_PATTERN
from controlplane.drift_config import Action, DriftPolicy, DriftSignal, controlled_model, untrusted_signal
from controlplane.errors import InvalidRequest
from controlplane.failures import StepFailure
from controlplane.models import parse_request
from controlplane.naming import digest, retrain_execution_name, rollback_execution_name, serving_lineage
from controlplane.ports import (
    Announcement,
    AuditRecord,
    DecisionWait,
    DriftLedger,
    LedgerWrite,
    RetrainNote,
    WorkflowStart,
)
from controlplane.requests import RetrainRequest, RollbackRequest
from controlplane.schema import StrictModel


class DriftRequest(StrictModel):
    """A manual drift response: an operator decides for an endpoint."""

    endpoint: Annotated[str, Field(pattern=ENDPOINT_NAME_PATTERN)]
    action: Literal["retrain", "rollback", "dismiss"]
    reason: Annotated[str, Field(min_length=1, max_length=256)]


class DriftContext(StrictModel):
    """What the drift workflow works on, validated once by `prepare`."""

    incident_id: str
    model: str
    endpoint: str
    kind: str
    reason: str
    signal: DriftSignal | None = None
    forced_action: Action | None = None
    execution_name: str
    lineage: str | None = None
    """The lineage key of the version the endpoint served when the workflow started."""


def prepare(
    payload: Any, execution_name: str, config: ControlPlaneConfig, data_bucket: str, ledger: DriftLedger | None = None
) -> DriftContext:
    """A signal-triggered incident, or an operator's decision for an endpoint; InvalidRequest says what to fix.
    With the ledger, the context names the lineage of the version the endpoint serves."""
    context = _context(payload, execution_name, config, data_bucket)
    if ledger is None:
        return context
    return context.model_copy(update={"lineage": serving_lineage(context.endpoint, ledger)})


def _context(payload: Any, execution_name: str, config: ControlPlaneConfig, data_bucket: str) -> DriftContext:
    if not isinstance(payload, dict):
        raise InvalidRequest('Invalid drift request: expected a JSON object like {"endpoint": ..., "action": ...}')
    if "signal" in payload:
        signal = parse_request(DriftSignal, payload["signal"], "drift signal")
        model = controlled_model(signal, config)
        if model is None:
            raise InvalidRequest(f"Endpoint '{signal.endpoint}' is not a stage of any configured model")
        untrusted = untrusted_signal(signal, model, data_bucket)
        if untrusted is not None:
            raise InvalidRequest(f"Untrusted drift signal: {untrusted}")
        return DriftContext(
            incident_id=str(payload.get("incident_id") or digest(signal.signal_id, length=16)),
            model=model.name, endpoint=signal.endpoint, kind=signal.kind, reason=signal.reason, signal=signal,
            execution_name=execution_name,
        )  # fmt: skip
    request = parse_request(DriftRequest, payload, "drift request")
    found = config.stage_for_endpoint(request.endpoint)
    if found is None:
        raise InvalidRequest(f"Endpoint '{request.endpoint}' is not a stage of any configured model")
    return DriftContext(
        incident_id=digest("manual", execution_name, length=16),
        model=found[0].name, endpoint=request.endpoint, kind="manual", reason=request.reason,
        forced_action=request.action, execution_name=execution_name,
    )  # fmt: skip


class Decision(StrictModel):
    action: Literal["rollback", "retrain", "dismiss", "notify"]
    reason: str
    wait_for_human: bool = False
    proposed_action: str | None = None
    timeout_seconds: int = 0
    default_action: Action = "dismiss"
    start_execution: str | None = None
    start_input: dict[str, Any] | None = None
    asked_human: bool = False
    """A human was asked (answered or not): recording the response closes the question."""


def _deployed_recently(context: DriftContext, policy: DriftPolicy, ledger: DriftLedger, now: datetime) -> bool:
    """Whether the serving version went live (forward, not by a rollback) within the rollback window."""
    state = ledger.get_endpoint_state(context.endpoint)
    if state is None or not state.serving_package_arn:
        return False
    deployed = ledger.get_stage_deployment(state.serving_package_arn, state.stage)
    window = timedelta(minutes=policy.rollback_window_minutes)
    return deployed is not None and deployed.status == "Deployed" and now - deployed.deployed_at < window


def _rollback(context: DriftContext, ledger: DriftLedger) -> tuple[str, dict[str, Any]] | None:
    state = ledger.get_endpoint_state(context.endpoint)
    if state is None or not state.previous_package_arn:
        return None
    found = ledger.get_stage_deployment(state.previous_package_arn, state.stage)
    if found is None or found.status != "Deployed":
        return None
    request = RollbackRequest(
        endpoint=context.endpoint, to=state.previous_package_arn, reason=f"drift: {context.reason}"[:256]
    )
    return rollback_execution_name(context.endpoint, f"incident:{context.incident_id}"), request.model_dump()


def _retrain(
    context: DriftContext, policy: DriftPolicy, ledger: DriftLedger, chosen_dataset: str | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The retrain start, on the dataset a human chose, else the signal's, the policy's or the newest one; the
    retrain workflow refuses any of them outside the model's data."""
    dataset = chosen_dataset or (context.signal.dataset_uri if context.signal else None) or policy.retrain_dataset_uri
    dataset = dataset or ledger.latest_dataset(context.model)
    if dataset is None:
        return None
    run_key = f"drift-{context.incident_id[:12]}"
    reason = f"drift incident {context.incident_id[:12]}: {context.reason}"[:256]
    request = RetrainRequest(model=context.model, dataset_uri=dataset, reason=reason, run_key=run_key)
    return retrain_execution_name(context.model, dataset, run_key), request.model_dump(exclude_none=True)


def decide_response(
    context: DriftContext, policy: DriftPolicy, ledger: DriftLedger, now: datetime | None = None
) -> Decision:
    """The per-model policy: rollback for a fresh deployment's quality problem, retrain for data drift within
    cooldown and budget, otherwise ask a human (who has until the timeout; then the default action applies)."""
    now = now or clock.now()
    timeout = policy.approval_timeout_minutes * 60
    if context.forced_action is not None:
        return _resolve(context, policy, ledger, context.forced_action, f"decided by an operator: {context.reason}")
    proposal: Decision
    if context.kind in policy.rollback_on:
        if _deployed_recently(context, policy, ledger, now):
            proposal = _resolve(context, policy, ledger, "rollback", f"{context.kind} right after a deployment")
        else:
            proposal = Decision(action="notify", reason=f"{context.kind}, but no deployment in the rollback window")
    elif context.kind in policy.retrain_on:
        history = ledger.retrain_times(context.model, since=now - policy.retrain_lookback)
        last_day = [moment for moment in history if now - moment < timedelta(days=1)]
        if history and now - max(history) < timedelta(minutes=policy.retrain_cooldown_minutes):
            proposal = Decision(
                action="notify", reason=f"retrain cooldown: the last drift retrain was at {max(history):%H:%M}Z"
            )
        elif len(last_day) >= policy.max_retrains_per_day:
            proposal = Decision(
                action="notify", reason=f"retrain budget of {policy.max_retrains_per_day} a day is spent"
            )
        else:
            proposal = _resolve(context, policy, ledger, "retrain", f"{context.kind} on {context.endpoint}")
    else:
        proposal = Decision(action="notify", reason=f"no automatic response to {context.kind}")
    if proposal.action == "notify" or policy.require_approval:
        return Decision(
            action="notify",
            reason=proposal.reason + ("; approval required" if proposal.action != "notify" else ""),
            wait_for_human=True,
            proposed_action=proposal.action if proposal.action != "notify" else None,
            timeout_seconds=timeout,
            default_action=policy.default_action,
        )
    return proposal


def _resolve(
    context: DriftContext,
    policy: DriftPolicy,
    ledger: DriftLedger,
    action: Action,
    reason: str,
    chosen_dataset: str | None = None,
) -> Decision:
    """Turn an action into the execution that carries it out, or into a notification when it cannot be done."""
    if action == "dismiss":
        return Decision(action="dismiss", reason=reason)
    target = _rollback(context, ledger) if action == "rollback" else _retrain(context, policy, ledger, chosen_dataset)
    if target is None:
        missing = "no earlier healthy version to roll back to" if action == "rollback" else "no dataset to retrain on"
        return Decision(action="notify", reason=f"{reason}, but {missing}")
    name, request = target
    return Decision(action=action, reason=reason, start_execution=name, start_input=request)


class HumanAnswer(StrictModel):
    """What the decision workflow (controlplane.decisions) resumes the drift workflow with."""

    incident_id: str
    decision_execution_arn: str
    action: Action
    by: str
    reason: str
    dataset_uri: str | None = None


def apply_answer(
    context: DriftContext,
    decision: Decision,
    answer: Any,
    config: ControlPlaneConfig,
    ledger: DriftLedger,
    problem: StepFailure | None = None,
) -> Decision:
    """A human's answer becomes the decision carried out; without a usable one (`problem`: the timeout or the
    rejected answer), the policy's default action applies. Only an answer the decision workflow claimed in the
    ledger for this incident counts: a task token used any other way is refused."""
    policy = config.model(context.model).drift or DriftPolicy()
    if answer is None:
        if problem is not None and problem.error != "States.Timeout":
            why = f"answer rejected ({problem.message})"
        else:
            why = "no answer in time"
        decided = _resolve(
            context, policy, ledger, decision.default_action, f"{why}; default: {decision.default_action}"
        )
        return decided.model_copy(update={"asked_human": True})
    human = parse_request(HumanAnswer, answer, "decision")
    if human.incident_id != context.incident_id:
        raise InvalidRequest(
            f"An answer about incident '{human.incident_id}' reached the workflow of incident '{context.incident_id}'"
        )
    waiting = ledger.get_decision(context.incident_id)
    if waiting is None or waiting.decision_execution_arn != human.decision_execution_arn:
        raise InvalidRequest(
            f"The answer for incident '{context.incident_id}' did not come through the decision workflow "
            "(stack output DecisionStateMachineArn), which alone may answer"
        )
    reason = f"{human.action} decided by {human.by}: {human.reason}"
    decided = _resolve(context, policy, ledger, human.action, reason, human.dataset_uri)
    return decided.model_copy(update={"asked_human": True})


def ask_human(
    task_token: str,
    context: DriftContext,
    decision: Decision,
    execution_arn: str,
    decision_state_machine_arn: str,
    ledger: DriftLedger,
) -> None:
    """Ask for a decision. The task token stays in the ledger, written with the request's record; the notification
    names the incident and the command that answers it through the decision workflow."""
    answer = json.dumps(
        {
            "incident_id": context.incident_id,
            "action": decision.proposed_action or "retrain|rollback|dismiss",
            "by": "<your name>",
            "reason": "<why>",
        }
    )
    requested = Announcement(
        "Drift Decision Requested",
        {
            "model": context.model,
            "endpoint": context.endpoint,
            "incident_id": context.incident_id,
            "reason": decision.reason,
            "proposed_action": decision.proposed_action,
            "default_action": decision.default_action,
            "timeout_seconds": decision.timeout_seconds,
            "answer_with": (
                f"aws stepfunctions start-execution --state-machine-arn {decision_state_machine_arn} --input '{answer}'"
            ),
        },
    )
    record = AuditRecord(
        record_id=f"{context.execution_name}#DriftDecisionRequested#{digest(task_token, length=12)}",
        kind="DriftDecisionRequested",
        model=context.model,
        reason=decision.reason,
        at=clock.now(),
        status="waiting",
        execution_arn=execution_arn,
        details={"incident_id": context.incident_id, "endpoint": context.endpoint},
        announcement=requested,
        lineage=context.lineage,
    )
    waiting = DecisionWait(
        incident_id=context.incident_id,
        model=context.model,
        endpoint=context.endpoint,
        status="waiting",
        drift_execution_arn=execution_arn,
        task_token=task_token,
        lineage=context.lineage,
    )
    ledger.record(record, waiting)


def record_decision(
    context: DriftContext, decision: Decision, policy: DriftPolicy, execution_arn: str, ledger: DriftLedger
) -> None:
    """The incident's response, its reason and evidence, written once with the start that carries it out (and,
    for a retrain, its place in the retrain budget, kept as long as the policy's lookback), and announced."""
    record = AuditRecord(
        record_id=f"{context.execution_name}#DriftResponseDecided",
        kind="DriftResponseDecided",
        model=context.model,
        reason=decision.reason,
        at=clock.now(),
        status=decision.action,
        execution_arn=execution_arn,
        details={
            "incident_id": context.incident_id,
            "endpoint": context.endpoint,
            "signal_kind": context.kind,
            "evidence_uri": context.signal.evidence_uri if context.signal else None,
            "features": context.signal.features if context.signal else None,
            "started_execution": decision.start_execution,
        },
    )
    record = record._replace(
        details={key: value for key, value in record.details.items() if value}, lineage=context.lineage
    )
    if decision.action in ("rollback", "retrain") and decision.start_execution and decision.start_input is not None:
        workflow: Literal["deploy", "retrain"] = "deploy" if decision.action == "rollback" else "retrain"
        record = record._replace(start=WorkflowStart(workflow, decision.start_execution, decision.start_input))
    detail = {
        "model": context.model,
        "endpoint": context.endpoint,
        "action": decision.action,
        "reason": decision.reason,
        "incident_id": context.incident_id,
        "started_execution": decision.start_execution,
    }
    also: list[LedgerWrite] = []
    if decision.action == "retrain":
        now = clock.now()
        also.append(RetrainNote(context.model, now, context.incident_id, counts_until=now + policy.retrain_lookback))
    if decision.asked_human:  # the question is closed: its token is removed, later answers are refused
        also.append(
            DecisionWait(context.incident_id, context.model, context.endpoint, "closed", action=decision.action,
                         reason=decision.reason, lineage=context.lineage)
        )  # fmt: skip
    record_and_announce(record, "Drift Response Decided", ledger, detail, also=tuple(also))


def record_failure(
    context: DriftContext, failure: StepFailure, execution_arn: str, ledger: DriftLedger
) -> dict[str, str]:
    """The response could not be decided (a task failed after its retries): recorded and announced; the execution
    then fails, which raises the drift workflow's alarm, and the incident waits for an operator."""
    message = failure.message
    record = AuditRecord(
        record_id=f"{context.execution_name}#DriftResponseFailed",
        kind="DriftResponseFailed",
        model=context.model,
        reason=f"no response decided: {message}",
        at=clock.now(),
        status="failed",
        execution_arn=execution_arn,
        details={"incident_id": context.incident_id, "endpoint": context.endpoint, "signal_kind": context.kind},
        lineage=context.lineage,
    )
    record_and_announce(record, "Drift Response Failed", ledger)
    return {"message": message}


def record_rejected(
    request: Any,
    failure: StepFailure,
    execution_name: str,
    execution_arn: str,
    ledger: DriftLedger,
) -> dict[str, str]:
    subject = str(request.get("endpoint", "(request)")) if isinstance(request, dict) else "(request)"
    message = record_rejected_request(
        request, failure, execution_name, execution_arn, "DriftRequestRejected", "Drift Request Rejected",
        subject, ledger,
    )  # fmt: skip
    return {"message": message}
