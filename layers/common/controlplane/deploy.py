"""Deployment decisions: each task of statemachines/deploy.asl.json (what starts one: `controlplane.deploy_triggers`).

The state machine only orchestrates; it branches on fields computed here (`decision`, `passed`, `action`,
`outcome`, `rollback`, `promote`), and hands `record_failed` the failure explicitly (`controlplane.failures`).
"""

import json
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import Field

from controlplane import clock
from controlplane.audit import record_and_announce, record_rejected_request, summary
from controlplane.config import ControlPlaneConfig, ModelConfig
from controlplane.decisions import same_person
from controlplane.deployment_config import BiasBound, BlueGreenPolicy, DeploymentPolicy, SmokeTest, Stage
from controlplane.errors import InvalidRequest
from controlplane.failures import StepFailure
from controlplane.models import parse_request
from controlplane.naming import (
    deploy_execution_name,
    digest,
    endpoint_config_name,
    model_card_name,
    package_group,
    package_lineage,
    package_version,
    sagemaker_model_name,
    version_lineage,
)
from controlplane.observability import logger
from controlplane.ports import (
    SETTLED_ENDPOINT_STATUSES,
    AuditRecord,
    DecisionWait,
    DeploymentLedger,
    Endpoints,
    EndpointState,
    LedgerWrite,
    ModelCards,
    PackageInfo,
    Registry,
    StageDeployment,
    Workflows,
)
from controlplane.requests import DeployRequest, RollbackRequest
from controlplane.schema import StrictModel

LOCK_POLL_SECONDS = 30
WAIT_MARGIN_SECONDS = 900
"""Beyond the deployment's MaximumExecutionTimeout, how long the workflow waits for the endpoint to settle."""
# Every rollback, requested or after a failed deployment, replaces the whole fleet at once: the one place it is set.
ROLLBACK_DEPLOYMENT_CONFIG: dict[str, Any] = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
        "MaximumExecutionTimeoutInSeconds": 1800,
    }
}


class NotApproved(InvalidRequest):
    """The model package is not Approved in the Model Registry."""


class PromotionRefused(InvalidRequest):
    """The version is not healthy in the previous stage."""


def deployment_config(policy: DeploymentPolicy, alarms: list[str]) -> dict[str, Any]:
    """SageMaker's UpdateEndpoint DeploymentConfig for a stage's policy (no policy: blue/green all at once)."""
    result: dict[str, Any]
    if policy.rolling is not None:
        rolling = policy.rolling
        result = {
            "RollingUpdatePolicy": {
                "MaximumBatchSize": rolling.maximum_batch_size.as_sagemaker(),
                "WaitIntervalInSeconds": rolling.wait_interval_seconds,
                "MaximumExecutionTimeoutInSeconds": rolling.maximum_execution_timeout_seconds,
            }
        }
        if rolling.rollback_maximum_batch_size is not None:
            result["RollingUpdatePolicy"]["RollbackMaximumBatchSize"] = (
                rolling.rollback_maximum_batch_size.as_sagemaker()
            )
    else:
        blue_green = policy.blue_green or BlueGreenPolicy()
        routing = blue_green.traffic_routing
        traffic: dict[str, Any] = {"Type": routing.type, "WaitIntervalInSeconds": routing.wait_interval_seconds}
        if routing.canary_size is not None:
            traffic["CanarySize"] = routing.canary_size.as_sagemaker()
        if routing.linear_step_size is not None:
            traffic["LinearStepSize"] = routing.linear_step_size.as_sagemaker()
        result = {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": traffic,
                "TerminationWaitInSeconds": blue_green.termination_wait_seconds,
                "MaximumExecutionTimeoutInSeconds": blue_green.maximum_execution_timeout_seconds,
            }
        }
    if alarms:
        result["AutoRollbackConfiguration"] = {"Alarms": [{"AlarmName": name} for name in alarms]}
    return result


def alarm_names(stage: Stage) -> list[str]:
    rollback = stage.policy.auto_rollback
    defaults = [f"{stage.endpoint_name}-5xx-errors", f"{stage.endpoint_name}-model-latency"]
    return (defaults if rollback.default_alarms else []) + list(rollback.alarm_names)


class DeployPlan(StrictModel):
    """Everything the deploy workflow needs, computed once by `prepare`."""

    kind: Literal["deploy", "rollback"]
    model: str
    stage: str
    endpoint_name: str
    package_arn: str
    package_version: int
    model_name: str
    endpoint_config_name: str
    variant_name: str
    instance_type: str
    instance_count: int
    create_resources: bool
    run_gate: bool
    deployment_config: dict[str, Any]
    default_alarms: bool
    model_latency_p99_ms: int
    wait_timeout_seconds: int
    smoke_test: SmokeTest | None
    reason: str
    requested_by: str | None
    approved_by: str | None
    execution_name: str
    planned_at: datetime
    needs_approval: bool = False
    """The stage requires a human approval by someone other than `requested_by` (deploy.asl.json AskApproval)."""
    approval_timeout_seconds: int = 0
    promotion_approved_by: str | None = None
    """Who approved the deployment into a stage that requires approval."""
    approval_description: str | None = None
    """The Model Registry approval's ApprovalDescription."""
    lineage: str | None = None
    """The lineage key of the version whose life this is part of: the one deployed; for a rollback, the one taken
    off the endpoint."""


