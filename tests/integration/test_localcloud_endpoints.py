"""SageMaker hosting and model registry in the local cloud (localcloud/emulations/sagemaker_endpoints.py), against moto.

Endpoint lifecycles run on the virtual clock: each test fires timers with `clock.fire_next()` and watches what
SageMaker would send to EventBridge through an SQS-targeted rule on the default bus.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.responses import BaseResponse
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse

from localcloud.clock import DEFAULT_START, VirtualClock, wait_until_quiescent
from localcloud.emulations.sagemaker_endpoints import EndpointOutcome
from localcloud.emulations.stepfunctions_time import running_execution_count
from localcloud.extensions import Hooks, LocalCloudExtensions, install

MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/localcloud-test"
ENDPOINT_ARN = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/churn"
NO_RETRIES = Config(retries={"max_attempts": 0})
CANARY_10_PERCENT = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "CANARY",
            "WaitIntervalInSeconds": 300,
            "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        },
        "TerminationWaitInSeconds": 600,
        "MaximumExecutionTimeoutInSeconds": 3600,
    },
    "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "churn-5xx"}, {"AlarmName": "churn-latency"}]},
}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def local_cloud(clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloudExtensions]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    hooks = Hooks(invoke_lambda=lambda name, payload: (payload, None), deliver_event=lambda target, event: None)
    with mock_aws(config=MOTO_CONFIG):
        boto3.client("iam").create_role(RoleName="localcloud-test", AssumeRolePolicyDocument="{}")
        ext = install(clock, hooks)
        try:
            yield ext
        finally:
            ext.uninstall()


@pytest.fixture
def sagemaker(local_cloud: LocalCloudExtensions) -> Any:
    return boto3.client("sagemaker")


@pytest.fixture
def events_queue(local_cloud: LocalCloudExtensions) -> str:
    """An SQS queue receiving every aws.sagemaker event of the default bus."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="sagemaker-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(Name="sagemaker-events", EventPattern=json.dumps({"source": ["aws.sagemaker"]}))
    events.put_targets(Rule="sagemaker-events", Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


def drain(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    delivered: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            delivered.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return delivered


def endpoint_statuses(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["detail-type"], event["detail"]["EndpointStatus"]) for event in events]


def register_package(sagemaker: Any, group: str = "churn", **extra: Any) -> str:
    if group not in [
        g["ModelPackageGroupName"] for g in sagemaker.list_model_package_groups()["ModelPackageGroupSummaryList"]
    ]:
        sagemaker.create_model_package_group(ModelPackageGroupName=group)
    inference = {
        "Containers": [
            {"Image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/xgb:1", "ModelDataUrl": "s3://m/model.tar.gz"}
        ],
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    }
    return str(
        sagemaker.create_model_package(ModelPackageGroupName=group, InferenceSpecification=inference, **extra)[
            "ModelPackageArn"
        ]
    )


def endpoint_config(sagemaker: Any, name: str, instances: int = 4, package_arn: str | None = None) -> None:
    model_name = f"{name}-model"
    sagemaker.create_model(
        ModelName=model_name,
        ExecutionRoleArn=ROLE_ARN,
        PrimaryContainer={"ModelPackageName": package_arn or register_package(sagemaker)},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": model_name,
                "InitialInstanceCount": instances,
                "InstanceType": "ml.m5.large",
            }
        ],
    )


def in_service_endpoint(sagemaker: Any, clock: VirtualClock, config: str = "churn-v1") -> None:
    endpoint_config(sagemaker, config)
    sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName=config)
    assert clock.fire_next()
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"


def validation_message(error: pytest.ExceptionInfo[ClientError]) -> str:
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(error.value.response["Error"]["Message"])


# -- endpoint creation --------------------------------------------------------------------------------------


