"""What the end-to-end tests read out of a local cloud, the configs they start it with, and the AWS-shaped events
they deliver to it. The steps that drive a cloud (upload, register, approve, promote, alarms) are in
localcloud/scenarios.py, shared with the demo."""

import json
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from controlplane.naming import approval_deploy_execution_name
from localcloud.cloud import ACCOUNT_ID, REGION, LocalCloud, TimelineEntry
from localcloud.core import iso_seconds
from localcloud.report import ledger_records, notifications
from localcloud.scenarios import DEPLOY

ROOT = Path(__file__).resolve().parents[2]
PIPELINE_STATUS_CHANGE = "SageMaker Model Building Pipeline Execution Status Change"

# The path every dataset of a marker-mode model takes when its pipeline succeeds.
SUCCEEDED_STATES = [
    "ReceiveRequest",
    "Prepare",
    "QuietPeriodNeeded?",
    "AcquireSlot",
    "SlotAcquired?",
    "StartPipeline",
    "RecordStarted",
    "AlreadyRunning?",
    "WaitForPipeline",
    "RecordOutcome",
    "TrainingSucceeded?",
    "Done",
]

# Every dead-letter queue and on-failure destination of the template, empty.
NO_DEAD_LETTERS = {
    "DataEventsDeadLetterQueue": 0,
    "EventDeliveryDeadLetterQueue": 0,
    "FailedInvocationsQueue": 0,
    "OutboxDeadLetterQueue": 0,
}


# -- custom configs -----------------------------------------------------------------------------------------


def marker_model(
    name: str = "churn",
    concurrency: str = "queue",
    timeout_seconds: int = 86_400,
    queue_poll_seconds: int = 60,
) -> dict[str, Any]:
    """A marker-mode model under datasets/<name>/ whose pipeline is <name>-training."""
    return {
        "name": name,
        "model_package_group": f"{name}-models",
        "data_trigger": {"prefix": f"datasets/{name}/", "dataset_depth": 1, "mode": "marker"},
        "pipeline": {
            "name": f"{name}-training",
            "parameters": {"InputDataUri": "{dataset_uri}", "DatasetId": "{dataset_id}"},
            "concurrency": concurrency,
            "timeout_seconds": timeout_seconds,
            "queue_poll_seconds": queue_poll_seconds,
        },
    }


def write_config(directory: Path, models: list[dict[str, Any]]) -> Path:
    path = directory / "controlplane.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "models": models}, sort_keys=False), encoding="utf-8")
    return path


# -- reading the timeline -----------------------------------------------------------------------------------


def entries(cloud: LocalCloud, kind: str) -> list[TimelineEntry]:
    return [entry for entry in cloud.timeline if entry.kind == kind]


def invocations(cloud: LocalCloud, function: str, since: int = 0) -> list[TimelineEntry]:
    """Invocations of one function (its logical id), optionally only those after timeline index `since`."""
    return [entry for entry in cloud.timeline[since:] if entry.kind == "lambda" and entry.data["function"] == function]


def log_lines(cloud: LocalCloud, function: str, message_prefix: str) -> list[dict[str, Any]]:
    """Structured log lines of a function whose message starts with `message_prefix`."""
    return [
        line
        for entry in invocations(cloud, function)
        for line in entry.data["logs"]
        if str(line.get("message", "")).startswith(message_prefix)
    ]


def sns_events(cloud: LocalCloud) -> list[str]:
    """The `event` field of every SNS notification, in order."""
    return [json.loads(entry.data["message"])["event"] for entry in notifications(cloud)]


def sns_messages(cloud: LocalCloud) -> list[dict[str, Any]]:
    return [json.loads(entry.data["message"]) for entry in notifications(cloud)]


def bus_detail_types(cloud: LocalCloud) -> list[str]:
    """The detail-type of every event seen on the control-plane bus, in order."""
    return [entry.text.removeprefix("event on the control-plane bus: ") for entry in entries(cloud, "bus")]


def ledger_kinds(cloud: LocalCloud) -> Counter[str]:
    return Counter(record["kind"] for record in ledger_records(cloud))


def records_of(cloud: LocalCloud, kind: str) -> list[dict[str, Any]]:
    return [record for record in ledger_records(cloud) if record["kind"] == kind]


def ledger_time(record: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(record["at"]).replace("Z", "+00:00"))


def pipeline_started_at(cloud: LocalCloud) -> dict[str, datetime]:
    """Virtual start time of every SageMaker pipeline execution, by ARN."""
    return {entry.text.rsplit(" ", 1)[-1]: entry.at for entry in entries(cloud, "pipeline")}


