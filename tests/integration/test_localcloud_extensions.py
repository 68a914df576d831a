"""The local cloud's moto extensions, exercised with ASL actually executed by moto.

Step Functions executions run on moto's background threads; each test drives virtual time the way the local
cloud does: wait until every running execution is parked on the clock, then fire the next timer.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import boto3
import botocore.session
import moto
import pytest
from moto import mock_aws
from moto.sagemakerruntime.responses import SageMakerRuntimeResponse
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction

from localcloud.clock import DEFAULT_START, VirtualClock, wait_until_quiescent
from localcloud.cloud import LocalCloud
from localcloud.emulations import sagemaker_endpoints, stepfunctions_integrations
from localcloud.emulations.stepfunctions_time import running_execution_count
from localcloud.extensions import Hooks, LocalCloudExtensions, install

MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/localcloud-test"


class InvalidRequest(Exception):
    """A domain error whose class name ASL routes on."""


class TransientError(Exception):
    """An error worth retrying."""


class FakeFunctions:
    """In-process Lambda handlers keyed by function name; records every invocation."""

    def __init__(self) -> None:
        self.handlers: dict[str, Callable[[Any], Any]] = {}
        self.calls: list[tuple[str, Any]] = []

    def invoke(self, function_name: str, payload: bytes) -> tuple[bytes, str | None]:
        event = json.loads(payload or b"{}")
        self.calls.append((function_name, event))
        try:
            result = self.handlers[function_name](event)
        except Exception as error:
            body = {"errorType": type(error).__name__, "errorMessage": str(error)}
            return json.dumps(body).encode(), "Unhandled"
        return json.dumps(result).encode(), None


class Recorder:
    """What the extensions handed to the rest of the local cloud."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], Any]] = []
        self.pipelines_started: list[str] = []

    def deliver_event(self, target: dict[str, Any], event: Any) -> None:
        self.events.append((target, event))


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def functions() -> FakeFunctions:
    return FakeFunctions()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def local_cloud(
    clock: VirtualClock, functions: FakeFunctions, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> Iterator[LocalCloudExtensions]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    hooks = Hooks(
        invoke_lambda=functions.invoke,
        deliver_event=recorder.deliver_event,
        on_pipeline_started=recorder.pipelines_started.append,
    )
    with mock_aws(config=MOTO_CONFIG):
        boto3.client("iam").create_role(RoleName="localcloud-test", AssumeRolePolicyDocument="{}")
        ext = install(clock, hooks)
        try:
            yield ext
        finally:
            ext.uninstall()


@pytest.fixture
def sfn(local_cloud: LocalCloudExtensions) -> Any:
    return boto3.client("stepfunctions")


def create_function(name: str, handler: Callable[[Any], Any], functions: FakeFunctions) -> str:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("app.py", "def handler(event, context):\n    return event\n")
    response = boto3.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.13",
        Role=ROLE_ARN,
        Handler="app.handler",
        Code={"ZipFile": archive.getvalue()},
    )
    functions.handlers[name] = handler
    return str(response["FunctionArn"])


def start(sfn: Any, definition: dict[str, Any], execution_input: Any = None, name: str = "run-1") -> str:
    machine = sfn.create_state_machine(name=f"sm-{name}", definition=json.dumps(definition), roleArn=ROLE_ARN)
    execution = sfn.start_execution(
        stateMachineArn=machine["stateMachineArn"], name=name, input=json.dumps(execution_input or {})
    )
    return str(execution["executionArn"])


def quiesce(clock: VirtualClock) -> None:
    wait_until_quiescent(clock, running_execution_count)


def run_to_completion(clock: VirtualClock, sfn: Any, execution_arn: str, max_timers: int = 10) -> dict[str, Any]:
    """Fire timers one instant at a time until the execution leaves RUNNING."""
    for _ in range(max_timers + 1):
        quiesce(clock)
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        assert clock.fire_next(), "the execution is parked but no timer is pending: it waits for the test"
    pytest.fail(f"{execution_arn} still RUNNING after {max_timers} timers")


# -- the clock on its own -----------------------------------------------------------------------------------