def test_create_endpoint_is_creating_then_in_service_with_state_change_events(
    clock: VirtualClock, sagemaker: Any, events_queue: str
) -> None:
    endpoint_config(sagemaker, "churn-v1")
    drain(events_queue)  # the model package registration

    arn = sagemaker.create_endpoint(
        EndpointName="churn", EndpointConfigName="churn-v1", Tags=[{"Key": "team", "Value": "ml"}]
    )["EndpointArn"]

    assert arn == ENDPOINT_ARN
    described = sagemaker.describe_endpoint(EndpointName="churn")
    assert described["EndpointStatus"] == "Creating"
    assert "FailureReason" not in described
    assert clock.next_deadline() == DEFAULT_START + timedelta(seconds=300)
    (creating,) = drain(events_queue)
    assert creating["detail"]["EndpointStatus"] == "CREATING"

    assert clock.fire_next()

    described = sagemaker.describe_endpoint(EndpointName="churn")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "churn-v1"
    assert described["CreationTime"] == DEFAULT_START
    assert described["LastModifiedTime"] == DEFAULT_START + timedelta(seconds=300)
    assert described["ProductionVariants"] == [
        {
            "VariantName": "AllTraffic",
            "CurrentWeight": 1.0,
            "DesiredWeight": 1.0,
            "CurrentInstanceCount": 4,
            "DesiredInstanceCount": 4,
        }
    ]
    assert "PendingDeploymentSummary" not in described
    (in_service,) = drain(events_queue)
    assert in_service["source"] == "aws.sagemaker"
    assert in_service["detail-type"] == "SageMaker Endpoint State Change"
    assert in_service["resources"] == [ENDPOINT_ARN]
    assert in_service["time"] == "2026-11-27T09:05:00Z"
    assert in_service["detail"] == {
        "EndpointName": "churn",
        "EndpointArn": ENDPOINT_ARN,
        "EndpointConfigName": "churn-v1",
        "ProductionVariants": described["ProductionVariants"],
        "EndpointStatus": "IN_SERVICE",
        "CreationTime": int(DEFAULT_START.timestamp() * 1000),
        "LastModifiedTime": int(DEFAULT_START.timestamp() * 1000) + 300_000,
        "Tags": {"team": "ml"},
    }
    summary = sagemaker.list_endpoints()["Endpoints"][0]
    assert summary["EndpointStatus"] == "InService"


def test_scripted_creation_failure_leaves_a_failed_endpoint_that_only_delete_accepts(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, sagemaker: Any, events_queue: str
) -> None:
    endpoint_config(sagemaker, "churn-v1")
    endpoint_config(sagemaker, "churn-v2")
    local_cloud.endpoints.set_endpoint_creation(
        "churn", outcome="fail", duration_seconds=120, failure_reason="No capacity"
    )

    sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName="churn-v1")
    assert clock.fire_next()

    described = sagemaker.describe_endpoint(EndpointName="churn")
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"] == "No capacity"
    assert clock.now() == DEFAULT_START + timedelta(seconds=120)
    failed = [event["detail"] for event in drain(events_queue) if "Endpoint" in event["detail-type"]]
    assert [detail["EndpointStatus"] for detail in failed] == ["CREATING", "FAILED"]
    assert failed[-1]["FailureReason"] == "No capacity"
    with pytest.raises(ClientError) as error:
        sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
    assert "Cannot update failed endpoint" in validation_message(error)

    sagemaker.delete_endpoint(EndpointName="churn")

    (deleting,) = drain(events_queue)
    assert deleting["detail"]["EndpointStatus"] == "DELETING"
    with pytest.raises(ClientError) as error:
        sagemaker.describe_endpoint(EndpointName="churn")
    assert "Could not find endpoint" in validation_message(error)


def test_create_endpoint_rejects_an_existing_name_and_a_missing_config(clock: VirtualClock, sagemaker: Any) -> None:
    in_service_endpoint(sagemaker, clock)

    with pytest.raises(ClientError) as error:
        sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName="churn-v1")
    assert validation_message(error) == f'Cannot create already existing endpoint "{ENDPOINT_ARN}".'
    with pytest.raises(ClientError) as error:
        sagemaker.create_endpoint(EndpointName="other", EndpointConfigName="missing")
    assert "Could not find endpoint configuration" in validation_message(error)


# -- blue/green updates -------------------------------------------------------------------------------------