def s3_put_times(cloud: LocalCloud, key_prefix: str = "") -> list[datetime]:
    return [entry.at for entry in entries(cloud, "s3") if entry.data["key"].startswith(key_prefix)]


def captured_s3_event(cloud: LocalCloud, key: str) -> dict[str, Any]:
    """The exact EventBridge event that the DataArrivalRule matched for the first upload of `key`."""
    return next(
        entry.data["event"]
        for entry in entries(cloud, "rule")
        if entry.data["event"].get("source") == "aws.s3" and entry.data["event"]["detail"]["object"]["key"] == key
    )


def failed_invocations(cloud: LocalCloud) -> list[str]:
    """Texts of the invocations that failed or reported failed batch items (empty when none did)."""
    failed = []
    for entry in entries(cloud, "lambda"):
        response = entry.data.get("response")
        if entry.data.get("error") or (isinstance(response, dict) and response.get("batchItemFailures")):
            failed.append(entry.text)
    return failed


# -- AWS-shaped events --------------------------------------------------------------------------------------


def pipeline_status_event(
    pipeline_execution_arn: str,
    status: str,
    previous_status: str | None = "Executing",
    at: datetime | None = None,
    display_name: str = "external-run",
) -> dict[str, Any]:
    """A "SageMaker Model Building Pipeline Execution Status Change" event as AWS documents it."""
    pipeline_arn = pipeline_execution_arn.split("/execution/", 1)[0]
    moment = iso_seconds(at or datetime(2026, 11, 27, 9, 10, tzinfo=UTC))
    detail: dict[str, Any] = {
        "pipelineExecutionDisplayName": display_name,
        "currentPipelineExecutionStatus": status,
        "executionStartTime": "2026-11-27T09:00:00Z",
        "pipelineArn": pipeline_arn,
        "pipelineExecutionArn": pipeline_execution_arn,
    }
    if previous_status is not None:
        detail["previousPipelineExecutionStatus"] = previous_status
    if status in {"Succeeded", "Failed", "Stopped"}:
        detail["executionEndTime"] = moment
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": PIPELINE_STATUS_CHANGE,
        "source": "aws.sagemaker",
        "account": ACCOUNT_ID,
        "time": moment,
        "region": REGION,
        "resources": [pipeline_arn, pipeline_execution_arn],
        "detail": detail,
    }


def s3_object_created_event(bucket: str, key: str | None, time: str | float = "2026-11-27T09:00:51Z") -> dict[str, Any]:
    """An "Object Created" event of the data bucket; `key=None` leaves out `detail.object` (malformed)."""
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket},
        "request-id": "CB5KLP9LTG7TCF7P",
        "requester": ACCOUNT_ID,
        "source-ip-address": "10.24.8.17",
        "reason": "PutObject",
    }
    if key is not None:
        detail["object"] = {"key": key, "size": 0, "etag": "d41d8cd98f00b204e9800998ecf8427e", "sequencer": "0A"}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Object Created",
        "source": "aws.s3",
        "account": ACCOUNT_ID,
        "time": time,
        "region": REGION,
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": detail,
    }


# -- model registry and deployments -------------------------------------------------------------------------


def deployment_model(stages: list[dict[str, Any]], gate: dict[str, Any] | None = None) -> dict[str, Any]:
    """The marker-mode churn model with this `deployment:` section (group churn-models)."""
    deployment: dict[str, Any] = {"stages": stages}
    if gate is not None:
        deployment["gate"] = gate
    return {**marker_model(), "deployment": deployment}


def _ledger_item(cloud: LocalCloud, pk: str, sk: str) -> dict[str, Any] | None:
    from boto3.dynamodb.types import TypeDeserializer  # noqa: PLC0415

    raw = cloud.client("dynamodb").get_item(
        TableName=cloud.ledger_table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True
    )
    if "Item" not in raw:
        return None
    deserializer = TypeDeserializer()
    return {key: deserializer.deserialize(value) for key, value in raw["Item"].items()}


def endpoint_state(cloud: LocalCloud, endpoint: str) -> dict[str, Any] | None:
    """The ledger's view of an endpoint: serving, previous and last known good versions and configs, status."""
    return _ledger_item(cloud, f"ENDPOINT#{endpoint}", "STATE")


def stage_deployment(cloud: LocalCloud, package_arn: str, stage: str) -> dict[str, Any] | None:
    """The ledger's record of one version's deployment to one stage (status Deployed, RolledBack, Failed)."""
    return _ledger_item(cloud, f"PACKAGE#{package_arn}", f"STAGE#{stage}")