# ----------------------------------------------------------------------------- workflow tasks
def _stage_or_refuse(model: ModelConfig, name: str | None) -> Stage:
    assert model.deployment is not None
    stage = model.deployment.stage(name) if name else model.deployment.stages[0]
    if stage is None:
        names = ", ".join(stage.name for stage in model.deployment.stages)
        raise InvalidRequest(f"Stage '{name}' is not configured for model '{model.name}'; stages: {names}")
    return stage


def _check_home(package_arn: str, region: str, account: str) -> None:
    parts = package_arn.split(":")
    if parts[3] != region or parts[4] != account:
        raise InvalidRequest(
            f"Model package {package_arn} is in {parts[4]}/{parts[3]}, not in this control plane's {account}/{region}"
        )


def _check_promotion(model: ModelConfig, stage: Stage, package: PackageInfo, ledger: DeploymentLedger) -> None:
    assert model.deployment is not None
    previous = model.deployment.previous_stage(stage.name)
    if previous is None:
        return
    deployed = ledger.get_stage_deployment(package.arn, previous.name)
    state = ledger.get_endpoint_state(previous.endpoint_name)
    version = f"version {package.version} of '{model.name}'"
    if deployed is None or deployed.status != "Deployed":
        status = deployed.status if deployed else "never deployed"
        raise PromotionRefused(
            f"Promotion to '{stage.name}' refused: {version} is not deployed in '{previous.name}' ({status})"
        )
    if state is None or state.serving_package_arn != package.arn:
        raise PromotionRefused(
            f"Promotion to '{stage.name}' refused: {previous.endpoint_name} no longer serves {version} "
            "(rolled back or replaced)"
        )
    healthy_since = clock.now() - deployed.deployed_at
    if healthy_since < timedelta(minutes=previous.bake_minutes):
        remaining = timedelta(minutes=previous.bake_minutes) - healthy_since
        raise PromotionRefused(
            f"Promotion to '{stage.name}' refused: {version} must bake {previous.bake_minutes} min "
            f"in '{previous.name}'; try again in {int(remaining.total_seconds() // 60) + 1} min"
        )


def _plan(
    kind: Literal["deploy", "rollback"],
    model: ModelConfig,
    stage: Stage,
    package_arn: str,
    endpoint_config_name: str,
    reason: str,
    execution_name: str,
    requested_by: str | None = None,
    approved_by: str | None = None,
    approval_description: str | None = None,
    lineage: str | None = None,
) -> DeployPlan:
    version = package_version(package_arn)
    alarms = alarm_names(stage)
    config = deployment_config(stage.policy, alarms) if kind == "deploy" else ROLLBACK_DEPLOYMENT_CONFIG
    timeout = config.get("BlueGreenUpdatePolicy", config.get("RollingUpdatePolicy", {}))
    return DeployPlan(
        kind=kind,
        model=model.name,
        stage=stage.name,
        endpoint_name=stage.endpoint_name,
        package_arn=package_arn,
        package_version=version,
        model_name=sagemaker_model_name(model.name, version, package_arn),
        endpoint_config_name=endpoint_config_name,
        variant_name=stage.variant_name,
        instance_type=stage.instance_type,
        instance_count=stage.initial_instance_count,
        create_resources=kind == "deploy",
        run_gate=kind == "deploy",
        deployment_config=config,
        default_alarms=stage.policy.auto_rollback.default_alarms and kind == "deploy",
        model_latency_p99_ms=stage.policy.auto_rollback.model_latency_p99_ms,
        wait_timeout_seconds=int(timeout.get("MaximumExecutionTimeoutInSeconds", 3600)) + WAIT_MARGIN_SECONDS,
        smoke_test=stage.smoke_test,
        reason=reason,
        requested_by=requested_by,
        approved_by=approved_by,
        approval_description=approval_description,
        execution_name=execution_name,
        planned_at=clock.now(),
        needs_approval=kind == "deploy" and stage.requires_approval,
        approval_timeout_seconds=stage.approval_timeout_minutes * 60,
        lineage=lineage,
    )


