"""What an operator asks of the workflows: requests validated with the workflows' own models before anything is
sent, deterministic execution names, a start that never runs the same request twice, and following an execution."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from controlplane.config import ControlPlaneConfig, ModelConfig
from controlplane.decisions import ApprovalRequest, DecisionRequest
from controlplane.naming import deploy_execution_name, digest, retrain_execution_name, rollback_execution_name
from controlplane.ports import AuditRecord
from controlplane.requests import DeployRequest, RetrainRequest, RollbackRequest
from controlplane.schema import validation_problems
from mlops.connection import Connection, OperatorError, describe_aws_error

_MAX_EXECUTION_NAME = 80
_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class Request:
    """A validated workflow input, the stack output naming its state machine, and its execution's base name."""

    workflow: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class Started:
    execution_arn: str
    outcome: Literal["started", "running", "done", "answered"]
    """started: this call started it; running: the same request is under way; done: it already succeeded;
    answered: the execution was waiting for this answer."""


_DECISION_ENDS = {"DriftResponseDecided", "DriftResponseFailed"}
_APPROVAL_ENDS = {"DeploymentApproved", "DeploymentApprovalRefused"}


def _pending(history: list[AuditRecord], key: str, asked: str, ends: set[str]) -> dict[str, AuditRecord]:
    """details[key] -> its `asked` record, for the questions no record of `ends` followed."""
    requested: dict[str, AuditRecord] = {}
    for record in sorted(history, key=lambda record: record.at):
        question = str(record.details.get(key, ""))
        if record.kind == asked and question:
            requested[question] = record
        elif record.kind in ends and question:
            requested.pop(question, None)
    return requested


def pending_decisions(history: list[AuditRecord]) -> dict[str, AuditRecord]:
    """Incident id -> its DriftDecisionRequested record, for the requests no decision or failure followed."""
    return _pending(history, "incident_id", "DriftDecisionRequested", _DECISION_ENDS)


def pending_approvals(history: list[AuditRecord]) -> dict[str, AuditRecord]:
    """Approval id -> its DeploymentApprovalRequested record, for the approvals not answered or timed out."""
    return _pending(history, "approval_id", "DeploymentApprovalRequested", _APPROVAL_ENDS)