def approval_changed_at(cloud: LocalCloud, package_arn: str) -> datetime:
    """The LastModifiedTime of the version's latest approval change, as the ledger noted it."""
    item = _ledger_item(cloud, f"PACKAGE#{package_arn}", "APPROVAL")
    assert item is not None, f"no approval change of {package_arn} reached the control plane"
    return datetime.fromisoformat(str(item["changed_at"]).replace("Z", "+00:00"))


def approval_deploy_name(cloud: LocalCloud, package_arn: str, stage: str = "staging") -> str:
    """The deploy execution the version's latest approval started (its name carries the approval's time)."""
    return approval_deploy_execution_name(stage, "churn", package_arn, approval_changed_at(cloud, package_arn))


def outcomes_of(cloud: LocalCloud, state_machine: str) -> dict[str, dict[str, Any]]:
    """`execution_outcomes` of one state machine (its logical id), by execution name."""
    from localcloud.report import execution_outcomes  # noqa: PLC0415 - keeps this section's imports with it

    return {
        name: outcome
        for name, outcome in execution_outcomes(cloud).items()
        if outcome["state_machine"] == state_machine
    }


def deploy_outcomes(cloud: LocalCloud) -> dict[str, dict[str, Any]]:
    """`execution_outcomes` of the deploy state machine only, by execution name."""
    from localcloud.report import execution_outcomes  # noqa: PLC0415 - keeps this section's imports with it

    return {name: outcome for name, outcome in execution_outcomes(cloud).items() if outcome["state_machine"] == DEPLOY}


def sdk_calls(cloud: LocalCloud, resource: str) -> list[dict[str, Any]]:
    """Every call the deploy executions made to one service-integration resource (e.g. "updateEndpoint",
    "createEndpoint"), attempts included, in the order they were made: execution, state, parameters sent, and
    error/cause when it failed."""
    sfn = cloud.client("stepfunctions")
    calls: list[dict[str, Any]] = []
    for execution in sfn.list_executions(stateMachineArn=cloud.state_machine_arn(DEPLOY))["executions"]:
        history = cloud.execution_history(execution["executionArn"])
        state, current = None, None
        for event in history:
            if "stateEnteredEventDetails" in event:
                state = event["stateEnteredEventDetails"]["name"]
            if "taskScheduledEventDetails" in event:
                scheduled = event["taskScheduledEventDetails"]
                current = None
                if scheduled["resource"] == resource:
                    current = {
                        "at": event["timestamp"],
                        "execution": execution["name"],
                        "state": state,
                        "parameters": json.loads(scheduled["parameters"]),
                        "error": None,
                        "cause": None,
                    }
                    calls.append(current)
            elif "taskFailedEventDetails" in event and current is not None:
                current["error"] = event["taskFailedEventDetails"].get("error")
                current["cause"] = event["taskFailedEventDetails"].get("cause")
                current = None
            elif "taskSucceededEventDetails" in event:
                current = None
    return sorted(calls, key=lambda call: call["at"])


def registry_ingress_actions(cloud: LocalCloud, since: int = 0) -> list[dict[str, Any]]:
    """What the registry-events function decided for each event it received (action, reason, execution)."""
    return [entry.data["response"] for entry in invocations(cloud, "RegistryEventsFunction", since)]


# -- drift response -----------------------------------------------------------------------------------------


def execution_input(cloud: LocalCloud, state_machine: str, name: str) -> Any:
    """The input an execution of one state machine (its logical id) was started with."""
    arn = execution_arn(cloud, state_machine, name)
    return json.loads(cloud.client("stepfunctions").describe_execution(executionArn=arn)["input"])


def drift_incident(cloud: LocalCloud, model: str, endpoint: str, kind: str) -> dict[str, Any] | None:
    """The ledger's current drift incident of one model, endpoint and kind of signal (open or recovering)."""
    return _ledger_item(cloud, f"INCIDENT#{model}#{endpoint}", f"KIND#{kind}")


# -- human decisions ----------------------------------------------------------------------------------------

DECISION_REJECTED = ["Answer", "RecordRejection", "Rejected"]


def execution_arn(cloud: LocalCloud, state_machine: str, name: str) -> str:
    return cloud.state_machine_arn(state_machine).replace(":stateMachine:", ":execution:") + f":{name}"


def decision_item(cloud: LocalCloud, incident_id: str) -> dict[str, Any] | None:
    """The ledger's question to a human about an incident (status, task token while it waits, who answered)."""
    return _ledger_item(cloud, f"DECISION#{incident_id}", "WAITING")