def prepare(
    payload: Any,
    execution_name: str,
    config: ControlPlaneConfig,
    ledger: DeploymentLedger,
    registry: Registry,
    region: str,
    account: str,
) -> DeployPlan:
    """Validate a deploy, promotion or rollback request and plan it; InvalidRequest says what to fix."""
    if not isinstance(payload, dict):
        raise InvalidRequest('Invalid deploy request: expected a JSON object like {"model_package_arn": ...}')
    if "endpoint" in payload:
        return _prepare_rollback(
            parse_request(RollbackRequest, payload, "rollback request"), execution_name, config, ledger
        )
    request = parse_request(DeployRequest, payload, "deploy request")
    _check_home(request.model_package_arn, region, account)
    group = package_group(request.model_package_arn)
    model = config.model_for_group(group)
    if model is None:
        raise InvalidRequest(f"Model package group '{group}' is not configured; add a model with it to the config")
    if model.deployment is None:
        raise InvalidRequest(f"Model '{model.name}' has no deployment section in the config")
    stage = _stage_or_refuse(model, request.stage)
    package = registry.describe_package(request.model_package_arn)
    if package.group != group:
        raise InvalidRequest(f"Model package {package.arn} belongs to group '{package.group}', not '{group}'")
    if package.approval_status != "Approved":
        raise NotApproved(
            f"Model package version {package.version} of '{group}' is {package.approval_status}, not Approved; "
            "approve it in the Model Registry first"
        )
    _check_promotion(model, stage, package, ledger)
    if stage.requires_approval and not request.requested_by:
        raise InvalidRequest(
            f"Stage '{stage.name}' requires an approval by someone other than the requester: "
            'say who requests the deployment ("requested_by")'
        )
    fingerprint = f"{stage.instance_type}:{stage.initial_instance_count}:{stage.variant_name}"
    config_name = endpoint_config_name(stage.endpoint_name, package.version, package.arn, fingerprint)
    reason = request.reason or f"deployment to '{stage.name}' requested by {request.requested_by or 'an operator'}"
    lineage = version_lineage(package.arn, package.generated_by, ledger)
    ledger.note_package_lineage(package.arn, lineage)
    return _plan(
        "deploy", model, stage, package.arn, config_name, reason, execution_name,
        requested_by=request.requested_by, approved_by=package.approved_by,
        approval_description=package.approval_description, lineage=lineage,
    )  # fmt: skip


def _prepare_rollback(
    request: RollbackRequest, execution_name: str, config: ControlPlaneConfig, ledger: DeploymentLedger
) -> DeployPlan:
    found = config.stage_for_endpoint(request.endpoint)
    if found is None:
        raise InvalidRequest(f"Endpoint '{request.endpoint}' is not a stage of any configured model")
    model, stage = found
    state = ledger.get_endpoint_state(request.endpoint)
    if request.to == "last_known_good":
        if state is None or not state.last_known_good_package_arn or not state.last_known_good_config:
            raise InvalidRequest(f"Endpoint '{request.endpoint}' has no last known good version recorded yet")
        target, target_config = state.last_known_good_package_arn, state.last_known_good_config
    else:
        deployed = ledger.get_stage_deployment(request.to, stage.name)
        if deployed is None or deployed.status != "Deployed":
            raise InvalidRequest(
                f"{request.to} never served '{request.endpoint}' healthily; roll back to a version that did"
            )
        target, target_config = request.to, deployed.endpoint_config
    if state is not None and state.serving_config == target_config and state.status != "Failed":
        raise InvalidRequest(f"Endpoint '{request.endpoint}' already serves version {package_version(target)}")
    taken_off = state.serving_package_arn if state else None
    lineage = (state.serving_lineage or ledger.package_lineage(taken_off) or package_lineage(taken_off)) if (
        state and taken_off
    ) else None  # fmt: skip
    return _plan("rollback", model, stage, target, target_config, request.reason, execution_name, lineage=lineage)


class LockDecision(StrictModel):
    decision: Literal["acquired", "wait", "superseded"]
    wait_seconds: int = 0
    reason: str = ""


def acquire_lock(plan: DeployPlan, ledger: DeploymentLedger) -> LockDecision:
    """One deployment per endpoint at a time; an older version than one already requested is superseded."""
    if plan.kind == "deploy":
        desired = ledger.raise_desired_version(plan.endpoint_name, plan.package_version)
        if desired > plan.package_version:
            return LockDecision(decision="superseded", reason=f"version {desired} was requested after this one")
    now = clock.now()
    lease_until = now + timedelta(seconds=plan.wait_timeout_seconds * 2 + WAIT_MARGIN_SECONDS)
    holder = ledger.acquire_endpoint_lock(plan.endpoint_name, plan.execution_name, now, lease_until)
    if holder is not None:
        return LockDecision(decision="wait", wait_seconds=LOCK_POLL_SECONDS, reason=f"{holder} is deploying")
    state = ledger.get_endpoint_state(plan.endpoint_name)
    if plan.kind == "deploy" and state and state.serving_version and state.serving_version > plan.package_version:
        ledger.release_endpoint_lock(plan.endpoint_name, plan.execution_name)
        return LockDecision(decision="superseded", reason=f"version {state.serving_version} already serves")
    return LockDecision(decision="acquired")


class GateResult(StrictModel):
    passed: bool
    failures: list[str]
    reason: str
    """The failures in one line (deploy.asl.json hands it on as the failure's cause)."""
    metrics: dict[str, float]
    champion_metrics: dict[str, float]
    bias_metrics: dict[str, float] = {}
    """Each bounded bias metric found, keyed `<report section> <facet>=<value> <metric>`."""
    missing_documentation: list[str] = []


DOCUMENTATION_FIELDS = ("intended_uses", "limitations", "assumptions")
"""CustomerMetadataProperties a package needs to deploy to a stage with `requires_documentation`."""


def metric_value(document: dict[str, Any] | None, path: str) -> float | None:
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, int | float) else None