def test_canary_update_is_updating_then_in_service_on_the_new_config(
    clock: VirtualClock, sagemaker: Any, events_queue: str
) -> None:
    in_service_endpoint(sagemaker, clock)
    endpoint_config(sagemaker, "churn-v2", instances=2)
    drain(events_queue)
    updated_at = clock.now()

    response = sagemaker.update_endpoint(
        EndpointName="churn", EndpointConfigName="churn-v2", DeploymentConfig=CANARY_10_PERCENT
    )

    assert response["EndpointArn"] == ENDPOINT_ARN
    described = sagemaker.describe_endpoint(EndpointName="churn")
    assert described["EndpointStatus"] == "Updating"
    assert described["EndpointConfigName"] == "churn-v1"  # the old fleet serves until the deployment ends
    assert described["LastModifiedTime"] == updated_at
    pending = described["PendingDeploymentSummary"]
    assert pending["EndpointConfigName"] == "churn-v2"
    assert pending["StartTime"] == updated_at
    assert pending["ProductionVariants"][0]["DesiredInstanceCount"] == 2
    assert pending["ProductionVariants"][0]["VariantStatus"][0]["Status"] == "Creating"
    assert described["LastDeploymentConfig"] == CANARY_10_PERCENT
    started = drain(events_queue)
    assert endpoint_statuses(started) == [
        ("SageMaker Endpoint State Change", "UPDATING"),
        ("SageMaker Endpoint Deployment State Change", "UPDATING"),
    ]
    assert started[0]["detail"]["EndpointConfigName"] == "churn-v1"
    assert "PendingDeploymentSummary" not in started[0]["detail"]
    deployment_pending = started[1]["detail"]["PendingDeploymentSummary"]
    assert deployment_pending["EndpointConfigName"] == "churn-v2"
    assert deployment_pending["StartTime"] == int(updated_at.timestamp() * 1000)
    assert clock.next_deadline() == updated_at + timedelta(seconds=600)

    assert clock.fire_next()

    described = sagemaker.describe_endpoint(EndpointName="churn")
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointConfigName"] == "churn-v2"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 2
    assert "FailureReason" not in described
    assert "PendingDeploymentSummary" not in described
    finished = drain(events_queue)
    assert endpoint_statuses(finished) == [
        ("SageMaker Endpoint State Change", "IN_SERVICE"),
        ("SageMaker Endpoint Deployment State Change", "IN_SERVICE"),
    ]
    assert all(event["detail"]["EndpointConfigName"] == "churn-v2" for event in finished)
    assert "PendingDeploymentSummary" not in finished[1]["detail"]


@pytest.mark.parametrize(
    ("outcome", "status", "reason_contains"),
    [
        ("fail", "InService", "did not pass the ping health check"),
        ("rollback", "InService", "churn-5xx"),
        ("silent_rollback", "InService", None),
        ("update_rollback_failed", "UpdateRollbackFailed", "mix of the old and new"),
    ],
)
def test_failed_updates_leave_the_old_config_in_place(
    local_cloud: LocalCloudExtensions,
    clock: VirtualClock,
    sagemaker: Any,
    events_queue: str,
    outcome: EndpointOutcome,
    status: str,
    reason_contains: str | None,
) -> None:
    in_service_endpoint(sagemaker, clock)
    endpoint_config(sagemaker, "churn-v2")
    drain(events_queue)
    local_cloud.endpoints.set_endpoint_outcome("churn", outcome=outcome, duration_seconds=3600)

    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2", DeploymentConfig=CANARY_10_PERCENT)
    assert clock.fire_next()

    described = sagemaker.describe_endpoint(EndpointName="churn")
    assert described["EndpointStatus"] == status
    assert described["EndpointConfigName"] == "churn-v1"
    final_state_change = drain(events_queue)[-2]["detail"]
    assert final_state_change["EndpointConfigName"] == "churn-v1"
    if reason_contains is None:
        assert "FailureReason" not in described
        assert "FailureReason" not in final_state_change
        assert final_state_change["EndpointStatus"] == "IN_SERVICE"
    else:
        assert reason_contains in described["FailureReason"]
        assert final_state_change["FailureReason"] == described["FailureReason"]
    assert clock.now() == DEFAULT_START + timedelta(seconds=300 + 3600)


