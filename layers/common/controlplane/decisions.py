"""A human's answer to a drift incident's question, through the decision workflow (statemachines/decision.asl.json).

The drift workflow's task token never leaves the control plane: it waits in the ledger under the incident id.
Answering is `states:StartExecution` on the decision state machine (an IAM permission on one ARN, so CloudTrail
holds who answered); its task looks the token up, refuses a stale, repeated or misdirected answer, resumes the
drift workflow and records who claimed to answer next to the execution that did.
"""

import re
from typing import Any, Literal

from controlplane import clock
from controlplane.audit import record_and_announce, record_rejected_request
from controlplane.config import ControlPlaneConfig
from controlplane.errors import InvalidRequest
from controlplane.failures import StepFailure
from controlplane.models import INCIDENT_ID_PATTERN, DecisionRequest, parse_request
from controlplane.ports import AuditRecord, DecisionLedger, DecisionWait, Workflows
from controlplane.schema import StrictModel


class DecisionOutcome(StrictModel):
    outcome: Literal["answered"]
    incident_id: str
    action: str
    drift_execution_arn: str | None


def _not_waiting(incident_id: str, found: DecisionWait | None, execution_arn: str) -> str | None:
    """Why the incident's question takes no answer from this execution; None when it does."""
    if found is None:
        return (
            f"No decision is waiting for incident '{incident_id}': use the incident_id of a Drift Decision Requested "
            "notification"
        )
    if found.status == "closed":
        return f"The decision on incident '{incident_id}' is closed: the response was {found.action} ({found.reason})"
    if found.decision_execution_arn in (None, execution_arn):
        return None
    if found.status == "expired":
        return f"The drift workflow of incident '{incident_id}' no longer waits for an answer"
    return (
        f"Incident '{incident_id}' was already answered by {found.answered_by} ({found.action}, execution "
        f"{found.decision_execution_arn}); a decision is taken once"
    )


def answer(
    payload: Any,
    execution_arn: str,
    config: ControlPlaneConfig,
    data_bucket: str,
    ledger: DecisionLedger,
    workflows: Workflows,
) -> DecisionOutcome:
    """Resume the incident's drift workflow with this answer, once; InvalidRequest says why it cannot be."""
    request = parse_request(DecisionRequest, payload, "decision")
    waiting = ledger.get_decision(request.incident_id)
    problem = _not_waiting(request.incident_id, waiting, execution_arn)
    if problem is not None:
        raise InvalidRequest(problem)
    assert waiting is not None  # _not_waiting said why otherwise
    if request.dataset_uri is not None:
        problem = config.model(waiting.model).dataset_location_problem(request.dataset_uri, data_bucket)
        if problem is not None:
            raise InvalidRequest(problem)
    claimed = ledger.claim_decision(request.incident_id, execution_arn, request.by, request.action)
    if claimed is None:  # answered or closed since it was read
        raise InvalidRequest(
            _not_waiting(request.incident_id, ledger.get_decision(request.incident_id), execution_arn)
            or f"The decision on incident '{request.incident_id}' is no longer waiting"
        )
    assert claimed.task_token is not None  # a question keeps its token until it is closed, which a claim refuses
    resumed = workflows.resume(
        claimed.task_token,
        {**request.model_dump(exclude_none=True), "decision_execution_arn": execution_arn},
    )
    # A token resumes once: a retry of this task after its resume went through is refused like a late answer, so
    # an answer this execution had already claimed counts as delivered (the drift workflow records what it applied).
    retried = waiting.status == "answered" and waiting.decision_execution_arn == execution_arn
    if not resumed and not retried:  # the task timed out or the execution ended: its default action applies
        ledger.expire_decision(request.incident_id, execution_arn)
        raise InvalidRequest(
            f"The drift workflow of incident '{request.incident_id}' no longer waits for an answer (it timed out "
            "or ended, and its default action applies)"
        )
    record = AuditRecord(
        record_id=f"{execution_arn.rsplit(':', 1)[-1]}#DecisionAnswered",
        kind="DecisionAnswered",
        model=claimed.model,
        reason=f"{request.action} decided by {request.by}: {request.reason}",
        at=clock.now(),
        dataset_uri=request.dataset_uri,
        status=request.action,
        execution_arn=execution_arn,
        details={
            "incident_id": request.incident_id,
            "endpoint": claimed.endpoint,
            "by": request.by,
            "drift_execution_arn": claimed.drift_execution_arn,
        },
    )
    record_and_announce(record, "Drift Decision Answered", ledger)
    return DecisionOutcome(
        outcome="answered",
        incident_id=request.incident_id,
        action=request.action,
        drift_execution_arn=claimed.drift_execution_arn,
    )


def record_rejected(
    request: Any, failure: StepFailure, execution_name: str, execution_arn: str, ledger: DecisionLedger
) -> dict[str, str]:
    """Record an answer the decision workflow refused (with the claimed identity, in the request), and why."""
    incident_id = request.get("incident_id") if isinstance(request, dict) else None
    waiting = None
    if isinstance(incident_id, str) and re.fullmatch(INCIDENT_ID_PATTERN, incident_id):
        waiting = ledger.get_decision(incident_id)
    message = record_rejected_request(
        request, failure, execution_name, execution_arn, "DecisionRejected", "Drift Decision Rejected",
        waiting.model if waiting else "(unknown)", ledger,
    )  # fmt: skip
    return {"message": message}