def test_clock_fires_in_deadline_order_fifo_on_ties_and_never_goes_back() -> None:
    clock = VirtualClock()
    fired: list[str] = []
    clock.call_later(20, lambda: fired.append("b"))
    clock.call_later(10, lambda: fired.append("a1"))
    clock.call_later(10, lambda: fired.append("a2"))
    cancelled = clock.call_later(5, lambda: fired.append("cancelled"))
    cancelled.cancel()

    assert clock.pending_timers == 3
    assert clock.next_deadline() == DEFAULT_START + timedelta(seconds=10)
    assert clock.fire_next()
    assert fired == ["a1", "a2"]
    clock.call_at(DEFAULT_START, lambda: fired.append("late"))
    assert clock.fire_next()
    assert fired == ["a1", "a2", "late"]
    assert clock.now() == DEFAULT_START + timedelta(seconds=10)
    assert clock.fire_next()
    assert not clock.fire_next()
    assert clock.now() == DEFAULT_START + timedelta(seconds=20)


def test_quiescence_wait_fails_loudly_when_executions_never_park() -> None:
    with pytest.raises(TimeoutError, match="1 running execution"):
        wait_until_quiescent(VirtualClock(), lambda: 1, deadlock_seconds=0.05)


# -- Step Functions ---------------------------------------------------------------------------------------


def test_wait_state_of_an_hour_passes_in_virtual_time(clock: VirtualClock, sfn: Any) -> None:
    started_at = clock.now()
    definition = {
        "StartAt": "Sleep",
        "States": {"Sleep": {"Type": "Wait", "Seconds": 3600, "Next": "Done"}, "Done": {"Type": "Pass", "End": True}},
    }
    execution_arn = start(sfn, definition, {"n": 1})

    quiesce(clock)
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    assert clock.parked_count == 1
    assert clock.next_deadline() == started_at + timedelta(seconds=3600)

    assert clock.fire_next()
    assert clock.parked_count == 0  # un-parked by fire_next, before the execution thread resumes
    described = run_to_completion(clock, sfn, execution_arn)

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"n": 1}
    assert clock.now() - started_at == timedelta(seconds=3600)
    assert clock.parked_count == 0
    assert clock.pending_timers == 0


def test_stop_execution_interrupts_a_virtual_wait(clock: VirtualClock, sfn: Any) -> None:
    definition = {"StartAt": "Sleep", "States": {"Sleep": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    execution_arn = start(sfn, definition)
    quiesce(clock)

    sfn.stop_execution(executionArn=execution_arn)

    assert clock.parked_count == 0
    quiesce(clock)
    assert sfn.describe_execution(executionArn=execution_arn)["status"] == "ABORTED"
    assert clock.pending_timers == 0
    assert clock.now() == DEFAULT_START


def test_wait_timestamp_path_is_measured_against_the_virtual_clock(clock: VirtualClock, sfn: Any) -> None:
    definition = {
        "StartAt": "Until",
        "States": {"Until": {"Type": "Wait", "TimestampPath": "$.until", "End": True}},
    }
    execution_arn = start(sfn, definition, {"until": "2026-11-27T10:30:00Z"})

    described = run_to_completion(clock, sfn, execution_arn)

    assert described["status"] == "SUCCEEDED"
    assert clock.now().isoformat() == "2026-11-27T10:30:00+00:00"


def test_retry_interval_is_virtual_and_the_third_attempt_succeeds(
    clock: VirtualClock, sfn: Any, functions: FakeFunctions
) -> None:
    attempts: list[Any] = []

    def flaky(event: Any) -> Any:
        attempts.append(event)
        if len(attempts) <= 2:
            raise TransientError(f"attempt {len(attempts)} failed")
        return {"attempts": len(attempts)}

    function_arn = create_function("flaky", flaky, functions)
    started_at = clock.now()
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": function_arn,
                "Retry": [
                    {"ErrorEquals": ["TransientError"], "IntervalSeconds": 30, "MaxAttempts": 3, "BackoffRate": 2.0}
                ],
                "End": True,
            }
        },
    }
    execution_arn = start(sfn, definition)

    described = run_to_completion(clock, sfn, execution_arn)

    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"attempts": 3}
    assert clock.now() - started_at == timedelta(seconds=30 + 60)


def _callback_definition(function_arn: str, **task_fields: Any) -> dict[str, Any]:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": function_arn, "Payload": {"token.$": "$$.Task.Token"}},
        "End": True,
        **task_fields,
    }
    return {"StartAt": "AwaitApproval", "States": {"AwaitApproval": task}}


