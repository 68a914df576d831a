"""A human's answer to a workflow's question, through the decision workflow (statemachines/decision.asl.json): a
drift incident's response, or the approval of a deployment into a stage that requires one (separation of duties).

The waiting workflow's task token never leaves the control plane: it waits in the ledger under the question's id
(incident id or approval id). Answering is `states:StartExecution` on the decision state machine (an IAM permission
on one ARN, so CloudTrail holds who answered); its task looks the token up, refuses a stale, repeated or misdirected
answer (and an approval by the requester), resumes the waiting workflow and records who claimed to answer next to
the execution that did.
"""

import re
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from controlplane import clock
from controlplane.audit import record_and_announce, record_rejected_request
from controlplane.config import ControlPlaneConfig
from controlplane.errors import InvalidRequest
from controlplane.failures import StepFailure
from controlplane.models import DatasetUri, parse_request
from controlplane.ports import AuditRecord, DecisionLedger, DecisionWait, Workflows
from controlplane.schema import StrictModel

INCIDENT_ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
APPROVAL_ID_PATTERN = r"^approval-[0-9a-f]{16}$"


class DecisionRequest(StrictModel):
    """A human's answer to a "Drift Decision Requested": the input of the decision state machine."""

    incident_id: Annotated[str, Field(pattern=INCIDENT_ID_PATTERN)]
    """The incident_id of the Drift Decision Requested notification."""
    action: Literal["rollback", "retrain", "dismiss"]
    by: Annotated[str, Field(min_length=1, max_length=128)]
    """Who answers, as they claim; the execution's ARN (recorded with it) leads to the real principal in CloudTrail."""
    reason: Annotated[str, Field(min_length=1, max_length=256)]
    dataset_uri: DatasetUri | None = None
    """retrain only: the dataset to train on (in the model's data); default: the one the policy would choose."""

    @model_validator(mode="after")
    def _dataset_only_for_retrain(self) -> Self:
        if self.dataset_uri is not None and self.action != "retrain":
            raise ValueError(f"dataset_uri applies only to action 'retrain', not '{self.action}'; remove it")
        return self


class ApprovalRequest(StrictModel):
    """A human's answer to a "Deployment Approval Requested": the input of the decision state machine."""

    approval_id: Annotated[str, Field(pattern=APPROVAL_ID_PATTERN)]
    """The approval_id of the Deployment Approval Requested notification."""
    approve: bool
    by: Annotated[str, Field(min_length=1, max_length=128)]
    """Who answers, as they claim (not the requester); the execution's ARN leads to the real principal in CloudTrail."""
    reason: Annotated[str, Field(min_length=1, max_length=256)]


class DecisionOutcome(StrictModel):
    outcome: Literal["answered"]
    incident_id: str
    action: str
    drift_execution_arn: str | None


class ApprovalOutcome(StrictModel):
    outcome: Literal["answered"]
    approval_id: str
    action: Literal["approve", "refuse"]


def _not_waiting(incident_id: str, found: DecisionWait | None, execution_arn: str) -> str | None:
    """Why the question takes no answer from this execution; None when it does."""
    approval = found is not None and found.question == "approval"
    subject = f"approval '{incident_id}'" if approval else f"incident '{incident_id}'"
    if found is None:
        if re.fullmatch(APPROVAL_ID_PATTERN, incident_id):
            return (
                f"No approval is waiting under '{incident_id}': use the approval_id of a Deployment Approval "
                "Requested notification"
            )
        return (
            f"No decision is waiting for incident '{incident_id}': use the incident_id of a Drift Decision Requested "
            "notification"
        )
    if found.status == "closed":
        if approval:
            outcome = "approved" if found.action == "approve" else "refused"
            return f"The decision on {subject} is closed: the deployment was {outcome} ({found.reason})"
        return f"The decision on {subject} is closed: the response was {found.action} ({found.reason})"
    if found.decision_execution_arn in (None, execution_arn):
        return None
    if found.status == "expired":
        waiter = "deploy workflow" if approval else "drift workflow"
        return f"The {waiter} of {subject} no longer waits for an answer"
    return (
        f"{subject[0].upper()}{subject[1:]} was already answered by {found.answered_by} ({found.action}, execution "
        f"{found.decision_execution_arn}); a decision is taken once"
    )


def _claim_and_resume(
    question_id: str,
    waiting: DecisionWait,
    by: str,
    action: str,
    answer: dict[str, Any],
    execution_arn: str,
    ledger: DecisionLedger,
    workflows: Workflows,
) -> DecisionWait:
    """Claim the question for this execution and resume its workflow with the answer; InvalidRequest when another
    answer came first or the workflow no longer waits (which then marks the question expired)."""
    claimed = ledger.claim_decision(question_id, execution_arn, by, action)
    if claimed is None:  # answered or closed since it was read
        raise InvalidRequest(
            _not_waiting(question_id, ledger.get_decision(question_id), execution_arn)
            or f"The decision on '{question_id}' is no longer waiting"
        )
    assert claimed.task_token is not None  # a question keeps its token until it is closed, which a claim refuses
    resumed = workflows.resume(claimed.task_token, {**answer, "decision_execution_arn": execution_arn})
    # A token resumes once: a retry of this task after its resume went through is refused like a late answer, so
    # an answer this execution had already claimed counts as delivered (the workflow records what it applied).
    retried = waiting.status == "answered" and waiting.decision_execution_arn == execution_arn
    if not resumed and not retried:  # the task timed out or the execution ended: its default action applies
        ledger.expire_decision(question_id, execution_arn)
        if waiting.question == "approval":
            raise InvalidRequest(
                f"The deployment of approval '{question_id}' no longer waits for an answer (it timed out or ended; "
                "without an approval in time it is refused)"
            )
        raise InvalidRequest(
            f"The drift workflow of incident '{question_id}' no longer waits for an answer (it timed out "
            "or ended, and its default action applies)"
        )
    return claimed


