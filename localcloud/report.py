"""What happened in a local cloud: executions, pipeline runs, ledger records, notifications, dead letters."""

from collections import Counter
from typing import Any

from localcloud.cloud import LocalCloud, TimelineEntry


def execution_outcomes(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    """Per execution: its state machine, final status, the states it went through, and its error."""
    sfn = cloud.client("stepfunctions")
    outcomes: dict[str, dict[str, Any]] = {}
    for logical_id, arn in cloud.state_machines.items():
        for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
            description = sfn.describe_execution(executionArn=execution["executionArn"])
            history = cloud.execution_history(execution["executionArn"])
            states = [
                event["stateEnteredEventDetails"]["name"] for event in history if "stateEnteredEventDetails" in event
            ]
            outcomes[execution["name"]] = {
                "state_machine": logical_id,
                "status": description["status"],
                "states": states,
                "error": description.get("error"),
                "cause": description.get("cause"),
            }
    return outcomes


def execution_counts(cloud: LocalCloud) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {logical_id: Counter() for logical_id in cloud.state_machines}
    for outcome in execution_outcomes(cloud).values():
        counts[outcome["state_machine"]][outcome["status"]] += 1
    return {logical_id: dict(counter) for logical_id, counter in counts.items()}


def pipeline_executions(cloud: LocalCloud) -> list[dict[str, Any]]:
    sagemaker = cloud.client("sagemaker")
    runs = []
    for pipeline in sagemaker.list_pipelines()["PipelineSummaries"]:
        summaries = sagemaker.list_pipeline_executions(PipelineName=pipeline["PipelineName"])
        for summary in summaries["PipelineExecutionSummaries"]:
            described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=summary["PipelineExecutionArn"])
            runs.append(
                {
                    "pipeline": pipeline["PipelineName"],
                    "arn": summary["PipelineExecutionArn"],
                    "display_name": described.get("PipelineExecutionDisplayName"),
                    "status": described.get("PipelineExecutionStatus"),
                }
            )
    return runs


def ledger_records(cloud: LocalCloud) -> list[dict[str, Any]]:
    """The audit records, oldest first."""
    table = cloud.client("dynamodb")
    items: list[dict[str, Any]] = []
    paginator = table.get_paginator("scan")
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

    deserializer = TypeDeserializer()
    for page in paginator.paginate(TableName=cloud.ledger_table):
        for raw in page["Items"]:
            item = {key: deserializer.deserialize(value) for key, value in raw.items()}
            if item["sk"] == "AUDIT":
                items.append(item)
    return sorted(items, key=lambda item: (item["at"], item["record_id"]))


def dead_letters(cloud: LocalCloud) -> dict[str, int]:
    """Messages waiting in each dead-letter queue and on-failure destination queue, by logical id."""
    sqs = cloud.client("sqs")
    counts = {}
    destinations = cloud.on_failure_destinations()
    for logical_id, names in cloud.physical.items():
        if ("DeadLetter" in logical_id or logical_id in destinations) and "QueueUrl" in names:
            attributes = sqs.get_queue_attributes(
                QueueUrl=names["QueueUrl"], AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            counts[logical_id] = int(attributes["ApproximateNumberOfMessages"])
    return counts


def notifications(cloud: LocalCloud) -> list[TimelineEntry]:
    return [entry for entry in cloud.timeline if entry.kind == "sns"]


def summary(cloud: LocalCloud, rejected_events: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "pipeline_executions_started": len(pipeline_executions(cloud)),
        "executions": execution_counts(cloud),
        "notifications": len(notifications(cloud)),
        "bus_events": sum(1 for entry in cloud.timeline if entry.kind == "bus"),
        "rejected_events": rejected_events or [],
        "ledger_records": len(ledger_records(cloud)),
        "dead_letters": dead_letters(cloud),
    }
