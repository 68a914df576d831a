"""What the control plane is doing, read from the ledger (through its adapter), Step Functions and the Model
Registry, as plain JSON-ready dictionaries (the CLI draws them as tables and trees, or prints them with --json)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, get_args

from botocore.exceptions import ClientError

from controlplane.config import ControlPlaneConfig, ModelConfig
from controlplane.drift_config import SignalKind
from controlplane.naming import package_version
from controlplane.ports import AuditRecord
from mlops.connection import Connection, OperatorError, describe_aws_error
from mlops.workflows import configured_model, pending_approvals, pending_decisions

TRAINING_OUTCOMES = {
    "TrainingSucceeded",
    "TrainingFailed",
    "TrainingTimedOut",
    "TrainingStartFailed",
    "TrainingSkipped",
    "DuplicateRequest",
    "RequestRejected",
}


def record_view(record: AuditRecord) -> dict[str, Any]:
    view: dict[str, Any] = {
        "at": record.at.isoformat(),
        "kind": record.kind,
        "model": record.model,
        "status": record.status,
        "reason": record.reason,
        "record_id": record.record_id,
    }
    for name in ("dataset_uri", "execution_arn", "pipeline_execution_arn", "lineage"):
        if getattr(record, name):
            view[name] = getattr(record, name)
    if record.details:
        view["details"] = record.details
    return view


def _version(arn: str | None) -> int | None:
    return package_version(arn) if arn else None


def _endpoints(model: ModelConfig) -> list[str]:
    """Every endpoint the model's stages and drift alarms name, in stage order."""
    endpoints = [stage.endpoint_name for stage in model.deployment.stages] if model.deployment else []
    if model.drift:
        endpoints += [alarm.endpoint for alarm in model.drift.alarms if alarm.endpoint]
    return list(dict.fromkeys(endpoints))


def _lease_view(lease: tuple[str, datetime] | None) -> dict[str, str] | None:
    return {"holder": lease[0], "lease_until": lease[1].isoformat()} if lease else None


def _trainings(connection: Connection, model: str) -> list[dict[str, Any]]:
    sfn = connection.client("stepfunctions")
    slot = connection.ledger.pipeline_slot(model)
    trainings = []
    pages = sfn.get_paginator("list_executions").paginate(
        stateMachineArn=connection.output("RetrainStateMachineArn"), statusFilter="RUNNING"
    )
    for page in pages:
        for execution in page["executions"]:
            request = json.loads(sfn.describe_execution(executionArn=execution["executionArn"]).get("input") or "{}")
            if request.get("model") != model:
                continue
            trainings.append(
                {
                    "execution": execution["name"],
                    "dataset_uri": request.get("dataset_uri"),
                    "since": execution["startDate"].isoformat(),
                    "state": "training" if slot and execution["name"] == slot[0] else "waiting",
                }
            )
    return trainings


def _pending_decisions(history: list[AuditRecord]) -> list[dict[str, Any]]:
    return [
        {
            "incident_id": incident,
            "endpoint": record.details.get("endpoint"),
            "requested_at": record.at.isoformat(),
            "reason": record.reason,
            "answer": f"mlops decide {incident} --action rollback|retrain|dismiss --by NAME --reason TEXT",
        }
        for incident, record in pending_decisions(history).items()
    ]


def _pending_approvals(history: list[AuditRecord]) -> list[dict[str, Any]]:
    return [
        {
            "approval_id": approval,
            "stage": record.details.get("stage"),
            "version": record.details.get("model_package_version"),
            "requested_by": record.details.get("requested_by"),
            "requested_at": record.at.isoformat(),
            "answer": f"mlops approve {approval} --by NAME --reason TEXT [--refuse]",
        }
        for approval, record in pending_approvals(history).items()
    ]


def policy_view(model: ModelConfig) -> dict[str, Any]:
    """The model's owner, maturity and what runs by itself, as `scripts/check_config.py --explain` prints them."""
    return {
        "owner": {"team": model.owner.team, "contact": model.owner.contact} if model.owner else None,
        "maturity": model.maturity,
        "automation": [
            {"setting": line.setting, "runs_by_itself": line.value, "source": line.source}
            for line in model.effective_policy()
        ],
    }


def model_status(connection: Connection, model: ModelConfig) -> dict[str, Any]:
    ledger = connection.ledger
    history = ledger.history(model.name)
    last_training = next((record for record in reversed(history) if record.kind in TRAINING_OUTCOMES), None)
    stages = []
    for stage in model.deployment.stages if model.deployment else ():
        state = ledger.get_endpoint_state(stage.endpoint_name)
        stages.append(
            {
                "stage": stage.name,
                "endpoint": stage.endpoint_name,
                "serving_version": state.serving_version if state else None,
                "serving_package_arn": state.serving_package_arn if state else None,
                "status": state.status if state else None,
                "since": state.updated_at.isoformat() if state and state.updated_at else None,
                "previous_version": _version(state.previous_package_arn) if state else None,
                "last_known_good_version": _version(state.last_known_good_package_arn) if state else None,
                "lock": _lease_view(ledger.endpoint_lock(stage.endpoint_name)),
            }
        )
    incidents = []
    for endpoint in _endpoints(model):
        for kind in get_args(SignalKind):
            incident = ledger.get_incident(model.name, endpoint, kind)
            if incident is not None and incident.status in {"open", "recovering"}:
                incidents.append(
                    {
                        "incident_id": incident.incident_id,
                        "endpoint": endpoint,
                        "kind": kind,
                        "status": incident.status,
                        "opened_at": incident.opened_at.isoformat(),
                        "signals": incident.signal_count,
                    }
                )
    return {
        "model": model.name,
        "trainings": _trainings(connection, model.name),
        "last_training": record_view(last_training) if last_training else None,
        "stages": stages,
        "incidents": incidents,
        "pending_decisions": _pending_decisions(history),
        "pending_approvals": _pending_approvals(history),
        "policy": policy_view(model),
    }