def test_an_outcome_script_applies_to_the_next_update_only(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, sagemaker: Any
) -> None:
    in_service_endpoint(sagemaker, clock)
    endpoint_config(sagemaker, "churn-v2")
    local_cloud.endpoints.set_endpoint_outcome("churn", outcome="fail", failure_reason="Image pull failed")

    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
    assert clock.fire_next()
    assert sagemaker.describe_endpoint(EndpointName="churn")["FailureReason"] == "Image pull failed"
    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
    assert "FailureReason" not in sagemaker.describe_endpoint(EndpointName="churn")  # cleared by the new update
    assert clock.fire_next()

    described = sagemaker.describe_endpoint(EndpointName="churn")
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", "churn-v2")
    assert "FailureReason" not in described


def test_the_default_bake_duration_is_a_simulation_knob(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, sagemaker: Any
) -> None:
    local_cloud.endpoints.set_endpoint_defaults(creation_seconds=60, bake_seconds=3600)
    in_service_endpoint(sagemaker, clock)
    assert clock.now() == DEFAULT_START + timedelta(seconds=60)
    endpoint_config(sagemaker, "churn-v2")

    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")

    assert clock.next_deadline() == DEFAULT_START + timedelta(seconds=60 + 3600)


def test_retain_all_variant_properties_keeps_the_running_instance_count(clock: VirtualClock, sagemaker: Any) -> None:
    in_service_endpoint(sagemaker, clock)
    endpoint_config(sagemaker, "churn-v2", instances=2)

    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2", RetainAllVariantProperties=True)
    assert clock.fire_next()

    variant = sagemaker.describe_endpoint(EndpointName="churn")["ProductionVariants"][0]
    assert (variant["CurrentInstanceCount"], variant["DesiredInstanceCount"]) == (4, 4)


def _canary(size_type: str, value: int) -> dict[str, Any]:
    routing = {"Type": "CANARY", "WaitIntervalInSeconds": 60, "CanarySize": {"Type": size_type, "Value": value}}
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}}