def test_wait_for_task_token_resumes_on_send_task_success(
    clock: VirtualClock, sfn: Any, functions: FakeFunctions
) -> None:
    function_arn = create_function("request-approval", lambda event: {"requested": True}, functions)
    execution_arn = start(sfn, _callback_definition(function_arn))

    quiesce(clock)
    assert clock.parked_count == 1
    token = functions.calls[-1][1]["token"]
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    assert clock.parked_count == 0  # un-parked by the notifier, before the execution thread resumes

    described = run_to_completion(clock, sfn, execution_arn)
    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"]) == {"approved": True}
    assert clock.parked_count == 0


def test_wait_for_task_token_times_out_in_virtual_time_and_is_caught(
    clock: VirtualClock, sfn: Any, functions: FakeFunctions
) -> None:
    function_arn = create_function("request-approval", lambda event: {"requested": True}, functions)
    started_at = clock.now()
    definition = _callback_definition(
        function_arn,
        TimeoutSeconds=300,
        Catch=[{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.error", "Next": "TimedOut"}],
    )
    definition["States"]["AwaitApproval"].pop("End")
    definition["States"]["TimedOut"] = {"Type": "Pass", "End": True}
    execution_arn = start(sfn, definition, {"model": "churn"})

    quiesce(clock)
    assert clock.next_deadline() == started_at + timedelta(seconds=300)

    described = run_to_completion(clock, sfn, execution_arn)

    assert described["status"] == "SUCCEEDED", described
    output = json.loads(described["output"])
    assert output["model"] == "churn"
    assert output["error"]["Error"] == "States.Timeout"
    history = sfn.get_execution_history(executionArn=execution_arn)["events"]
    assert "TaskTimedOut" in [event["type"] for event in history]
    assert clock.now() - started_at == timedelta(seconds=300)
    assert clock.parked_count == 0
    assert clock.pending_timers == 0


@pytest.mark.parametrize("integration", ["function-arn", "lambda:invoke"])
def test_lambda_exception_name_becomes_the_asl_error(
    integration: str, clock: VirtualClock, sfn: Any, functions: FakeFunctions
) -> None:
    def reject(event: Any) -> Any:
        raise InvalidRequest("model package group 'churn' is not configured")

    function_arn = create_function("validate", reject, functions)
    if integration == "function-arn":
        task: dict[str, Any] = {"Type": "Task", "Resource": function_arn, "End": True}
    else:
        task = {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
            "End": True,
        }
    execution_arn = start(sfn, {"StartAt": "Validate", "States": {"Validate": task}}, {"group": "churn"})

    described = run_to_completion(clock, sfn, execution_arn)

    assert described["status"] == "FAILED"
    assert described["error"] == "InvalidRequest"
    assert "not configured" in described["cause"]
    assert functions.calls == [("validate", {"group": "churn"})]


def test_lambda_error_is_catchable_by_name(clock: VirtualClock, sfn: Any, functions: FakeFunctions) -> None:
    def reject(event: Any) -> Any:
        raise InvalidRequest("nope")

    function_arn = create_function("validate", reject, functions)
    definition = {
        "StartAt": "Validate",
        "States": {
            "Validate": {
                "Type": "Task",
                "Resource": function_arn,
                "Catch": [{"ErrorEquals": ["InvalidRequest"], "ResultPath": "$.error", "Next": "Rejected"}],
                "End": True,
            },
            "Rejected": {"Type": "Pass", "End": True},
        },
    }
    execution_arn = start(sfn, definition)

    described = run_to_completion(clock, sfn, execution_arn)

    assert described["status"] == "SUCCEEDED"
    assert json.loads(described["output"])["error"]["Error"] == "InvalidRequest"


def test_invoking_a_missing_function_fails_like_aws(local_cloud: LocalCloudExtensions) -> None:
    client = boto3.client("lambda")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="does-not-exist", Payload=b"{}")


def test_direct_invoke_by_arn_reaches_the_hook_by_name(
    local_cloud: LocalCloudExtensions, functions: FakeFunctions
) -> None:
    function_arn = create_function("echo", lambda event: {"echo": event}, functions)

    response = boto3.client("lambda").invoke(FunctionName=f"{function_arn}:$LATEST", Payload=b'{"a": 1}')

    assert json.loads(response["Payload"].read()) == {"echo": {"a": 1}}
    assert "FunctionError" not in response
    assert functions.calls == [("echo", {"a": 1})]


# -- EventBridge --------------------------------------------------------------------------------------------


def test_rule_with_lambda_and_state_machine_targets_calls_deliver_event(
    clock: VirtualClock, local_cloud: LocalCloudExtensions, recorder: Recorder
) -> None:
    events = boto3.client("events")
    pattern = {"source": ["controlplane.test"], "detail-type": ["Model Approved"]}
    events.put_rule(Name="on-approved", EventPattern=json.dumps(pattern))
    lambda_target = {"Id": "fn", "Arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:deploy"}
    sfn_target = {
        "Id": "sm",
        "Arn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:deploy",
        "RoleArn": ROLE_ARN,
        "InputPath": "$.detail",
    }
    events.put_targets(Rule="on-approved", Targets=[lambda_target, sfn_target])
    events.put_rule(Name="disabled", EventPattern=json.dumps(pattern), State="DISABLED")
    events.put_targets(Rule="disabled", Targets=[{"Id": "fn", "Arn": lambda_target["Arn"]}])

    events.put_events(
        Entries=[
            {"Source": "controlplane.test", "DetailType": "Model Approved", "Detail": json.dumps({"v": 3})},
            {"Source": "controlplane.test", "DetailType": "Something Else", "Detail": json.dumps({"v": 4})},
        ]
    )

    assert [(target["Id"], event) for target, event in recorder.events[1:]] == [("sm", {"v": 3})]
    target, event = recorder.events[0]
    assert target["Arn"] == lambda_target["Arn"]
    assert event["detail"] == {"v": 3}
    assert event["account"] == ACCOUNT
    assert event["region"] == REGION
    assert event["detail-type"] == "Model Approved"
    assert event["time"] == "2026-11-27T09:00:00Z"  # the virtual clock's
    assert "ingestion-time" not in event


# -- S3 -----------------------------------------------------------------------------------------------------


def _queue(name: str) -> tuple[str, str]:
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _drain(url: str) -> list[Any]:
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(message["Body"]) for message in messages]