def status(connection: Connection, config: ControlPlaneConfig, model: str | None) -> list[dict[str, Any]]:
    models = [configured_model(config, model)] if model else list(config.models)
    return [model_status(connection, configured) for configured in models]


def history(connection: Connection, config: ControlPlaneConfig, model: str) -> list[dict[str, Any]]:
    configured_model(config, model)
    records = sorted(connection.ledger.history(model), key=lambda record: record.at)
    return [record_view(record) for record in records]


# ----------------------------------------------------------------------------------------------- lineage
def _node(node: str, label: str, **data: Any) -> dict[str, Any]:
    return {"node": node, "label": label, **data, "children": []}


def _packages_by_pipeline_execution(connection: Connection, group: str) -> dict[str, list[str]]:
    """The group's package ARNs by the pipeline execution that registered them (MetadataProperties.GeneratedBy)."""
    sagemaker = connection.client("sagemaker")
    found: dict[str, list[str]] = {}
    for page in sagemaker.get_paginator("list_model_packages").paginate(ModelPackageGroupName=group):
        for summary in page["ModelPackageSummaryList"]:
            arn = summary["ModelPackageArn"]
            described = sagemaker.describe_model_package(ModelPackageName=arn)
            generated_by = described.get("MetadataProperties", {}).get("GeneratedBy")
            if generated_by:
                found.setdefault(str(generated_by), []).append(arn)
    return found


def _package_node(records: list[AuditRecord], arn: str) -> dict[str, Any]:
    node = _node("package", f"version {package_version(arn)}", model_package_arn=arn)
    deployments = [record for record in records if record.details.get("model_package_arn") == arn]
    endpoints = {str(record.details.get("endpoint")) for record in deployments}
    for record in deployments:
        node["children"].append(
            _node("deployment", f"{record.kind} to {record.details.get('stage')}", **record_view(record))
        )
    incident_ids = list(
        dict.fromkeys(
            str(record.details["incident_id"])
            for record in records
            if record.kind == "DriftIncidentOpened" and str(record.details.get("endpoint")) in endpoints
        )
    )
    for incident in incident_ids:
        node["children"].append(_incident_node(records, incident))
    return node


def _incident_node(records: list[AuditRecord], incident_id: str) -> dict[str, Any]:
    about = [record for record in records if record.details.get("incident_id") == incident_id]
    opened = next((record for record in about if record.kind == "DriftIncidentOpened"), None)
    label = f"incident {incident_id} on {opened.details.get('endpoint')}" if opened else f"incident {incident_id}"
    node = _node("incident", label, incident_id=incident_id)
    node["children"] = [_node("response", record.kind, **record_view(record)) for record in about]
    return node


def _model_of_package(config: ControlPlaneConfig, arn: str) -> ModelConfig:
    group = arn.split(":model-package/", 1)[-1].rsplit("/", 1)[0]
    for model in config.models:
        if model.model_package_group == group:
            return model
    raise OperatorError(f"no configured model has package group '{group}' (from {arn})")


def _dataset_tree(connection: Connection, model: ModelConfig, dataset_uri: str) -> dict[str, Any]:
    ledger = connection.ledger
    records = ledger.history(model.name)
    about_dataset = ledger.lineage(dataset_uri)
    packages = _packages_by_pipeline_execution(connection, model.model_package_group)
    root = _node("dataset", dataset_uri, model=model.name)
    runs: dict[str, list[AuditRecord]] = {}
    for record in about_dataset:  # one run per workflow execution
        runs.setdefault(record.execution_arn or record.record_id, []).append(record)
    for run_records in runs.values():
        pipeline_run = next((r.pipeline_execution_arn for r in run_records if r.pipeline_execution_arn), None)
        label = f"pipeline execution {pipeline_run}" if pipeline_run else "request (no pipeline execution)"
        run = _node("training", label, pipeline_execution_arn=pipeline_run)
        run["children"] = [_node("record", record.kind, **record_view(record)) for record in run_records]
        run["children"] += [_package_node(records, arn) for arn in packages.get(pipeline_run or "", [])]
        root["children"].append(run)
    return root


def lineage(connection: Connection, config: ControlPlaneConfig, target: str) -> dict[str, Any]:
    """dataset -> pipeline executions -> packages -> deployments -> incidents -> responses, from any of: a dataset
    URI, a model package ARN, an incident id."""
    if target.startswith("s3://"):
        about = connection.ledger.lineage(target)
        if not about:
            raise OperatorError(f"nothing in the ledger about dataset {target}; check the URI (it ends with '/')")
        return _dataset_tree(connection, configured_model(config, about[0].model), target)
    if ":model-package/" in target:
        model = _model_of_package(config, target)
        try:
            described = connection.client("sagemaker").describe_model_package(ModelPackageName=target)
        except ClientError as error:
            raise OperatorError(f"cannot read package {target}: {describe_aws_error(error)}") from None
        generated_by = described.get("MetadataProperties", {}).get("GeneratedBy")
        run = connection.ledger.get_pipeline_run(str(generated_by)) if generated_by else None
        if run is None:  # registered outside a tracked training: the tree starts at the package
            return _package_node(connection.ledger.history(model.name), target)
        return _dataset_tree(connection, model, run.dataset_uri)
    for model in config.models:
        records = connection.ledger.history(model.name)
        if any(record.details.get("incident_id") == target for record in records):
            return _incident_node(records, target)
    raise OperatorError(
        f"'{target}' is neither a dataset URI (s3://...), a model package ARN nor a known incident id; "
        "`mlops status` lists open incidents"
    )