def bias_values(reports: list[dict[str, Any]]) -> list[tuple[str, str, str, float]]:
    """(section key, facet, metric, value) of every numeric metric in Clarify-shaped bias reports."""
    found = []
    for report in reports:
        for section in ("pre_training_bias_metrics", "post_training_bias_metrics"):
            facets = (report.get(section) or {}).get("facets") or {}
            for facet, groups in facets.items() if isinstance(facets, dict) else ():
                for group in groups if isinstance(groups, list) else ():
                    for metric in group.get("metrics") or () if isinstance(group, dict) else ():
                        value = metric.get("value") if isinstance(metric, dict) else None
                        if isinstance(value, int | float) and not isinstance(value, bool):
                            name = str(metric.get("name"))
                            where = f"{section.removesuffix('_bias_metrics')} {facet}={group.get('value_or_threshold')}"
                            found.append((where, facet, name, float(value)))
    return found


def _check_bias(bounds: tuple[BiasBound, ...], reports: list[dict[str, Any]]) -> tuple[list[str], dict[str, float]]:
    if not reports:
        return ["the package registers no bias reports (ModelMetrics.Bias)"], {}
    values = bias_values(reports)
    failures: list[str] = []
    measured: dict[str, float] = {}
    for bound in bounds:
        matching = [
            (where, value)
            for where, facet, name, value in values
            if name == bound.metric and bound.facet in (None, facet)
        ]
        if not matching:
            facet = f" for facet '{bound.facet}'" if bound.facet else ""
            failures.append(f"no registered bias report has {bound.metric}{facet}")
        for where, value in matching:
            key = f"{where} {bound.metric}"
            measured[key] = value
            if bound.min is not None and value < bound.min:
                failures.append(f"bias {key} = {value:g} is below the minimum {bound.min:g}")
            if bound.max is not None and value > bound.max:
                failures.append(f"bias {key} = {value:g} is above the maximum {bound.max:g}")
            if bound.max_abs is not None and abs(value) > bound.max_abs:
                failures.append(f"bias {key} = {value:g} is beyond ±{bound.max_abs:g}")
    return failures, measured


NOT_DOCUMENTED = "(not documented)"
"""What the control plane writes into a model card for a field nobody documented."""


def card_documentation(content: dict[str, Any] | None) -> dict[str, str]:
    """The documentation a model card holds, by DOCUMENTATION_FIELDS name: `intended_uses.intended_uses`,
    `additional_information.caveats_and_recommendations` (limitations) and `additional_information.custom_details
    .assumptions` (SageMaker's model card JSON schema has no field of its own for assumptions)."""
    content = content or {}
    uses, more = content.get("intended_uses") or {}, content.get("additional_information") or {}
    found = {
        "intended_uses": uses.get("intended_uses"),
        "limitations": more.get("caveats_and_recommendations"),
        "assumptions": (more.get("custom_details") or {}).get("assumptions"),
    }
    return {
        field: value.strip()
        for field, value in found.items()
        if isinstance(value, str) and value.strip() not in ("", NOT_DOCUMENTED)
    }


def documentation(package: PackageInfo, card: dict[str, Any] | None) -> dict[str, str]:
    """The version's documentation: the package's CustomerMetadataProperties, else its model card's."""
    documented = card_documentation(card)
    for field in DOCUMENTATION_FIELDS:
        if package.metadata.get(field, "").strip():
            documented[field] = package.metadata[field].strip()
    return documented


def missing_documentation(documented: dict[str, str]) -> list[str]:
    return [field for field in DOCUMENTATION_FIELDS if field not in documented]


def evaluate_gate(
    plan: DeployPlan,
    config: ControlPlaneConfig,
    ledger: DeploymentLedger,
    registry: Registry,
    cards: ModelCards | None = None,
) -> GateResult:
    """The candidate's registered quality metrics against the thresholds and, when configured, the champion's;
    its bias reports against the bias bounds; and its documentation (package metadata or model card) where the
    stage requires it."""
    model = config.model(plan.model)
    assert model.deployment is not None
    gate = model.deployment.gate
    stage = _stage_or_refuse(model, plan.stage)
    if not gate.thresholds and not gate.bias and not stage.requires_documentation:
        return GateResult(passed=True, failures=[], reason="no gate configured", metrics={}, champion_metrics={})
    package = registry.describe_package(plan.package_arn)
    failures: list[str] = []
    metrics: dict[str, float] = {}
    champion_metrics: dict[str, float] = {}
    if gate.thresholds:
        failures, metrics, champion_metrics = _check_quality(model, package, ledger, registry)
    bias_failures, bias_metrics = _check_bias(gate.bias, registry.bias_reports(package)) if gate.bias else ([], {})
    missing: list[str] = []
    if stage.requires_documentation:
        card_name = model_card_name(model.name, package.version, package.arn)
        missing = missing_documentation(documentation(package, cards.content(card_name) if cards else None))
        if missing:
            failures.append(
                f"stage '{stage.name}' requires documentation; neither the package's CustomerMetadataProperties "
                f"nor its model card '{card_name}' document " + ", ".join(missing)
            )
    failures += bias_failures
    return GateResult(
        passed=not failures, failures=failures, reason="; ".join(failures) or "passed", metrics=metrics,
        champion_metrics=champion_metrics,
        bias_metrics=bias_metrics, missing_documentation=missing,
    )  # fmt: skip