def test_s3_object_created_event_is_aws_shaped_and_only_on_the_default_bus(
    clock: VirtualClock, local_cloud: LocalCloudExtensions
) -> None:
    s3 = boto3.client("s3")
    events = boto3.client("events")
    s3.create_bucket(Bucket="datasets")
    s3.put_bucket_notification_configuration(
        Bucket="datasets", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    pattern = json.dumps({"source": ["aws.s3"], "detail-type": ["Object Created"]})
    default_url, default_arn = _queue("default-bus-target")
    events.put_rule(Name="s3-created", EventPattern=pattern)
    events.put_targets(Rule="s3-created", Targets=[{"Id": "q", "Arn": default_arn}])
    custom_url, custom_arn = _queue("custom-bus-target")
    events.create_event_bus(Name="custom")
    events.put_rule(Name="s3-created", EventBusName="custom", EventPattern=pattern)
    events.put_targets(Rule="s3-created", EventBusName="custom", Targets=[{"Id": "q", "Arn": custom_arn}])

    put = s3.put_object(Bucket="datasets", Key="raw/2026/11/27 data.csv", Body=b"a,b\n1,2\n")
    s3.copy_object(
        Bucket="datasets", Key="copy.csv", CopySource={"Bucket": "datasets", "Key": "raw/2026/11/27 data.csv"}
    )

    delivered = _drain(default_url)
    assert _drain(custom_url) == []
    assert [event["detail"]["reason"] for event in delivered] == ["PutObject", "CopyObject"]
    event = delivered[0]
    assert event["source"] == "aws.s3"
    assert event["detail-type"] == "Object Created"
    assert event["account"] == ACCOUNT
    assert event["region"] == REGION
    assert event["resources"] == ["arn:aws:s3:::datasets"]
    assert event["time"] == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    assert event["version"] == "0"
    detail = event["detail"]
    assert detail["bucket"] == {"name": "datasets"}
    assert detail["object"]["key"] == "raw/2026/11/27 data.csv"
    assert detail["object"]["size"] == 8
    assert detail["object"]["etag"] == put["ETag"].strip('"')
    assert "version-id" not in detail["object"]
    assert {"request-id", "requester", "source-ip-address"} <= detail.keys()
    sequencers = [event["detail"]["object"]["sequencer"] for event in delivered]
    assert sequencers[0] < sequencers[1]
    assert all(int(sequencer, 16) >= 0 for sequencer in sequencers)
    assert len({event["id"] for event in delivered}) == 2


def test_s3_events_on_a_versioned_bucket_carry_the_version_id(local_cloud: LocalCloudExtensions) -> None:
    s3 = boto3.client("s3")
    events = boto3.client("events")
    s3.create_bucket(Bucket="models")
    s3.put_bucket_versioning(Bucket="models", VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_notification_configuration(
        Bucket="models", NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    url, arn = _queue("versioned")
    events.put_rule(Name="s3-any", EventPattern=json.dumps({"source": ["aws.s3"]}))
    events.put_targets(Rule="s3-any", Targets=[{"Id": "q", "Arn": arn}])

    put = s3.put_object(Bucket="models", Key="model.tar.gz", Body=b"x")
    s3.put_object_tagging(Bucket="models", Key="model.tar.gz", Tagging={"TagSet": [{"Key": "stage", "Value": "a"}]})

    created, tagged = _drain(url)
    assert created["detail-type"] == "Object Created"
    assert created["detail"]["object"]["version-id"] == put["VersionId"]
    assert tagged["detail-type"] == "Object Tags Added"


# -- SageMaker pipelines ------------------------------------------------------------------------------------


def _pipeline(name: str = "train") -> None:
    definition = {"Version": "2020-12-01", "Steps": []}
    boto3.client("sagemaker").create_pipeline(
        PipelineName=name, PipelineDefinition=json.dumps(definition), RoleArn=ROLE_ARN
    )


def _pipeline_events_queue() -> str:
    events = boto3.client("events")
    url, arn = _queue("pipeline-events")
    pattern = {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Building Pipeline Execution Status Change"],
    }
    events.put_rule(Name="pipeline-status", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="pipeline-status", Targets=[{"Id": "q", "Arn": arn}])
    return url


def test_start_pipeline_execution_is_idempotent_on_client_request_token(
    local_cloud: LocalCloudExtensions, recorder: Recorder
) -> None:
    sagemaker = boto3.client("sagemaker")
    _pipeline()
    token = "dataset-2026-11-27-" + "0" * 20

    first = sagemaker.start_pipeline_execution(PipelineName="train", ClientRequestToken=token)
    second = sagemaker.start_pipeline_execution(PipelineName="train", ClientRequestToken=token)
    other = sagemaker.start_pipeline_execution(PipelineName="train", ClientRequestToken=token[:-1] + "1")

    assert first["PipelineExecutionArn"] == second["PipelineExecutionArn"]
    assert other["PipelineExecutionArn"] != first["PipelineExecutionArn"]
    summaries = sagemaker.list_pipeline_executions(PipelineName="train")["PipelineExecutionSummaries"]
    assert len(summaries) == 2
    assert recorder.pipelines_started == [first["PipelineExecutionArn"], other["PipelineExecutionArn"]]


def test_pipeline_execution_runs_then_succeeds_with_status_change_events(
    clock: VirtualClock, local_cloud: LocalCloudExtensions
) -> None:
    sagemaker = boto3.client("sagemaker")
    _pipeline()
    url = _pipeline_events_queue()
    started_at = clock.now()

    arn = sagemaker.start_pipeline_execution(PipelineName="train", PipelineExecutionDescription="nightly")[
        "PipelineExecutionArn"
    ]

    assert sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)["PipelineExecutionStatus"] == "Executing"
    (executing,) = _drain(url)
    assert executing["detail"]["currentPipelineExecutionStatus"] == "Executing"
    assert "previousPipelineExecutionStatus" not in executing["detail"]
    assert executing["detail"]["executionStartTime"] == "2026-11-27T09:00:00Z"
    assert clock.next_deadline() == started_at + timedelta(seconds=600)

    assert clock.fire_next()

    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionStatus"] == "Succeeded"
    assert "FailureReason" not in described
    (succeeded,) = _drain(url)
    assert succeeded["source"] == "aws.sagemaker"
    assert succeeded["resources"] == [arn.rsplit("/execution/", 1)[0], arn]
    assert succeeded["time"] == "2026-11-27T09:10:00Z"
    assert succeeded["detail"] == {
        "pipelineExecutionDisplayName": arn.rsplit("/", 1)[-1],
        "currentPipelineExecutionStatus": "Succeeded",
        "previousPipelineExecutionStatus": "Executing",
        "executionStartTime": "2026-11-27T09:00:00Z",
        "executionEndTime": "2026-11-27T09:10:00Z",
        "pipelineExecutionDescription": "nightly",
        "pipelineArn": arn.rsplit("/execution/", 1)[0],
        "pipelineExecutionArn": arn,
    }
    (summary,) = sagemaker.list_pipeline_executions(PipelineName="train")["PipelineExecutionSummaries"]
    assert summary["PipelineExecutionStatus"] == "Succeeded"
    assert "PipelineExecutionFailureReason" not in summary


def test_scripted_pipeline_failure_reports_its_reason(clock: VirtualClock, local_cloud: LocalCloudExtensions) -> None:
    sagemaker = boto3.client("sagemaker")
    _pipeline()
    url = _pipeline_events_queue()
    local_cloud.pipelines.set_pipeline_outcome(
        "train", status="Failed", duration_seconds=120, failure_reason="Step Train failed"
    )

    arn = sagemaker.start_pipeline_execution(PipelineName="train")["PipelineExecutionArn"]
    assert clock.fire_next()

    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=arn)
    assert described["PipelineExecutionStatus"] == "Failed"
    assert described["FailureReason"] == "Step Train failed"
    (summary,) = sagemaker.list_pipeline_executions(PipelineName="train")["PipelineExecutionSummaries"]
    assert summary["PipelineExecutionFailureReason"] == "Step Train failed"
    statuses = [event["detail"]["currentPipelineExecutionStatus"] for event in _drain(url)]
    assert statuses == ["Executing", "Failed"]
    assert clock.now().isoformat() == "2026-11-27T09:02:00+00:00"


# -- installation -------------------------------------------------------------------------------------------


def test_uninstall_restores_moto_and_is_idempotent(clock: VirtualClock) -> None:
    original = WaitFunction.__dict__["_wait_interval"]
    hooks = Hooks(invoke_lambda=lambda name, payload: (payload, None), deliver_event=lambda target, event: None)
    ext = install(clock, hooks)
    try:
        assert WaitFunction.__dict__["_wait_interval"] is not original
        with pytest.raises(RuntimeError, match="already running"):
            install(clock, hooks)
        assert WaitFunction.__dict__["_wait_interval"] is not original  # the refused install left the first alone
    finally:
        ext.uninstall()
    ext.uninstall()
    assert WaitFunction.__dict__["_wait_interval"] is original
    assert not hasattr(moto, "_localcloud_registry")


def test_install_refuses_another_moto_version(clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    hooks = Hooks(invoke_lambda=lambda name, payload: (payload, None), deliver_event=lambda target, event: None)
    with pytest.raises(RuntimeError, match=r"written for moto 5\.2\.5"):
        install(clock, hooks)
    assert not hasattr(moto, "_localcloud_registry")


def test_interrupted_sleep_ends_when_the_clock_is_notified_not_polled() -> None:
    clock = VirtualClock()
    stopped = False
    sleeper = threading.Thread(target=clock.sleep, args=(3600,), kwargs={"interrupt": lambda: stopped})
    sleeper.start()
    wait_until_quiescent(clock, lambda: 1)
    assert clock.parked_count == 1

    stopped = True
    assert clock.parked_count == 0  # the interrupt condition counts at once
    clock.notify_changed()
    sleeper.join()

    assert not sleeper.is_alive()
    assert clock.pending_timers == 0
    assert clock.now() == DEFAULT_START


def test_closing_a_local_cloud_puts_every_moto_original_back() -> None:
    with LocalCloud() as cloud:
        patches = cloud.extensions.registry.patches()
        assert len(patches) > 30
        assert [f"{patch.owner!r}.{patch.name}" for patch in patches if not patch.in_place()] == []
    assert [f"{patch.owner!r}.{patch.name}" for patch in patches if patch.in_place()] == []
    assert not hasattr(moto, "_localcloud_registry")


# -- patches of moto bugs stand down once moto is fixed -----------------------------------------------------


def _no_hooks() -> Hooks:
    return Hooks(invoke_lambda=lambda name, payload: (payload, None), deliver_event=lambda target, event: None)


def test_the_start_execution_patch_is_applied_while_moto_leaves_parameters_unconverted(clock: VirtualClock) -> None:
    moto_own = vars(StateTaskServiceSfn)["_normalise_parameters"]
    assert not stepfunctions_integrations.moto_converts_start_execution_parameters()  # the bug of moto 5.2.5
    ext = install(clock, _no_hooks())
    try:
        assert vars(StateTaskServiceSfn)["_normalise_parameters"] is not moto_own
        assert stepfunctions_integrations.moto_converts_start_execution_parameters()  # the probe sees the fix
    finally:
        ext.uninstall()


def test_the_start_execution_patch_stands_down_when_moto_converts_parameters_itself(
    clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upstream's fix converts the ASL's names in moto's own `_normalise_parameters`; applying the patch on top
    would convert them twice."""
    moto_own = vars(StateTaskServiceSfn)["_normalise_parameters"]
    service_model = botocore.session.get_session().get_service_model("stepfunctions")

    def fixed(self: Any, parameters: dict[str, Any], boto_service_name: Any = None, action: Any = None) -> None:
        moto_own(self, parameters, boto_service_name, action)
        self._to_boto_request(parameters, service_model.operation_model("StartExecution").input_shape)

    monkeypatch.setattr(StateTaskServiceSfn, "_normalise_parameters", fixed)
    assert stepfunctions_integrations.moto_converts_start_execution_parameters()
    ext = install(clock, _no_hooks())
    try:
        assert vars(StateTaskServiceSfn)["_normalise_parameters"] is fixed
    finally:
        ext.uninstall()
    assert vars(StateTaskServiceSfn)["_normalise_parameters"] is fixed


def test_the_sagemaker_error_name_patch_stands_down_when_moto_names_sagemaker(
    clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert not stepfunctions_integrations.moto_names_sagemaker_errors()  # the bug of moto 5.2.5
    fixed_names = {**aws_sdk._SERVICE_ERROR_NAMES, "sagemaker": "SageMaker"}
    monkeypatch.setattr(aws_sdk, "_SERVICE_ERROR_NAMES", fixed_names)
    ext = install(clock, _no_hooks())
    try:
        assert aws_sdk._SERVICE_ERROR_NAMES is fixed_names
        assert all(patch.name != "_SERVICE_ERROR_NAMES" for patch in ext.registry.patches())
    finally:
        ext.uninstall()


def test_the_invoke_endpoint_handler_patch_stands_down_when_moto_reads_the_name_from_the_path(
    clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    moto_own = vars(SageMakerRuntimeResponse)["invoke_endpoint"]
    assert not sagemaker_endpoints.moto_reads_invoke_endpoint_name_from_path()  # the bug of moto 5.2.5
    ext = install(clock, _no_hooks())
    try:
        assert vars(SageMakerRuntimeResponse)["invoke_endpoint"] is not moto_own
        assert sagemaker_endpoints.moto_reads_invoke_endpoint_name_from_path()  # the probe sees the fix
    finally:
        ext.uninstall()

    def fixed(self: Any) -> Any:  # upstream's fix: the name from /endpoints/{EndpointName}/invocations
        name = self.path.split("/")[2]
        return 200, {}, self.sagemakerruntime_backend.invoke_endpoint(endpoint_name=name, unique_repr=b"")[0]

    monkeypatch.setattr(SageMakerRuntimeResponse, "invoke_endpoint", fixed)
    assert sagemaker_endpoints.moto_reads_invoke_endpoint_name_from_path()
    ext = install(clock, _no_hooks())
    try:
        assert vars(SageMakerRuntimeResponse)["invoke_endpoint"] is fixed
    finally:
        ext.uninstall()


def test_execution_dates_and_history_timestamps_are_virtual_time(clock: VirtualClock, sfn: Any) -> None:
    started_at = clock.now()
    definition = {
        "StartAt": "Hold",
        "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "Next": "Done"}, "Done": {"Type": "Pass", "End": True}},
    }
    execution_arn = start(sfn, definition, name="dated")

    described = run_to_completion(clock, sfn, execution_arn)

    assert described["status"] == "SUCCEEDED"
    assert described["startDate"] == started_at
    assert described["stopDate"] == started_at + timedelta(hours=1)
    events = sfn.get_execution_history(executionArn=execution_arn)["events"]
    assert events[0]["type"] == "ExecutionStarted"
    assert events[0]["timestamp"] == started_at
    assert events[-1]["type"] == "ExecutionSucceeded"
    assert events[-1]["timestamp"] == started_at + timedelta(hours=1)