def answer_approval(payload: Any, execution_arn: str, ledger: DecisionLedger, workflows: Workflows) -> ApprovalOutcome:
    """Resume the deployment waiting for this approval, once, with an answer by someone other than its requester."""
    request = parse_request(ApprovalRequest, payload, "approval")
    waiting = ledger.get_decision(request.approval_id)
    problem = _not_waiting(request.approval_id, waiting, execution_arn)
    if problem is not None:
        raise InvalidRequest(problem)
    assert waiting is not None  # _not_waiting said why otherwise
    if same_person(request.by, waiting.requested_by):
        raise InvalidRequest(
            f"{request.by} requested the deployment to '{waiting.stage}' and cannot also approve it (separation of "
            "duties); another person must answer"
        )
    action: Literal["approve", "refuse"] = "approve" if request.approve else "refuse"
    _claim_and_resume(
        request.approval_id, waiting, request.by, action, request.model_dump(), execution_arn, ledger, workflows
    )
    details = {
        "approval_id": request.approval_id,
        "stage": waiting.stage,
        "endpoint": waiting.endpoint,
        "model_package_arn": waiting.package_arn,
        "requested_by": waiting.requested_by,
        "by": request.by,
    }
    record = _answered("ApprovalAnswered", waiting.model, f"{action} by {request.by}: {request.reason}", action,
                       execution_arn, details)  # fmt: skip
    record = record._replace(lineage=waiting.lineage)
    record_and_announce(record, "Deployment Approval Answered", ledger)
    return ApprovalOutcome(outcome="answered", approval_id=request.approval_id, action=action)


def _answered(
    kind: str, model: str, reason: str, status: str, execution_arn: str, details: dict[str, Any]
) -> AuditRecord:
    """The record of an accepted answer, one per decision execution."""
    return AuditRecord(
        record_id=f"{execution_arn.rsplit(':', 1)[-1]}#{kind}",
        kind=kind,
        model=model,
        reason=reason,
        at=clock.now(),
        status=status,
        execution_arn=execution_arn,
        details=details,
    )


def same_person(answered_by: str, requested_by: str | None) -> bool:
    """The separation-of-duties test: the same claimed identity, whatever its case or surrounding spaces."""
    return answered_by.strip().casefold() == (requested_by or "").strip().casefold()


def answer(
    payload: Any,
    execution_arn: str,
    config: ControlPlaneConfig,
    data_bucket: str,
    ledger: DecisionLedger,
    workflows: Workflows,
) -> DecisionOutcome | ApprovalOutcome:
    """Resume the waiting workflow with this answer, once; InvalidRequest says why it cannot be."""
    if isinstance(payload, dict) and "approval_id" in payload:
        return answer_approval(payload, execution_arn, ledger, workflows)
    request = parse_request(DecisionRequest, payload, "decision")
    waiting = ledger.get_decision(request.incident_id)
    problem = _not_waiting(request.incident_id, waiting, execution_arn)
    if problem is None and waiting is not None and waiting.question != "drift":
        problem = f"'{request.incident_id}' is an approval; answer it with approval_id, approve, by and reason"
    if problem is not None:
        raise InvalidRequest(problem)
    assert waiting is not None  # _not_waiting said why otherwise
    if request.dataset_uri is not None:
        problem = config.model(waiting.model).dataset_location_problem(request.dataset_uri, data_bucket)
        if problem is not None:
            raise InvalidRequest(problem)
    claimed = _claim_and_resume(
        request.incident_id, waiting, request.by, request.action,
        request.model_dump(exclude_none=True), execution_arn, ledger, workflows,
    )  # fmt: skip
    details = {
        "incident_id": request.incident_id,
        "endpoint": claimed.endpoint,
        "by": request.by,
        "drift_execution_arn": claimed.drift_execution_arn,
    }
    reason = f"{request.action} decided by {request.by}: {request.reason}"
    record = _answered("DecisionAnswered", claimed.model, reason, request.action, execution_arn, details)
    record = record._replace(dataset_uri=request.dataset_uri, lineage=claimed.lineage)
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
    question_id = request.get("approval_id") or request.get("incident_id") if isinstance(request, dict) else None
    waiting = None
    if isinstance(question_id, str) and (
        re.fullmatch(INCIDENT_ID_PATTERN, question_id) or re.fullmatch(APPROVAL_ID_PATTERN, question_id)
    ):
        waiting = ledger.get_decision(question_id)
    message = record_rejected_request(
        request, failure, execution_name, execution_arn, "DecisionRejected", "Drift Decision Rejected",
        waiting.model if waiting else "(unknown)", ledger,
    )  # fmt: skip
    return {"message": message}