def _linear(size_type: str, value: int) -> dict[str, Any]:
    routing = {"Type": "LINEAR", "WaitIntervalInSeconds": 60, "LinearStepSize": {"Type": size_type, "Value": value}}
    return {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": routing}}


_ROLLING = {"MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25}, "WaitIntervalInSeconds": 60}


@pytest.mark.parametrize(
    ("deployment_config", "message"),
    [
        (_canary("CAPACITY_PERCENT", 60), "CanarySize of 60% is invalid"),
        (_canary("INSTANCE_COUNT", 3), "at most half of the 4 instance(s)"),
        (_linear("CAPACITY_PERCENT", 5), "LinearStepSize of 5% is invalid"),
        (
            {
                "BlueGreenUpdatePolicy": _canary("CAPACITY_PERCENT", 10)["BlueGreenUpdatePolicy"],
                "RollingUpdatePolicy": _ROLLING,
            },
            "at most one of BlueGreenUpdatePolicy and RollingUpdatePolicy",
        ),
        (
            {"BlueGreenUpdatePolicy": {"TrafficRoutingConfiguration": {"Type": "CANARY", "WaitIntervalInSeconds": 0}}},
            "Type CANARY requires CanarySize",
        ),
        (
            {"RollingUpdatePolicy": {**_ROLLING, "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 60}}},
            "MaximumBatchSize of 60% is invalid",
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    "TrafficRoutingConfiguration": {"Type": "BIG_BANG", "WaitIntervalInSeconds": 4000}
                }
            },
            "2 validation errors detected: Value 'BIG_BANG' at "
            "'deploymentConfig.blueGreenUpdatePolicy.trafficRoutingConfiguration.type'",
        ),
        (
            {
                "BlueGreenUpdatePolicy": {
                    **_canary("CAPACITY_PERCENT", 10)["BlueGreenUpdatePolicy"],
                    "MaximumExecutionTimeoutInSeconds": 60,
                }
            },
            "Member must have value greater than or equal to 600",
        ),
        ({"AutoRollbackConfiguration": {"Alarms": []}}, "Member must have length between 1 and 10"),
    ],
)
def test_update_endpoint_validates_the_deployment_config_like_aws(
    clock: VirtualClock, sagemaker: Any, deployment_config: dict[str, Any], message: str
) -> None:
    in_service_endpoint(sagemaker, clock)
    endpoint_config(sagemaker, "churn-v2")
    unvalidated = boto3.client("sagemaker", config=Config(parameter_validation=False))  # as Step Functions calls

    with pytest.raises(ClientError) as error:
        unvalidated.update_endpoint(
            EndpointName="churn", EndpointConfigName="churn-v2", DeploymentConfig=deployment_config
        )

    assert message in validation_message(error)
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"
    assert clock.pending_timers == 0


def test_update_endpoint_rejects_an_endpoint_in_progress_and_unknown_names(clock: VirtualClock, sagemaker: Any) -> None:
    endpoint_config(sagemaker, "churn-v1")
    endpoint_config(sagemaker, "churn-v2")
    sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName="churn-v1")

    with pytest.raises(ClientError) as error:
        sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
    assert f'Cannot update in-progress endpoint "{ENDPOINT_ARN}"' in validation_message(error)
    assert clock.fire_next()
    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
    with pytest.raises(ClientError) as error:
        sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
    assert "Cannot update in-progress endpoint" in validation_message(error)
    with pytest.raises(ClientError) as error:
        sagemaker.update_endpoint(EndpointName="missing", EndpointConfigName="churn-v2")
    assert "Could not find endpoint" in validation_message(error)
    with pytest.raises(ClientError) as error:
        sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="missing")
    assert "Could not find endpoint configuration" in validation_message(error)


def test_deleting_an_updating_endpoint_cancels_its_deployment(
    clock: VirtualClock, sagemaker: Any, events_queue: str
) -> None:
    in_service_endpoint(sagemaker, clock)
    endpoint_config(sagemaker, "churn-v2")
    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
    drain(events_queue)

    sagemaker.delete_endpoint(EndpointName="churn")

    assert clock.pending_timers == 0
    assert endpoint_statuses(drain(events_queue)) == [("SageMaker Endpoint State Change", "DELETING")]
    assert sagemaker.list_endpoints()["Endpoints"] == []


# -- throttling ---------------------------------------------------------------------------------------------


def test_injected_throttling_fails_the_next_calls_then_lets_them_through(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, sagemaker: Any
) -> None:
    in_service_endpoint(sagemaker, clock)
    endpoint_config(sagemaker, "churn-v2")
    local_cloud.endpoints.inject_sagemaker_throttling("UpdateEndpoint", times=2)
    no_retries = boto3.client("sagemaker", config=NO_RETRIES)

    for _ in range(2):
        with pytest.raises(ClientError) as error:
            no_retries.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
        assert error.value.response["Error"] == {"Code": "ThrottlingException", "Message": "Rate exceeded"}
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "InService"  # not throttled

    no_retries.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")

    assert sagemaker.describe_endpoint(EndpointName="churn")["EndpointStatus"] == "Updating"


def test_botocore_retries_absorb_a_single_throttle(local_cloud: LocalCloudExtensions, sagemaker: Any) -> None:
    package_arn = register_package(sagemaker)
    local_cloud.endpoints.inject_sagemaker_throttling("DescribeModelPackage", times=1)

    response = sagemaker.describe_model_package(ModelPackageName=package_arn)

    assert response["ResponseMetadata"]["RetryAttempts"] == 1


def test_throttling_rejects_unknown_operation_names(local_cloud: LocalCloudExtensions) -> None:
    with pytest.raises(ValueError, match="'updateEndpoint' is not a SageMaker"):
        local_cloud.endpoints.inject_sagemaker_throttling("updateEndpoint", times=1)