def _check_quality(
    model: ModelConfig, package: PackageInfo, ledger: DeploymentLedger, registry: Registry
) -> tuple[list[str], dict[str, float], dict[str, float]]:
    assert model.deployment is not None
    gate = model.deployment.gate
    candidate = registry.quality_metrics(package)
    champion_doc: dict[str, Any] | None = None
    if gate.compare_with_champion:
        champion = ledger.get_endpoint_state(model.deployment.stages[0].endpoint_name)
        if champion and champion.serving_package_arn and champion.serving_package_arn != package.arn:
            champion_doc = registry.quality_metrics(registry.describe_package(champion.serving_package_arn))
    failures: list[str] = []
    metrics: dict[str, float] = {}
    champion_metrics: dict[str, float] = {}
    if candidate is None:
        failures.append("the package registers no ModelQuality statistics (ModelMetrics.ModelQuality.Statistics)")
    for threshold in gate.thresholds:
        value = metric_value(candidate, threshold.metric)
        if value is None:
            if candidate is not None:
                failures.append(f"{threshold.metric} is missing from the package's statistics")
            continue
        metrics[threshold.metric] = value
        if threshold.min is not None and value < threshold.min:
            failures.append(f"{threshold.metric} = {value:g} is below the minimum {threshold.min:g}")
        if threshold.max is not None and value > threshold.max:
            failures.append(f"{threshold.metric} = {value:g} is above the maximum {threshold.max:g}")
        best = metric_value(champion_doc, threshold.metric)
        if best is None:
            continue
        champion_metrics[threshold.metric] = best
        worse = (threshold.min is not None and value < best - gate.champion_tolerance) or (
            threshold.max is not None and value > best + gate.champion_tolerance
        )
        if worse:
            failures.append(f"{threshold.metric} = {value:g} is worse than the champion's {best:g}")
    return failures, metrics, champion_metrics


class EndpointBusy(Exception):
    """The endpoint is being updated by something else; the workflow retries later (ASL Retry)."""


class Resources(StrictModel):
    action: Literal["create", "update", "none"]
    previous_config: str | None


def create_resources(plan: DeployPlan, endpoints: Endpoints) -> Resources:
    """Model and endpoint config under deterministic names (re-runs reuse them), alarms; then what to do."""
    if plan.create_resources:
        endpoints.create_model(plan.model_name, plan.package_arn)
        endpoints.create_endpoint_config(
            plan.endpoint_config_name, plan.model_name, plan.variant_name, plan.instance_type, plan.instance_count
        )
        if plan.default_alarms:
            endpoints.ensure_alarms(plan.endpoint_name, plan.variant_name, plan.model_latency_p99_ms)
    info = endpoints.describe(plan.endpoint_name)
    if info is None:
        return Resources(action="create", previous_config=None)
    if info.status not in SETTLED_ENDPOINT_STATUSES:
        raise EndpointBusy(f"Endpoint {plan.endpoint_name} is {info.status}; SageMaker would refuse an update now")
    if info.config_name == plan.endpoint_config_name and info.status == "InService":
        return Resources(action="none", previous_config=info.config_name)
    return Resources(action="update", previous_config=info.config_name)


def await_endpoint(
    task_token: str, endpoint: str, ledger: DeploymentLedger, endpoints: Endpoints, workflows: Workflows
) -> None:
    """Park the workflow until the endpoint settles; resume at once if it already has."""
    ledger.set_endpoint_waiter(endpoint, task_token)
    info = endpoints.describe(endpoint)
    if info is not None and info.status in SETTLED_ENDPOINT_STATUSES:
        workflows.resume(task_token, {"status": info.status, "endpoint_config": info.config_name})
        ledger.clear_endpoint_waiter(endpoint, task_token)


class Verification(StrictModel):
    outcome: Literal["verified", "pending", "failed"]
    status: str | None
    endpoint_config: str | None
    reason: str


def verify(plan: DeployPlan, endpoints: Endpoints) -> Verification:
    """InService AND on the requested config; SageMaker's silent rollback (old config, no reason) is a failure."""
    info = endpoints.describe(plan.endpoint_name)
    if info is None:
        return Verification(outcome="failed", status=None, endpoint_config=None, reason="the endpoint does not exist")
    if info.status not in SETTLED_ENDPOINT_STATUSES:
        return Verification(outcome="pending", status=info.status, endpoint_config=info.config_name, reason="settling")
    if info.status == "InService" and info.config_name == plan.endpoint_config_name:
        return Verification(outcome="verified", status=info.status, endpoint_config=info.config_name, reason="ok")
    if info.status == "InService":
        why = info.failure_reason or "no reason given (silent rollback)"
        reason = (
            f"SageMaker rolled back: the endpoint serves {info.config_name}, not {plan.endpoint_config_name}; {why}"
        )
    else:
        reason = f"the endpoint is {info.status}: {info.failure_reason or 'no reason given'}"
    return Verification(outcome="failed", status=info.status, endpoint_config=info.config_name, reason=reason)


class SmokeResult(StrictModel):
    passed: bool
    reason: str


