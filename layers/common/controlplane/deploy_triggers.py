"""What starts or resumes a deployment: the Model Registry's approvals and rejections, and endpoints settling."""

from datetime import datetime
from typing import Literal

from controlplane.audit import record_and_announce
from controlplane.config import ControlPlaneConfig, ModelConfig
from controlplane.deployment_config import Stage
from controlplane.events.endpoints import EndpointStateChange
from controlplane.events.registry import ModelPackageStateChange
from controlplane.naming import (
    approval_deploy_execution_name,
    package_group,
    package_version,
    rejection_rollback_execution_name,
    version_lineage,
)
from controlplane.observability import logger
from controlplane.ports import SETTLED_ENDPOINT_STATUSES, AuditRecord, DeploymentLedger, Workflows
from controlplane.requests import DeployRequest, RollbackRequest
from controlplane.schema import StrictModel


class IngressOutcome(StrictModel):
    action: Literal["ignored", "deploy_started", "rollback_started", "already_started", "awaiting_deploy"]
    reason: str
    execution_name: str | None = None


def on_model_package_change(
    event: ModelPackageStateChange, config: ControlPlaneConfig, ledger: DeploymentLedger, workflows: Workflows
) -> IngressOutcome:
    """An approval deploys that exact version to the first stage; a rejection of a serving version rolls back."""
    detail = event.detail
    model = config.model_for_group(detail.group)
    if model is None:
        return IngressOutcome(action="ignored", reason=f"model package group '{detail.group}' is not under control")
    if package_group(detail.arn) != detail.group:
        return IngressOutcome(action="ignored", reason=f"package {detail.arn} is not in group '{detail.group}'")
    if model.deployment is None:
        return IngressOutcome(action="ignored", reason=f"model '{model.name}' has no deployment section")
    if detail.updated_fields is not None and "ModelApprovalStatus" not in detail.updated_fields:
        changed = ", ".join(detail.updated_fields) or "nothing"
        return IngressOutcome(action="ignored", reason=f"only {changed} changed, not the approval status")
    # One change, however many copies of its event arrive, is one action (names carry its time); a later change
    # of the version (approved again after a rejection) is another. Events that change nothing do nothing.
    change = ledger.note_approval_change(detail.arn, detail.approval_status, event.changed_at)
    if change.outcome == "unchanged":
        return IngressOutcome(action="ignored", reason=f"version {detail.version} stays {change.status}: no new change")
    if change.outcome == "stale":
        reason = f"older than the latest approval change of version {detail.version} ({change.status})"
        return IngressOutcome(action="ignored", reason=reason)
    if detail.approval_status == "Approved":
        stage = model.deployment.stages[0]
        name = approval_deploy_execution_name(stage.name, model.name, detail.arn, event.changed_at)
        if not model.deploys_on_approval():
            generated_by = detail.metadata_properties.generated_by if detail.metadata_properties else None
            lineage = version_lineage(detail.arn, generated_by, ledger)
            return _announce_awaiting_deploy(model, detail.arn, stage, name, event.changed_at, lineage, ledger)
        request = DeployRequest(
            model_package_arn=detail.arn,
            stage=stage.name,
            reason=f"version {detail.version} approved in the Model Registry",
        )
        result = workflows.start_deploy(name, request.model_dump(exclude_none=True))
        action: Literal["deploy_started", "already_started"] = (
            "deploy_started" if result.outcome == "started" else "already_started"
        )
        return IngressOutcome(action=action, reason=f"version {detail.version} approved", execution_name=name)
    if detail.approval_status == "Rejected":
        return _roll_back_where_serving(model, detail.arn, event.changed_at, ledger, workflows)
    return IngressOutcome(action="ignored", reason=f"approval status {detail.approval_status}")


def _announce_awaiting_deploy(
    model: ModelConfig,
    package_arn: str,
    stage: Stage,
    name: str,
    approved_at: datetime,
    lineage: str,
    ledger: DeploymentLedger,
) -> IngressOutcome:
    """Maturity 1 (or deploy_on_approval: false): the owner hears of the approval; a human starts the deploy."""
    version = package_version(package_arn)
    reason = f"version {version} approved; deploy it to '{stage.name}' explicitly (deploy_on_approval is off)"
    record = AuditRecord(
        record_id=f"{name}#ApprovalAwaitingDeploy",
        kind="ApprovalAwaitingDeploy",
        model=model.name,
        reason=reason,
        at=approved_at,
        status="AwaitingDeploy",
        details={"model_package_arn": package_arn, "model_package_version": version, "stage": stage.name},
        lineage=lineage,
    )
    record_and_announce(record, "Model Version Awaiting Deploy", ledger)
    return IngressOutcome(action="awaiting_deploy", reason=reason)


def _roll_back_where_serving(
    model: ModelConfig, package_arn: str, rejected_at: datetime, ledger: DeploymentLedger, workflows: Workflows
) -> IngressOutcome:
    assert model.deployment is not None
    started: list[str] = []
    for stage in model.deployment.stages:
        state = ledger.get_endpoint_state(stage.endpoint_name)
        if state is None or state.serving_package_arn != package_arn:
            continue
        if not state.previous_package_arn:
            logger.warning("Rejected version has no predecessor to return to", extra={"endpoint": stage.endpoint_name})
            continue
        name = rejection_rollback_execution_name(stage.endpoint_name, package_arn, rejected_at)
        request = RollbackRequest(
            endpoint=stage.endpoint_name,
            to=state.previous_package_arn,
            reason=f"version {package_version(package_arn)} was rejected in the Model Registry while serving",
        )
        workflows.start_deploy(name, request.model_dump())
        started.append(name)
    if not started:
        return IngressOutcome(action="ignored", reason="rejected version serves no endpoint it can be rolled back from")
    return IngressOutcome(action="rollback_started", reason="rejected version was serving", execution_name=started[0])


class EndpointEventOutcome(StrictModel):
    action: Literal["ignored", "resumed"]
    reason: str


def on_endpoint_status(
    event: EndpointStateChange, ledger: DeploymentLedger, workflows: Workflows
) -> EndpointEventOutcome:
    """Resume the deploy workflow waiting on this endpoint once it settles (it re-checks the endpoint itself)."""
    detail = event.detail
    if detail.status not in SETTLED_ENDPOINT_STATUSES:
        return EndpointEventOutcome(action="ignored", reason=f"status {detail.status} is not settled")
    token = ledger.get_endpoint_waiter(detail.endpoint_name)
    if token is None:
        return EndpointEventOutcome(action="ignored", reason="no workflow is waiting on this endpoint")
    # Resumed before the waiter is cleared: a retry after a failed resume finds the token still there.
    workflows.resume(token, {"status": detail.status, "endpoint_config": detail.endpoint_config_name})
    ledger.clear_endpoint_waiter(detail.endpoint_name, token)
    return EndpointEventOutcome(action="resumed", reason=f"endpoint {detail.status}")