def _run(clock: VirtualClock, definition: dict[str, Any], name: str) -> dict[str, Any]:
    sfn = boto3.client("stepfunctions")
    machine = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE_ARN)
    execution_arn = sfn.start_execution(stateMachineArn=machine["stateMachineArn"], name=name, input="{}")[
        "executionArn"
    ]
    for _ in range(10):
        wait_until_quiescent(clock, running_execution_count)
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert clock.fire_next()
    pytest.fail(f"{name} still RUNNING")


def test_step_functions_sdk_integration_sees_throttling_as_a_catchable_sagemaker_error(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, sagemaker: Any
) -> None:
    package_arn = register_package(sagemaker)
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::aws-sdk:sagemaker:describeModelPackage",
        "Parameters": {"ModelPackageName": package_arn},
        "ResultSelector": {"status.$": "$.ModelApprovalStatus"},
    }
    caught = {
        "StartAt": "Describe",
        "States": {
            "Describe": {**task, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Throttled"}], "End": True},
            "Throttled": {"Type": "Pass", "End": True},
        },
    }
    retried = {
        "StartAt": "Describe",
        "States": {
            "Describe": {
                **task,
                "Retry": [{"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 5, "MaxAttempts": 3}],
                "End": True,
            }
        },
    }
    local_cloud.endpoints.inject_sagemaker_throttling("DescribeModelPackage", times=1)

    described = _run(clock, caught, "caught")
    output = json.loads(described["output"])
    # As AWS names an unmodelled error of an aws-sdk SageMaker task (moto alone says "sagemaker.sagemakerException").
    assert output["Error"] == "SageMaker.SageMakerException"
    assert output["Cause"].startswith("Rate exceeded (Service: SageMaker, Status Code: 400")

    local_cloud.endpoints.inject_sagemaker_throttling("DescribeModelPackage", times=2)
    described = _run(clock, retried, "retried")
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"status": "PendingManualApproval"}
    assert clock.now() == DEFAULT_START + timedelta(seconds=5 + 10)  # two retries (BackoffRate 2), virtual time


def test_step_functions_sdk_integration_starts_a_canary_update(clock: VirtualClock, sagemaker: Any) -> None:
    in_service_endpoint(sagemaker, clock)
    endpoint_config(sagemaker, "churn-v2")
    definition = {
        "StartAt": "Update",
        "States": {
            "Update": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:updateEndpoint",
                "Parameters": {
                    "EndpointName": "churn",
                    "EndpointConfigName": "churn-v2",
                    "DeploymentConfig": CANARY_10_PERCENT,
                },
                "End": True,
            }
        },
    }

    described = _run(clock, definition, "deploy")

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"EndpointArn": ENDPOINT_ARN}
    endpoint = sagemaker.describe_endpoint(EndpointName="churn")
    assert endpoint["EndpointStatus"] == "Updating"
    assert endpoint["LastDeploymentConfig"] == CANARY_10_PERCENT


# -- model registry -----------------------------------------------------------------------------------------