def smoke_test(plan: DeployPlan, endpoints: Endpoints) -> SmokeResult:
    if plan.smoke_test is None:
        return SmokeResult(passed=True, reason="no smoke test configured")
    test = plan.smoke_test
    ok, body = endpoints.invoke(plan.endpoint_name, test.payload, test.content_type)
    if not ok:
        return SmokeResult(passed=False, reason=f"smoke test invocation failed: {body}")
    if test.expect_substring is not None and test.expect_substring not in body:
        return SmokeResult(passed=False, reason=f"smoke test response lacks '{test.expect_substring}': {body[:200]}")
    return SmokeResult(passed=True, reason="smoke test passed")


def _record(plan: DeployPlan, kind: str, reason: str, execution_arn: str | None, **details: Any) -> AuditRecord:
    return AuditRecord(
        record_id=f"{plan.execution_name}#{kind}",
        kind=kind,
        model=plan.model,
        reason=reason,
        at=clock.now(),
        execution_arn=execution_arn,
        lineage=plan.lineage,
        status=kind.removeprefix("Deployment").removeprefix("Rollback") or kind,
        details={
            "stage": plan.stage,
            "endpoint": plan.endpoint_name,
            "model_package_arn": plan.package_arn,
            "model_package_version": plan.package_version,
            "endpoint_config": plan.endpoint_config_name,
            **{key: value for key, value in details.items() if value is not None},
        },
    )


def _gate_numbers(gate: dict[str, Any] | None) -> dict[str, Any]:
    """The metrics the gate measured, for the record (empty ones left out)."""
    keys = ("metrics", "champion_metrics", "bias_metrics")
    return {key: (gate or {}).get(key) for key in keys if (gate or {}).get(key)}


class Promotion(StrictModel):
    promote: bool
    wait_seconds: int = 0
    execution_name: str | None = None
    request: dict[str, Any] | None = None


def record_deployed(
    plan: DeployPlan,
    execution_arn: str,
    config: ControlPlaneConfig,
    ledger: DeploymentLedger,
    gate: dict[str, Any] | None = None,
) -> Promotion:
    """The endpoint serves the version: ledger (serving, previous, last known good) and audit in one write, with
    the gate's numbers, announced; unlock. A retry after the write changes nothing (the previous version stays)."""
    now = clock.now()
    before = ledger.get_endpoint_state(plan.endpoint_name)
    writes: list[LedgerWrite] = [
        EndpointState(
            endpoint=plan.endpoint_name,
            model=plan.model,
            stage=plan.stage,
            serving_package_arn=plan.package_arn,
            serving_version=plan.package_version,
            serving_config=plan.endpoint_config_name,
            previous_package_arn=before.serving_package_arn if before else None,
            previous_config=before.serving_config if before else None,
            last_known_good_package_arn=plan.package_arn,
            last_known_good_config=plan.endpoint_config_name,
            status="Deployed" if plan.kind == "deploy" else "RolledBack",
            updated_at=now,
            serving_lineage=plan.lineage if plan.kind == "deploy" else ledger.package_lineage(plan.package_arn),
        )
    ]
    if plan.kind == "deploy":
        writes.append(
            StageDeployment(
                plan.package_arn, plan.stage, plan.endpoint_name, plan.endpoint_config_name, "Deployed", now
            )
        )
    elif before and before.serving_package_arn and before.serving_package_arn != plan.package_arn:
        # The version rolled away from is no longer a healthy target for promotions or later rollbacks.
        left = ledger.get_stage_deployment(before.serving_package_arn, plan.stage)
        if left is not None:
            writes.append(left._replace(status="RolledBack"))
    kind = "DeploymentSucceeded" if plan.kind == "deploy" else "RollbackSucceeded"
    record = _record(
        plan, kind, plan.reason, execution_arn,
        previous_model_package_arn=before.serving_package_arn if before else None,
        duration_seconds=int((now - plan.planned_at).total_seconds()),
        approved_by=plan.approved_by, approval_description=plan.approval_description, requested_by=plan.requested_by,
        promotion_approved_by=plan.promotion_approved_by, **_gate_numbers(gate),
    )  # fmt: skip
    detail_type = "Deployment Succeeded" if plan.kind == "deploy" else "Rollback Succeeded"
    record_and_announce(record, detail_type, ledger, also=tuple(writes))
    ledger.release_endpoint_lock(plan.endpoint_name, plan.execution_name)
    logger.info("Deployment recorded", extra={"endpoint": plan.endpoint_name, "version": plan.package_version})
    model = config.model(plan.model)
    assert model.deployment is not None
    stage = model.deployment.stage(plan.stage)
    following = model.deployment.next_stage(plan.stage)
    if plan.kind != "deploy" or stage is None or not model.auto_promotes(stage) or following is None:
        return Promotion(promote=False)
    request = DeployRequest(
        model_package_arn=plan.package_arn, stage=following.name, requested_by="auto_promote",
        reason=f"auto-promoted after {stage.bake_minutes} min in {stage.name}",
    )  # fmt: skip
    return Promotion(
        promote=True,
        wait_seconds=stage.bake_minutes * 60,
        execution_name=deploy_execution_name(following.name, plan.model, plan.package_arn, plan.execution_name),
        request=request.model_dump(exclude_none=True),
    )