def validated(model: type[BaseModel], fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` checked by the workflow's own model; every problem named with its field, as the workflow would."""
    try:
        return model.model_validate({key: value for key, value in fields.items() if value is not None}).model_dump(
            mode="json", exclude_none=True
        )
    except ValidationError as error:
        raise OperatorError(f"invalid {model.__name__}: " + "; ".join(validation_problems(error))) from None


def configured_model(config: ControlPlaneConfig, name: str) -> ModelConfig:
    for model in config.models:
        if model.name == name:
            return model
    known = ", ".join(model.name for model in config.models)
    raise OperatorError(f"model '{name}' is not configured; known models: {known}")


def retrain(config: ControlPlaneConfig, model: str, dataset_uri: str, reason: str, run_key: str | None) -> Request:
    configured_model(config, model)
    fields = {"model": model, "dataset_uri": dataset_uri, "reason": reason, "run_key": run_key}
    request = validated(RetrainRequest, fields)
    # The ingress's own name for this dataset: a dataset that trained already is not trained again by accident.
    name = retrain_execution_name(model, request["dataset_uri"], run_key)
    return Request("RetrainStateMachineArn", name, request)


def package_arn(connection: Connection, config: ControlPlaneConfig, model: str, version: int) -> str:
    """The ARN of version `version` of the model's package group, in the stack's partition, region and account."""
    group = configured_model(config, model).model_package_group
    partition, _, region, account = connection.output("DeployStateMachineArn").split(":")[1:5]
    return f"arn:{partition}:sagemaker:{region}:{account}:model-package/{group}/{version}"


def promote(
    connection: Connection,
    config: ControlPlaneConfig,
    model: str,
    version: int,
    stage: str | None,
    by: str,
    reason: str,
) -> Request:
    stages = configured_model(config, model).deployment
    if stages is None or len(stages.stages) < 2:
        raise OperatorError(f"model '{model}' has no stage to promote to; add deployment.stages to the config")
    names = [configured.name for configured in stages.stages]
    target = stage or names[-1]
    if target not in names[1:]:
        raise OperatorError(
            f"cannot promote to '{target}': choose one of {', '.join(names[1:])} (stages after the first)"
        )
    arn = package_arn(connection, config, model, version)
    request = validated(
        DeployRequest, {"model_package_arn": arn, "stage": target, "requested_by": by, "reason": reason}
    )
    # One promotion per deployment it promotes from: promoting again after a new deployment there gets a new name.
    source = connection.ledger.get_stage_deployment(arn, names[names.index(target) - 1])
    cause = f"operator-promotion:{source.deployed_at.isoformat() if source else 'none'}"
    return Request("DeployStateMachineArn", deploy_execution_name(target, model, arn, cause), request)


def rollback(connection: Connection, config: ControlPlaneConfig, endpoint: str, to: str, reason: str) -> Request:
    state = connection.ledger.get_endpoint_state(endpoint)
    if state is None:
        raise OperatorError(
            f"endpoint '{endpoint}' has no deployment in the ledger; `mlops status` lists the endpoints"
        )
    if to.removeprefix("v").isdigit():  # a version of the endpoint's model
        to = package_arn(connection, config, state.model, int(to.removeprefix("v")))
    request = validated(RollbackRequest, {"endpoint": endpoint, "to": to, "reason": reason})
    # One rollback per situation: the same request from the same serving version is the same rollback.
    cause = f"operator:{to}:{state.serving_package_arn}:{state.updated_at}"
    return Request("DeployStateMachineArn", rollback_execution_name(endpoint, cause), request)


def decide(incident_id: str, action: str, by: str, reason: str, dataset_uri: str | None) -> Request:
    fields = {"incident_id": incident_id, "action": action, "by": by, "reason": reason, "dataset_uri": dataset_uri}
    request = validated(DecisionRequest, fields)
    return Request("DecisionStateMachineArn", f"decision-{incident_id}-{digest(action, length=8)}", request)


def approve(approval_id: str, approve: bool, by: str, reason: str) -> Request:
    """An answer to a deployment's approval: the same answer twice is one execution; another answer is refused."""
    fields = {"approval_id": approval_id, "approve": approve, "by": by, "reason": reason}
    request = validated(ApprovalRequest, fields)
    return Request("DecisionStateMachineArn", f"answer-{approval_id}-{digest(str(approve), by, length=8)}", request)


def _execution_arn(state_machine_arn: str, name: str) -> str:
    prefix, _, machine = state_machine_arn.partition(":stateMachine:")
    return f"{prefix}:execution:{machine}:{name}"


def start_once(connection: Connection, request: Request) -> Started:
    """Start the request under its base name; an execution of that name that failed is retried under
    `<name>-r2`, `-r3`, ...; one that runs or succeeded is the answer (Step Functions never reuses a name)."""
    sfn = connection.client("stepfunctions")
    state_machine = connection.output(request.workflow)
    for attempt in range(1, 100):
        suffix = f"-r{attempt}" if attempt > 1 else ""
        name = request.name[: _MAX_EXECUTION_NAME - len(suffix)] + suffix
        arn = _execution_arn(state_machine, name)
        try:
            status = sfn.describe_execution(executionArn=arn)["status"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                raise OperatorError(describe_aws_error(error, connection.endpoint_url)) from None
            try:
                started = sfn.start_execution(
                    stateMachineArn=state_machine, name=name, input=json.dumps(request.input, sort_keys=True)
                )
            except ClientError as failure:
                raise OperatorError(describe_aws_error(failure, connection.endpoint_url)) from None
            return Started(str(started["executionArn"]), "started")
        if status == "RUNNING":
            return Started(arn, "running")
        if status == "SUCCEEDED":
            return Started(arn, "done")
    raise OperatorError(f"{request.name} failed 99 times; read `mlops history` before trying again")


@dataclass(frozen=True)
class Step:
    """One step of an execution as it happens: a state entered or left, a failure, the end."""

    at: str
    kind: str
    state: str | None
    detail: str | None


def _step(event: dict[str, Any]) -> Step | None:
    kind = str(event["type"])
    for key in ("stateEnteredEventDetails", "stateExitedEventDetails"):
        if key in event:
            return Step(str(event["timestamp"]), kind, str(event[key]["name"]), None)
    failure = next((value for key, value in event.items() if key.endswith("FailedEventDetails")), None)
    if isinstance(failure, dict):
        return Step(str(event["timestamp"]), kind, None, f"{failure.get('error')}: {_message(failure.get('cause'))}")
    if kind.startswith("Execution") and kind != "ExecutionStarted":
        return Step(str(event["timestamp"]), kind, None, None)
    return None


def _message(cause: Any) -> str:
    """A Lambda error's message without its stack trace; any other cause as it is."""
    try:
        return str(json.loads(cause)["errorMessage"])
    except (TypeError, ValueError, KeyError):
        return str(cause)


def follow(
    connection: Connection, execution_arn: str, on_step: Callable[[Step], None], poll_seconds: float = _POLL_SECONDS
) -> dict[str, Any]:
    """Report each step of the execution as it happens until it ends; returns its DescribeExecution fields."""
    sfn = connection.client("stepfunctions")
    seen = 0
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)  # before the history: it holds every step
        events = list(_history(sfn, execution_arn))
        for event in events[seen:]:
            step = _step(event)
            if step is not None:
                on_step(step)
        seen = len(events)
        if described["status"] != "RUNNING":
            ended = {key: described.get(key) for key in ("executionArn", "name", "status", "error")}
            return ended | {"cause": _message(described.get("cause")) if described.get("cause") else None}
        time.sleep(poll_seconds)


def _history(sfn: Any, execution_arn: str) -> Iterator[dict[str, Any]]:
    query: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**query)
        yield from page["events"]
        if not page.get("nextToken"):
            return
        query["nextToken"] = page["nextToken"]