def test_model_package_events_on_create_approval_and_metadata_update(
    clock: VirtualClock, sagemaker: Any, events_queue: str
) -> None:
    metrics = {"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": "s3://m/eval.json"}}}
    generated_by = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/train/execution/abc123"

    arn = register_package(
        sagemaker,
        ModelMetrics=metrics,
        MetadataProperties={"GeneratedBy": generated_by},
        CustomerMetadataProperties={"dataset": "2026-11-27"},
    )
    (created,) = drain(events_queue)
    clock.call_later(60, lambda: None)
    assert clock.fire_next()
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="ok")
    (approved,) = drain(events_queue)
    sagemaker.update_model_package(ModelPackageArn=arn, CustomerMetadataProperties={"deployed": "true"})
    (stamped,) = drain(events_queue)

    assert created["detail-type"] == "SageMaker Model Package State Change"
    assert created["resources"] == [arn]
    assert created["detail"]["ModelApprovalStatus"] == "PendingManualApproval"
    assert "UpdatedModelPackageFields" not in created["detail"]
    assert approved["detail"]["UpdatedModelPackageFields"] == ["ModelApprovalStatus", "ApprovalDescription"]
    assert approved["time"] == "2026-11-27T09:01:00Z"
    assert approved["detail"] == {
        "ModelPackageGroupName": "churn",
        "ModelPackageVersion": 1,
        "ModelPackageArn": arn,
        "ModelPackageName": "churn",
        "CreationTime": "2026-11-27T09:00:00Z",
        "InferenceSpecification": created["detail"]["InferenceSpecification"],
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CertifyForMarketplace": False,
        "ModelApprovalStatus": "Approved",
        "ApprovalDescription": "ok",
        "MetadataProperties": {"GeneratedBy": generated_by},
        "ModelMetrics": metrics,
        "CustomerMetadataProperties": {"dataset": "2026-11-27"},
        "LastModifiedTime": "2026-11-27T09:01:00Z",
        "UpdatedModelPackageFields": ["ModelApprovalStatus", "ApprovalDescription"],
    }
    assert stamped["detail"]["UpdatedModelPackageFields"] == ["CustomerMetadataProperties"]
    assert stamped["detail"]["ModelApprovalStatus"] == "Approved"  # moto alone would reset it to None
    described = sagemaker.describe_model_package(ModelPackageName=arn)
    assert described["ModelApprovalStatus"] == "Approved"
    assert described["ApprovalDescription"] == "ok"
    assert described["CustomerMetadataProperties"] == {"dataset": "2026-11-27", "deployed": "true"}
    assert described["ModelMetrics"] == metrics
    assert described["MetadataProperties"] == {"GeneratedBy": generated_by}
    assert described["LastModifiedBy"]["UserProfileName"]
    assert described["LastModifiedTime"] == DEFAULT_START + timedelta(seconds=60)


def test_duplicate_model_package_events_option(
    local_cloud: LocalCloudExtensions, sagemaker: Any, events_queue: str
) -> None:
    arn = register_package(sagemaker)
    drain(events_queue)
    local_cloud.endpoints.set_duplicate_model_package_events(3)

    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")

    delivered = drain(events_queue)
    assert len(delivered) == 3
    assert len({event["id"] for event in delivered}) == 3
    assert all(event["detail"] == delivered[0]["detail"] for event in delivered)


def test_model_package_client_token_makes_creation_idempotent(sagemaker: Any, events_queue: str) -> None:
    first = register_package(sagemaker, ClientToken="train-abc123")
    again = register_package(sagemaker, ClientToken="train-abc123")

    assert again == first
    assert len(drain(events_queue)) == 1
    packages = sagemaker.list_model_packages(ModelPackageGroupName="churn")["ModelPackageSummaryList"]
    assert len(packages) == 1


def test_model_life_cycle_updates_are_kept_and_reported(sagemaker: Any, events_queue: str) -> None:
    arn = register_package(sagemaker)
    drain(events_queue)
    life_cycle = {"Stage": "Staging", "StageStatus": "Approved"}

    sagemaker.update_model_package(ModelPackageArn=arn, ModelLifeCycle=life_cycle)

    (event,) = drain(events_queue)
    assert event["detail"]["UpdatedModelPackageFields"] == ["ModelLifeCycle"]
    assert event["detail"]["ModelLifeCycle"] == life_cycle
    assert sagemaker.describe_model_package(ModelPackageName=arn)["ModelLifeCycle"] == life_cycle


# -- models, endpoint configs, invocation -------------------------------------------------------------------