class RollbackDecision(StrictModel):
    rollback: bool
    to_config: str | None
    reason: str
    deployment_config: dict[str, Any] | None = None
    """UpdateEndpoint's DeploymentConfig for the rollback (deploy.asl.json RollbackEndpoint), when there is one."""


def decide_rollback(plan: DeployPlan, ledger: DeploymentLedger, endpoints: Endpoints) -> RollbackDecision:
    """After a failure: put the endpoint back on its last known good config, unless it is already there."""
    if plan.kind == "rollback":
        return RollbackDecision(rollback=False, to_config=None, reason="a failed rollback is not rolled back again")
    state = ledger.get_endpoint_state(plan.endpoint_name)
    good = state.last_known_good_config if state else None
    info = endpoints.describe(plan.endpoint_name)
    if info is None or good is None:
        return RollbackDecision(rollback=False, to_config=None, reason="no earlier version to return to")
    if info.status == "UpdateRollbackFailed":
        return RollbackDecision(
            rollback=True,
            to_config=good,
            reason="SageMaker's rollback failed: mixed fleets",
            deployment_config=ROLLBACK_DEPLOYMENT_CONFIG,
        )
    if info.status not in SETTLED_ENDPOINT_STATUSES:
        return RollbackDecision(
            rollback=False, to_config=None, reason=f"endpoint is {info.status}: SageMaker's own rollback applies"
        )
    if info.config_name == good:
        return RollbackDecision(rollback=False, to_config=good, reason="the endpoint is on its last known good config")
    return RollbackDecision(
        rollback=True,
        to_config=good,
        reason=f"returning from {info.config_name} to {good}",
        deployment_config=ROLLBACK_DEPLOYMENT_CONFIG,
    )


class FailureOutcome(StrictModel):
    status: Literal["GateFailed", "RolledBack", "Failed", "Superseded"]
    reason: str


def record_failed(
    plan: DeployPlan,
    failure: StepFailure,
    execution_arn: str,
    ledger: DeploymentLedger,
    endpoints: Endpoints,
    gate: dict[str, Any] | None = None,
) -> FailureOutcome:
    """Record why the deployment failed and where the endpoint is now, in one write, announced; unlock."""
    reason = failure.message
    writes: list[LedgerWrite] = []
    status: Literal["GateFailed", "RolledBack", "Failed", "Superseded"]
    # Refusals before the endpoint was touched, as deploy.asl.json's NoteSuperseded and NoteGateFailure name them.
    if failure.error == "Superseded":
        status = "Superseded"
    elif failure.error == "GateFailed":
        status = "GateFailed"
    else:
        endpoint_state = ledger.get_endpoint_state(plan.endpoint_name)
        info = endpoints.describe(plan.endpoint_name)
        good = endpoint_state.last_known_good_config if endpoint_state else None
        back_on_good = info is not None and info.status == "InService" and info.config_name == good
        status = "RolledBack" if good and back_on_good else "Failed"
        if endpoint_state is not None and plan.kind == "deploy":
            writes.append(endpoint_state._replace(status=status, updated_at=clock.now()))
        if plan.kind == "deploy":
            writes.append(
                StageDeployment(
                    plan.package_arn, plan.stage, plan.endpoint_name, plan.endpoint_config_name, status, clock.now()
                )
            )
    kind = f"Deployment{status}" if plan.kind == "deploy" else "RollbackFailed"
    gate = gate or {}
    record = _record(
        plan, kind, reason, execution_arn, metrics=gate.get("metrics"), champion_metrics=gate.get("champion_metrics"),
        bias_metrics=gate.get("bias_metrics") or None, missing_documentation=gate.get("missing_documentation") or None,
    )  # fmt: skip
    detail_type = "Deployment Superseded" if status == "Superseded" else "Deployment Failed"
    record_and_announce(record, detail_type, ledger, also=tuple(writes))
    if status != "Superseded":
        ledger.release_endpoint_lock(plan.endpoint_name, plan.execution_name)
    return FailureOutcome(status=status, reason=reason)


class ApprovalAnswer(StrictModel):
    """What the decision workflow hands a deployment waiting in AskApproval (decisions.answer_approval)."""

    approval_id: str
    approve: bool
    by: Annotated[str, Field(min_length=1, max_length=256)]
    reason: str | None = None
    decision_execution_arn: str


def approval_id(execution_name: str) -> str:
    """The id a deployment's approval is asked and answered under (one per deploy execution)."""
    return f"approval-{digest(execution_name, length=16)}"


