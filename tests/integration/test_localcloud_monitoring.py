"""Drift and quality signals in the local cloud (localcloud/emulations/monitoring.py), against moto.

CloudWatch alarm transitions and Model Monitor runs reach EventBridge's default bus; each test watches them through
an SQS-targeted rule, as a control-plane rule would see them. Time is the virtual clock's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.cloudwatch.models import CloudWatchBackend

from localcloud.clock import DEFAULT_START, VirtualClock
from localcloud.extensions import Hooks, LocalCloudExtensions, install

MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
REGION = "us-east-1"
ACCOUNT = "123456789012"
ALARM = "churn-feature-drift-age"
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{ALARM}"
DRIFT_NAMESPACE = "aws/sagemaker/Endpoints/data-metrics"
BUCKET = "churn-monitoring"
STATE_CHANGE = "CloudWatch Alarm State Change"
CONFIGURATION_CHANGE = "CloudWatch Alarm Configuration Change"
PROCESSING_JOB = "SageMaker Processing Job State Change"
ALARM_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
AGE_DRIFT = {
    "feature_name": "age",
    "constraint_check_type": "baseline_drift_check",
    "description": "Baseline drift distance: 0.41 exceeds threshold: 0.1",
}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def local_cloud(clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalCloudExtensions]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    hooks = Hooks(invoke_lambda=lambda name, payload: (payload, None), deliver_event=lambda target, event: None)
    with mock_aws(config=MOTO_CONFIG):
        ext = install(clock, hooks)
        try:
            yield ext
        finally:
            ext.uninstall()


def queue_for(pattern: dict[str, Any], name: str) -> str:
    """An SQS queue receiving what `pattern` matches on the default bus."""
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events")
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return str(url)


@pytest.fixture
def state_changes(local_cloud: LocalCloudExtensions) -> str:
    return queue_for({"source": ["aws.cloudwatch"], "detail-type": [STATE_CHANGE]}, "alarm-state-changes")


@pytest.fixture
def configuration_changes(local_cloud: LocalCloudExtensions) -> str:
    return queue_for({"source": ["aws.cloudwatch"], "detail-type": [CONFIGURATION_CHANGE]}, "alarm-config-changes")


@pytest.fixture
def processing_jobs(local_cloud: LocalCloudExtensions) -> str:
    return queue_for({"source": ["aws.sagemaker"], "detail-type": [PROCESSING_JOB]}, "processing-jobs")


@pytest.fixture
def bucket(local_cloud: LocalCloudExtensions) -> str:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


def drain(url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    delivered: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            delivered.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return delivered


def advance(clock: VirtualClock, seconds: float) -> datetime:
    clock.call_later(seconds, lambda: None)
    assert clock.fire_next()
    return clock.now()


def put_drift_alarm(name: str = ALARM, threshold: float = 0.1, description: str = "Age drifted from baseline") -> None:
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        AlarmDescription=description,
        Namespace=DRIFT_NAMESPACE,
        MetricName="feature_baseline_drift_age",
        Dimensions=[{"Name": "Endpoint", "Value": "churn"}, {"Name": "MonitoringSchedule", "Value": "churn-dq"}],
        Statistic="Maximum",
        Period=3600,
        EvaluationPeriods=1,
        Threshold=threshold,
        ComparisonOperator="GreaterThanThreshold",
        TreatMissingData="notBreaching",
    )


def transitions(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(event["detail"]["previousState"]["value"], event["detail"]["state"]["value"]) for event in events]


def millis(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}+0000"


# -- CloudWatch alarms --------------------------------------------------------------------------------------


def test_a_new_alarm_is_insufficient_data_and_announces_only_its_configuration(
    clock: VirtualClock, state_changes: str, configuration_changes: str
) -> None:
    put_drift_alarm()

    alarm = boto3.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert "StateReasonData" not in alarm
    assert alarm["StateUpdatedTimestamp"] == alarm["AlarmConfigurationUpdatedTimestamp"] == DEFAULT_START
    assert drain(state_changes) == []  # creation is not a transition

    [event] = drain(configuration_changes)
    assert event["source"] == "aws.cloudwatch"
    assert event["resources"] == [ALARM_ARN]
    assert event["time"] == "2026-11-27T09:00:00Z"
    detail = event["detail"]
    assert detail["alarmName"] == ALARM
    assert detail["operation"] == "create"
    assert detail["state"] == {"value": "INSUFFICIENT_DATA", "timestamp": "2026-11-27T09:00:00.000+0000"}
    configuration = detail["configuration"]
    assert {key: configuration[key] for key in ("evaluationPeriods", "threshold", "comparisonOperator")} == {
        "evaluationPeriods": 1,
        "threshold": 0.1,
        "comparisonOperator": "GreaterThanThreshold",
    }
    assert configuration["treatMissingData"] == "notBreaching"
    assert configuration["alarmName"] == ALARM
    assert configuration["actionsEnabled"] is True
    assert configuration["okActions"] == configuration["alarmActions"] == configuration["insufficientDataActions"] == []
    assert "previousConfiguration" not in detail


def test_each_transition_sends_exactly_one_state_change_and_a_repeated_state_none(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, state_changes: str
) -> None:
    cloudwatch = boto3.client("cloudwatch")
    put_drift_alarm()
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="Baseline established")
    assert transitions(drain(state_changes)) == [("INSUFFICIENT_DATA", "OK")]

    assert local_cloud.monitoring.raise_alarm(ALARM, "ALARM", datapoints=[0.41]) is True
    assert transitions(drain(state_changes)) == [("OK", "ALARM")]

    assert local_cloud.monitoring.raise_alarm(ALARM, "ALARM", reason="Still drifting") is False
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="Still drifting")
    assert drain(state_changes) == []
    assert cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["StateReason"].startswith(
        "Threshold Crossed: 1 out of the last 1 datapoints [0.41"
    )

    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="Drift resolved")
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="Drift resolved")
    assert transitions(drain(state_changes)) == [("ALARM", "OK")]


def test_the_state_change_event_has_the_documented_shape_and_virtual_timestamps(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, state_changes: str
) -> None:
    put_drift_alarm()
    created = clock.now()
    raised = advance(clock, 3725.5)

    local_cloud.monitoring.raise_alarm(ALARM, datapoints=[0.41])

    [event] = drain(state_changes)
    assert {key: event[key] for key in ("version", "detail-type", "source", "account", "region", "resources")} == {
        "version": "0",
        "detail-type": STATE_CHANGE,
        "source": "aws.cloudwatch",
        "account": ACCOUNT,
        "region": REGION,
        "resources": [ALARM_ARN],
    }
    assert event["time"] == "2026-11-27T10:02:05Z"
    detail = event["detail"]
    assert list(detail) == ["alarmName", "configuration", "previousState", "state"]
    assert detail["alarmName"] == ALARM
    [metric] = detail["configuration"]["metrics"]
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", metric["id"])
    assert detail["configuration"] == {
        "description": "Age drifted from baseline",
        "metrics": [
            {
                "id": metric["id"],
                "metricStat": {
                    "metric": {
                        "dimensions": {"Endpoint": "churn", "MonitoringSchedule": "churn-dq"},
                        "name": "feature_baseline_drift_age",
                        "namespace": DRIFT_NAMESPACE,
                    },
                    "period": 3600,
                    "stat": "Maximum",
                },
                "returnData": True,
            }
        ],
    }
    assert detail["previousState"] == {
        "reason": "Unchecked: Initial alarm creation",
        "timestamp": millis(created),
        "value": "INSUFFICIENT_DATA",
    }
    state = detail["state"]
    assert state["value"] == "ALARM"
    assert state["timestamp"] == millis(raised) == "2026-11-27T10:02:05.500+0000"
    assert ALARM_TIMESTAMP.match(state["timestamp"])
    assert state["reason"] == (
        "Threshold Crossed: 1 out of the last 1 datapoints [0.41 (27/11/26 09:00:00)] was greater than the "
        "threshold (0.1) (minimum 1 datapoint for OK -> ALARM transition)."
    )
    assert json.loads(state["reasonData"]) == {
        "version": "1.0",
        "queryDate": "2026-11-27T10:02:05.500+0000",
        "startDate": "2026-11-27T09:00:00.000+0000",
        "statistic": "Maximum",
        "period": 3600,
        "recentDatapoints": [0.41],
        "threshold": 0.1,
    }
    described = boto3.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
    assert described["StateValue"] == "ALARM"
    assert described["StateUpdatedTimestamp"] == raised.replace(microsecond=500000)


def test_reason_and_reason_data_given_to_set_alarm_state_reach_the_event(
    local_cloud: LocalCloudExtensions, state_changes: str
) -> None:
    put_drift_alarm()
    boto3.client("cloudwatch").set_alarm_state(
        AlarmName=ALARM, StateValue="ALARM", StateReason="Manual drill", StateReasonData='{"drill": true}'
    )
    local_cloud.monitoring.raise_alarm(ALARM, "OK", reason="Drill over")

    drill, over = drain(state_changes)
    assert drill["detail"]["state"]["reason"] == "Manual drill"
    assert drill["detail"]["state"]["reasonData"] == '{"drill": true}'
    assert over["detail"]["previousState"]["reasonData"] == '{"drill": true}'
    assert over["detail"]["state"]["reason"] == "Drill over"
    assert json.loads(over["detail"]["state"]["reasonData"])["recentDatapoints"] == []


def test_updating_an_alarm_keeps_its_state_and_reports_both_configurations(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, state_changes: str, configuration_changes: str
) -> None:
    put_drift_alarm()
    local_cloud.monitoring.raise_alarm(ALARM)
    raised = clock.now()
    drain(state_changes)
    drain(configuration_changes)
    advance(clock, 60)

    put_drift_alarm(threshold=0.2)

    alarm = boto3.client("cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM"
    assert alarm["StateUpdatedTimestamp"] == raised
    assert drain(state_changes) == []
    [event] = drain(configuration_changes)
    detail = event["detail"]
    assert detail["operation"] == "update"
    assert detail["state"] == {"value": "ALARM", "timestamp": millis(raised)}
    assert detail["configuration"]["threshold"] == 0.2
    assert detail["configuration"]["timestamp"] == "2026-11-27T09:01:00.000+0000"
    assert detail["previousConfiguration"]["threshold"] == 0.1
    assert detail["previousConfiguration"]["timestamp"] == "2026-11-27T09:00:00.000+0000"
    new_id = detail["configuration"]["metrics"][0]["id"]
    assert new_id != detail["previousConfiguration"]["metrics"][0]["id"]

    local_cloud.monitoring.raise_alarm(ALARM, "OK")
    [back_to_ok] = drain(state_changes)
    assert back_to_ok["detail"]["configuration"]["metrics"][0]["id"] == new_id


def test_deleting_an_alarm_reports_its_last_configuration(
    local_cloud: LocalCloudExtensions, configuration_changes: str
) -> None:
    put_drift_alarm()
    local_cloud.monitoring.raise_alarm(ALARM)
    drain(configuration_changes)

    boto3.client("cloudwatch").delete_alarms(AlarmNames=[ALARM, "never-existed"])

    [event] = drain(configuration_changes)
    assert event["detail"]["operation"] == "delete"
    assert event["detail"]["state"]["value"] == "ALARM"
    assert event["detail"]["configuration"]["alarmName"] == ALARM


def test_a_metric_math_alarm_lists_its_queries(local_cloud: LocalCloudExtensions, state_changes: str) -> None:
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName="churn-drift-any",
        EvaluationPeriods=1,
        Threshold=0,
        ComparisonOperator="GreaterThanThreshold",
        Metrics=[
            {
                "Id": "m1",
                "MetricStat": {
                    "Metric": {
                        "Namespace": DRIFT_NAMESPACE,
                        "MetricName": "feature_baseline_drift_age",
                        "Dimensions": [{"Name": "Endpoint", "Value": "churn"}],
                    },
                    "Period": 3600,
                    "Stat": "Maximum",
                },
                "ReturnData": False,
            },
            {"Id": "e1", "Expression": "m1 - 0.1", "Label": "Drift above tolerance", "ReturnData": True},
        ],
    )

    local_cloud.monitoring.raise_alarm("churn-drift-any")

    [event] = drain(state_changes)
    assert "description" not in event["detail"]["configuration"]
    assert event["detail"]["configuration"]["metrics"] == [
        {
            "id": "m1",
            "metricStat": {
                "metric": {
                    "dimensions": {"Endpoint": "churn"},
                    "name": "feature_baseline_drift_age",
                    "namespace": DRIFT_NAMESPACE,
                },
                "period": 3600,
                "stat": "Maximum",
            },
            "returnData": False,
        },
        {"id": "e1", "expression": "m1 - 0.1", "label": "Drift above tolerance", "returnData": True},
    ]


def test_alarm_errors_stay_those_of_aws(local_cloud: LocalCloudExtensions, state_changes: str) -> None:
    cloudwatch = boto3.client("cloudwatch")
    with pytest.raises(ClientError) as missing:
        cloudwatch.set_alarm_state(AlarmName="nope", StateValue="ALARM", StateReason="x")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFound"
    with pytest.raises(ValueError, match="create it with put_metric_alarm first"):
        local_cloud.monitoring.raise_alarm("nope")

    put_drift_alarm()
    with pytest.raises(ClientError) as bad_data:
        cloudwatch.set_alarm_state(
            AlarmName=ALARM, StateValue="INSUFFICIENT_DATA", StateReasonData="{", StateReason="x"
        )
    assert bad_data.value.response["Error"]["Code"] == "InvalidFormat"
    with pytest.raises(ValueError, match="Alarm state must be one of"):
        local_cloud.monitoring.raise_alarm(ALARM, "BROKEN")  # type: ignore[arg-type]
    assert drain(state_changes) == []


# -- Model Monitor runs -------------------------------------------------------------------------------------


def test_a_run_with_violations_writes_the_report_and_announces_the_completed_job(
    local_cloud: LocalCloudExtensions, clock: VirtualClock, processing_jobs: str, bucket: str
) -> None:
    clock_at_end = advance(clock, 15 * 60)
    drifts = [
        AGE_DRIFT,
        {"feature_name": "tenure", "constraint_check_type": "missing_column_check", "description": "Missing column"},
    ]

    run = local_cloud.monitoring.emit_monitoring_run(
        "churn", "churn-dq", violations=drifts, bucket=bucket, prefix="reports/churn/2026/11/27/09"
    )

    report = boto3.client("s3").get_object(Bucket=bucket, Key="reports/churn/2026/11/27/09/constraint_violations.json")
    assert json.loads(report["Body"].read()) == {"violations": drifts}
    assert run.report_uri == f"s3://{bucket}/reports/churn/2026/11/27/09/constraint_violations.json"
    assert re.fullmatch(r"model-monitoring-202611270905-[0-9a-f]{8}", run.processing_job_name)

    [event] = drain(processing_jobs)
    job_arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/{run.processing_job_name}"
    assert event["source"] == "aws.sagemaker"
    assert event["resources"] == [job_arn]
    assert event["time"] == "2026-11-27T09:15:00Z"
    detail = event["detail"]
    assert detail["ProcessingJobName"] == run.processing_job_name
    assert detail["ProcessingJobArn"] == job_arn
    assert detail["ProcessingJobStatus"] == "Completed"
    assert detail["ExitMessage"] == "CompletedWithViolations: Job completed successfully with 2 violations."
    assert detail["MonitoringScheduleArn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/churn-dq"
    assert detail["ProcessingOutputConfig"] == {
        "Outputs": [
            {
                "OutputName": "result",
                "S3Output": {
                    "S3Uri": f"s3://{bucket}/reports/churn/2026/11/27/09",
                    "LocalPath": "/opt/ml/processing/output",
                    "S3UploadMode": "EndOfJob",
                },
            }
        ]
    }
    assert detail["Environment"] == {
        "dataset_format": '{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}',
        "dataset_source": "/opt/ml/processing/input/endpoint",
        "end_time": "2026-11-27T09:00:00Z",
        "output_path": "/opt/ml/processing/output",
        "publish_cloudwatch_metrics": "Enabled",
        "sagemaker_endpoint_name": "churn",
        "sagemaker_monitoring_schedule_name": "churn-dq",
        "start_time": "2026-11-27T08:00:00Z",
    }
    end_ms = int(clock_at_end.timestamp() * 1000)
    assert detail["ProcessingEndTime"] == detail["LastModifiedTime"] == end_ms
    assert detail["ProcessingStartTime"] == detail["CreationTime"] == end_ms - 600_000
    assert detail["AppSpecification"]["ImageUri"].endswith("/sagemaker-model-monitor-analyzer")
    assert detail == run.event_detail

    described = boto3.client("sagemaker").describe_processing_job(ProcessingJobName=run.processing_job_name)
    assert described["ProcessingJobStatus"] == "Completed"
    assert described["ExitMessage"] == detail["ExitMessage"]
    assert described["Environment"] == detail["Environment"]
    assert described["MonitoringScheduleArn"] == detail["MonitoringScheduleArn"]
    assert described["ProcessingEndTime"] == clock_at_end
    assert described["ProcessingStartTime"] == clock_at_end - timedelta(minutes=10)


def test_a_run_without_violations_says_so(local_cloud: LocalCloudExtensions, processing_jobs: str, bucket: str) -> None:
    run = local_cloud.monitoring.emit_monitoring_run("churn", "churn-dq", bucket=bucket, duration_seconds=0)

    assert run.output_uri == f"s3://{bucket}/model-monitor/reports/churn/churn-dq/2026/11/27/09"
    key = run.report_uri.removeprefix(f"s3://{bucket}/")
    assert json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()) == {"violations": []}
    [event] = drain(processing_jobs)
    assert event["detail"]["ProcessingJobStatus"] == "Completed"
    assert event["detail"]["ExitMessage"] == "Completed: Job completed successfully with no violations."
    assert re.fullmatch(r"model-monitoring-202611270900-[0-9a-f]{8}", event["detail"]["ProcessingJobName"])


def test_a_model_quality_run_names_its_analysis_and_keeps_metric_violations(
    local_cloud: LocalCloudExtensions, processing_jobs: str, bucket: str
) -> None:
    violation = {
        "constraint_check_type": "LessThanThreshold",
        "description": "Metric auc with 0.61 was LessThanThreshold '0.8'",
        "metric_name": "auc",
    }
    run = local_cloud.monitoring.emit_monitoring_run("churn", "churn-mq", "ModelQuality", [violation], bucket=bucket)

    [event] = drain(processing_jobs)
    assert event["detail"]["Environment"]["analysis_type"] == "MODEL_QUALITY"
    assert run.violations == [violation]
    key = run.report_uri.removeprefix(f"s3://{bucket}/")
    assert json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()) == {
        "violations": [violation]
    }


def test_bad_runs_are_refused_with_what_to_fix(local_cloud: LocalCloudExtensions, bucket: str) -> None:
    with pytest.raises(ValueError, match="needs non-empty string feature_name"):
        local_cloud.monitoring.emit_monitoring_run(
            "churn", "churn-dq", violations=[{"constraint_check_type": "x", "description": "y"}], bucket=bucket
        )
    with pytest.raises(ValueError, match="bucket 'missing' does not exist"):
        local_cloud.monitoring.emit_monitoring_run("churn", "churn-dq", bucket="missing")
    with pytest.raises(ValueError, match="monitoring_type must be one of"):
        local_cloud.monitoring.emit_monitoring_run("churn", "churn-dq", "Drift", bucket=bucket)  # type: ignore[arg-type]


# -- installation -------------------------------------------------------------------------------------------


def test_uninstall_restores_moto_cloudwatch(clock: VirtualClock) -> None:
    original_set_state = vars(CloudWatchBackend)["set_alarm_state"]
    ext = install(
        clock, Hooks(invoke_lambda=lambda name, payload: (payload, None), deliver_event=lambda target, event: None)
    )
    try:
        assert vars(CloudWatchBackend)["set_alarm_state"] is not original_set_state
    finally:
        ext.uninstall()

    assert vars(CloudWatchBackend)["set_alarm_state"] is original_set_state