def test_models_from_model_packages_and_endpoint_config_lifecycle(sagemaker: Any) -> None:
    arn = register_package(sagemaker)

    sagemaker.create_model(ModelName="primary", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"ModelPackageName": arn})
    sagemaker.create_model(ModelName="containers", ExecutionRoleArn=ROLE_ARN, Containers=[{"ModelPackageName": arn}])

    assert sagemaker.describe_model(ModelName="primary")["PrimaryContainer"] == {"ModelPackageName": arn}
    assert sagemaker.describe_model(ModelName="containers")["Containers"] == [{"ModelPackageName": arn}]
    with pytest.raises(ClientError) as error:
        sagemaker.create_model(
            ModelName="primary", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"ModelPackageName": arn}
        )
    assert "Cannot create already existing model" in validation_message(error)
    with pytest.raises(ClientError) as error:
        sagemaker.create_model(
            ModelName="ghost", ExecutionRoleArn=ROLE_ARN, PrimaryContainer={"ModelPackageName": arn[:-1] + "9"}
        )
    assert "not found" in validation_message(error)
    variants = [
        {"VariantName": "AllTraffic", "ModelName": "primary", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}
    ]
    sagemaker.create_endpoint_config(EndpointConfigName="churn-v1", ProductionVariants=variants)
    assert sagemaker.describe_endpoint_config(EndpointConfigName="churn-v1")["ProductionVariants"] == variants
    with pytest.raises(ClientError) as error:
        sagemaker.create_endpoint_config(EndpointConfigName="churn-v1", ProductionVariants=variants)
    assert "Cannot create already existing endpoint configuration" in validation_message(error)
    sagemaker.delete_endpoint_config(EndpointConfigName="churn-v1")
    sagemaker.delete_model(ModelName="primary")
    assert [model["ModelName"] for model in sagemaker.list_models()["Models"]] == ["containers"]
    with pytest.raises(ClientError):
        sagemaker.describe_endpoint_config(EndpointConfigName="churn-v1")


def test_invoke_endpoint_returns_the_scripted_response_while_the_endpoint_serves(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, sagemaker: Any
) -> None:
    runtime = boto3.client("sagemaker-runtime", config=NO_RETRIES)
    endpoint_config(sagemaker, "churn-v1")
    endpoint_config(sagemaker, "churn-v2")
    sagemaker.create_endpoint(EndpointName="churn", EndpointConfigName="churn-v1")
    local_cloud.endpoints.set_endpoint_response("churn", b'{"score": 0.87}')

    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(EndpointName="churn", Body=b"1,2,3", ContentType="text/csv")
    assert error.value.response["Error"] == {
        "Code": "ValidationError",
        "Message": f"Endpoint churn of account {ACCOUNT} not found.",
    }
    assert clock.fire_next()
    response = runtime.invoke_endpoint(EndpointName="churn", Body=b"1,2,3", ContentType="text/csv")
    assert response["Body"].read() == b'{"score": 0.87}'
    assert response["ContentType"] == "application/json"
    assert response["InvokedProductionVariant"] == "AllTraffic"

    sagemaker.update_endpoint(EndpointName="churn", EndpointConfigName="churn-v2")
    local_cloud.endpoints.set_endpoint_response("churn", b"model crashed", status=500)
    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(EndpointName="churn", Body=b"1,2,3", ContentType="text/csv")  # old fleet serves
    assert error.value.response["Error"]["Code"] == "ModelError"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error.value.response["OriginalStatusCode"] == 500
    assert error.value.response["OriginalMessage"] == "model crashed"
    with pytest.raises(ClientError) as error:
        runtime.invoke_endpoint(EndpointName="other", Body=b"1,2,3")
    assert error.value.response["Error"]["Code"] == "ValidationError"


# -- installation -------------------------------------------------------------------------------------------


def test_uninstall_removes_update_endpoint_and_restores_moto(clock: VirtualClock) -> None:
    original_call_action = vars(BaseResponse)["call_action"]
    original_create = vars(SageMakerModelBackend)["create_endpoint"]
    hooks = Hooks(invoke_lambda=lambda name, payload: (payload, None), deliver_event=lambda target, event: None)
    ext = install(clock, hooks)
    try:
        assert "update_endpoint" in vars(SageMakerResponse)
        assert vars(BaseResponse)["call_action"] is not original_call_action
    finally:
        ext.uninstall()

    assert "update_endpoint" not in vars(SageMakerResponse)
    assert "update_endpoint" not in vars(SageMakerModelBackend)
    assert vars(BaseResponse)["call_action"] is original_call_action
    assert vars(SageMakerModelBackend)["create_endpoint"] is original_create