def ask_approval(
    task_token: str, plan: DeployPlan, execution_arn: str, decision_state_machine_arn: str, ledger: DeploymentLedger
) -> None:
    """Ask for the approval of a deployment into a stage that requires one. The task token stays in the ledger under
    the approval id; the announcement names the id and the command that answers through the decision workflow."""
    question = approval_id(plan.execution_name)
    answer = json.dumps({"approval_id": question, "approve": True, "by": "<you, not the requester>", "reason": "..."})
    reason = f"deployment to '{plan.stage}' requested by {plan.requested_by} waits for another person's approval"
    record = _record(
        plan, "DeploymentApprovalRequested", reason, execution_arn,
        requested_by=plan.requested_by, timeout_seconds=plan.approval_timeout_seconds, approval_id=question,
    )  # fmt: skip
    # One record per wait: a retried task keeps its token, a new execution gets its own.
    record = record._replace(record_id=f"{record.record_id}#{digest(task_token, length=12)}", status="waiting")
    detail = {
        **summary(record),
        "answer_with": (
            f"mlops approve {question} --by <you> --reason <why> (or: aws stepfunctions start-execution "
            f"--state-machine-arn {decision_state_machine_arn} --input '{answer}')"
        ),
    }
    waiting = DecisionWait(
        incident_id=question, model=plan.model, endpoint=plan.endpoint_name, status="waiting",
        task_token=task_token, question="approval", requested_by=plan.requested_by, stage=plan.stage,
        package_arn=plan.package_arn, lineage=plan.lineage,
    )  # fmt: skip
    record_and_announce(record, "Deployment Approval Requested", ledger, detail, also=(waiting,))


def apply_approval(plan: DeployPlan, answer: Any, execution_arn: str, ledger: DeploymentLedger) -> DeployPlan:
    """The human's answer: approved by someone other than the requester, or refused (no answer in time: refused).
    Either way the question is closed with a record of it, so a later answer is refused."""
    question = approval_id(plan.execution_name)
    if not isinstance(answer, dict) or answer.get("timed_out"):
        minutes = plan.approval_timeout_seconds // 60
        refusal = f"Deployment to '{plan.stage}' refused: nobody approved it within {minutes} min"
        _close_approval(plan, question, "refuse", refusal, None, execution_arn, ledger)
        raise PromotionRefused(refusal)
    decision = parse_request(ApprovalAnswer, answer, "approval answer")
    waiting = ledger.get_decision(question)
    if (
        decision.approval_id != question
        or waiting is None
        or (waiting.decision_execution_arn != decision.decision_execution_arn)
    ):
        raise InvalidRequest(
            f"The answer for approval '{question}' did not come through the decision workflow "
            "(stack output DecisionStateMachineArn), which alone may answer"
        )
    if same_person(decision.by, plan.requested_by):  # the decision workflow refuses it first; kept as a guard
        raise PromotionRefused(
            f"Deployment to '{plan.stage}' refused: {decision.by} requested it and cannot also approve it "
            "(separation of duties); another person must answer"
        )
    if not decision.approve:
        refusal = f"Deployment to '{plan.stage}' refused by {decision.by}: {decision.reason or 'no reason'}"
        _close_approval(plan, question, "refuse", refusal, decision.by, execution_arn, ledger)
        raise PromotionRefused(refusal)
    _close_approval(plan, question, "approve", decision.reason or f"approved by {decision.by}", decision.by,
                    execution_arn, ledger)  # fmt: skip
    return plan.model_copy(update={"promotion_approved_by": decision.by})


def _close_approval(
    plan: DeployPlan,
    question: str,
    action: Literal["approve", "refuse"],
    reason: str,
    by: str | None,
    execution_arn: str,
    ledger: DeploymentLedger,
) -> None:
    """Record the approval's outcome with both identities and close the question (its token is removed)."""
    kind = "DeploymentApproved" if action == "approve" else "DeploymentApprovalRefused"
    record = _record(
        plan, kind, reason, execution_arn, requested_by=plan.requested_by, approval_id=question,
        **{"promotion_approved_by" if action == "approve" else "refused_by": by},
    )  # fmt: skip
    closed = DecisionWait(
        incident_id=question, model=plan.model, endpoint=plan.endpoint_name, status="closed", answered_by=by,
        action=action, reason=reason, question="approval", requested_by=plan.requested_by, stage=plan.stage,
        package_arn=plan.package_arn, lineage=plan.lineage,
    )  # fmt: skip
    if action == "approve":
        record_and_announce(record, "Deployment Approved", ledger, also=(closed,))
    else:  # the deployment's rejection that follows is announced
        ledger.record(record, closed)


def record_rejected(
    request: Any,
    failure: StepFailure,
    execution_name: str,
    execution_arn: str,
    ledger: DeploymentLedger,
) -> dict[str, str]:
    subject = "(request)"
    if isinstance(request, dict):
        arn, endpoint = request.get("model_package_arn"), request.get("endpoint")
        subject = str(endpoint or (arn.rsplit("/", 2)[-2] if isinstance(arn, str) and arn.count("/") >= 2 else subject))
    message = record_rejected_request(
        request, failure, execution_name, execution_arn, "DeploymentRejected", "Deployment Request Rejected",
        subject, ledger,
    )  # fmt: skip
    return {"message": message}


def record_promotion_failed(
    plan: DeployPlan, failure: StepFailure, execution_arn: str, ledger: DeploymentLedger
) -> dict[str, str]:
    """The deployment stands; the automatic promotion that should follow it could not start."""
    message = failure.message
    record = _record(plan, "PromotionFailed", f"auto-promotion could not start: {message}", execution_arn)
    record_and_announce(record, "Promotion Failed", ledger)
    return {"message": message}
