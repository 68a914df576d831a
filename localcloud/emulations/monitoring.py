"""Drift and quality signals for the local cloud: CloudWatch alarm events and SageMaker Model Monitor runs.

moto 5.2.5 stores CloudWatch alarms but sends no EventBridge event for them, starts every new alarm in `OK` (AWS:
`INSUFFICIENT_DATA`), resets an alarm's state when PutMetricAlarm updates it (AWS leaves it unchanged) and stamps
real time. Model Monitor does not exist in moto at all (no monitoring schedules, no monitoring executions). This
module closes the gaps the control plane's drift reactions depend on, on the virtual clock:

- `CloudWatchBackend.put_metric_alarm`: a new alarm starts `INSUFFICIENT_DATA` ("Unchecked: Initial alarm creation",
  no reason data); an update keeps the alarm's state. Each call emits "CloudWatch Alarm Configuration Change"
  (`operation` create | update, `previousConfiguration` on update) and NO state change event: creation is not a
  transition. `delete_alarms` emits the same event with `operation` delete.
- `CloudWatchBackend.set_alarm_state` (the SetAlarmState API and `raise_alarm`): a change of state value emits
  "CloudWatch Alarm State Change"; setting the value the alarm already has changes nothing and emits nothing.
- `emit_monitoring_run`: what one Model Monitor execution leaves behind: `constraint_violations.json` in S3, a
  completed processing job (DescribeProcessingJob returns it) and its "SageMaker Processing Job State Change"
  event. Model Monitor has no event type of its own (see /work/shared/AWS-FACTS.md).

All events go to the default bus of the alarm's or job's account and region through
`ExtensionRegistry.put_service_event`.

What is verified against AWS, and what is assumed
-------------------------------------------------
Verified (AWS documentation; "CloudWatch doc" is docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
cloudwatch-and-eventbridge.html, also awsdocs/amazon-cloudwatch-user-guide doc_source/cloudwatch-and-eventbridge.md):
- Alarm State Change envelope and detail: `alarmName`, `configuration{description, metrics[{id, metricStat{metric
  {dimensions{}, name, namespace}, period, stat}, returnData}]}` (metric math: `expression`, `label` entries),
  `previousState` / `state` `{reason, reasonData, timestamp, value}`, timestamps like `2019-10-02T17:04:40.989+0000`,
  event `time` in whole seconds, `resources` = [alarm ARN] (CloudWatch doc, single-metric and metric-math samples).
- A new alarm's state is `INSUFFICIENT_DATA` with reason "Unchecked: Initial alarm creation" and no reasonData (the
  metric-math sample's previousState); creating, updating and deleting an alarm sends "CloudWatch Alarm Configuration
  Change" (`operation`, `state{value, timestamp}`, `configuration{evaluationPeriods, threshold, comparisonOperator,
  treatMissingData, metrics, alarmName, description, actionsEnabled, timestamp, okActions, alarmActions,
  insufficientDataActions}`, `previousConfiguration` on update) (CloudWatch doc: "Update of a metric alarm", "Deletion
  of a metric math alarm"; the update sample keeps the alarm's state timestamp). That PutMetricAlarm leaves an
  existing alarm's state unchanged is from the PutMetricAlarm API reference as remembered, not re-read here.
- `constraint_violations.json` is `{"violations": [{"feature_name", "constraint_check_type", "description"}]}` with
  check types data_type_check, completeness_check, baseline_drift_check, missing_column_check, extra_column_check,
  categorical_values_check (SageMaker developer guide, model-monitor-interpreting-violations).
- The processing job's Environment names `dataset_format`, `dataset_source`, `end_time`, `output_path`,
  `publish_cloudwatch_metrics`, `sagemaker_endpoint_name`, `sagemaker_monitoring_schedule_name`, `start_time`, and
  `dataset_format` is `{"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}}` for an
  endpoint (developer guide, model-monitor-byoc-contract-inputs).
- "SageMaker Processing Job State Change": source aws.sagemaker, resources [job ARN], detail in the
  DescribeProcessingJob shape with epoch-millisecond times (developer guide, automating-sagemaker-with-eventbridge,
  whose only sample is a Failed job). DescribeProcessingJob has `ExitMessage`, `Environment`,
  `MonitoringScheduleArn` members (API reference).

Assumed (not found in AWS documentation; keep consumers lenient):
- The event of a monitoring job carries `Environment`, `ExitMessage` and `MonitoringScheduleArn` (AWS-FACTS.md
  lists this as unverified). The ExitMessage texts "CompletedWithViolations: Job completed successfully with N
  violations." / "Completed: Job completed successfully with no violations." come from a public Model Monitor
  custom-container sample that imitates the prebuilt container, not from AWS documentation.
- `analysis_type` = `MODEL_QUALITY` for ModelQuality runs: the SageMaker Python SDK sets it (env constant
  `analysis_type`) on model-quality jobs; that the service sets it on scheduled runs is assumed. DataQuality, ModelBias
  and ModelExplainability runs get no `analysis_type` (none is documented; bias and explainability run the Clarify
  container, whose environment is not modelled). `start_time`/`end_time` are the hour before the run's scheduled hour.
- Job names `model-monitoring-<yyyyMMddHHmm of the start>-<8 hex>`, output name `result`, container paths
  `/opt/ml/processing/input/endpoint` and `/opt/ml/processing/output` (the SDK's), S3UploadMode `EndOfJob`,
  ml.m5.xlarge x1 / 30 GB / 3600 s (SDK defaults), the analyzer image account per region, and the default report
  prefix `model-monitor/reports/<endpoint>/<schedule>/<yyyy>/<MM>/<dd>/<HH>` (SDK notebooks' layout).
- A run without violations still writes `{"violations": []}`. ModelQuality/ModelBias violations may name
  `metric_name` (or other keys) instead of `feature_name`: any extra keys are written as given.
- AWS probably also sends an InProgress event when the job starts; only the Completed one is sent here, with no
  ProcessingInputs (the captured-data input) and no Tags. Model Monitor's CloudWatch metrics are not published, and
  alarms are never evaluated against metrics: drive them with `raise_alarm`. Alarm actions (SNS, Lambda) do not run.

`install(registry)` applies the CloudWatch patches and returns the `Monitoring` whose `raise_alarm` and
`emit_monitoring_run` drive them; `registry.uninstall()` undoes every patch.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from moto.cloudwatch.models import Alarm, CloudWatchBackend, cloudwatch_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.utils import arn_formatter
from moto.utilities.utils import get_partition

from localcloud.core import ExtensionRegistry, as_utc, epoch_millis, naive_utc, plain

__all__ = [
    "ALARM_CONFIGURATION_CHANGE",
    "ALARM_STATE_CHANGE",
    "PROCESSING_JOB_STATE_CHANGE",
    "AlarmState",
    "Monitoring",
    "MonitoringRun",
    "MonitoringType",
    "install",
]

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
MonitoringType = Literal["DataQuality", "ModelQuality", "ModelBias", "ModelExplainability"]

ALARM_STATE_CHANGE = "CloudWatch Alarm State Change"
ALARM_CONFIGURATION_CHANGE = "CloudWatch Alarm Configuration Change"
PROCESSING_JOB_STATE_CHANGE = "SageMaker Processing Job State Change"

_INITIAL_REASON = "Unchecked: Initial alarm creation"
_CAPTURE_FORMAT = json.dumps({"sagemakerCaptureJson": {"captureIndexNames": ["endpointInput", "endpointOutput"]}})
_INPUT_PATH = "/opt/ml/processing/input/endpoint"
_OUTPUT_PATH = "/opt/ml/processing/output"
_REPORT_NAME = "constraint_violations.json"
# Model Monitor's analyzer and SageMaker Clarify images live in per-region AWS accounts; only these are known here.
_ANALYZER_ACCOUNTS = {"us-east-1": "156813124566", "us-east-2": "777275614652"}
_CLARIFY_ACCOUNTS = {"us-east-1": "205585389593"}
_REQUIRED_VIOLATION_KEYS = ("constraint_check_type", "description")
_METRIC_ID_ATTRIBUTE = "localcloud_metric_id"  # set on moto's Alarm: the event's metric id, new per configuration


@dataclass(frozen=True)
class MonitoringRun:
    """What `emit_monitoring_run` left behind: the processing job, its report and the event detail it sent."""

    processing_job_name: str
    processing_job_arn: str
    monitoring_schedule_arn: str
    output_uri: str
    report_uri: str
    exit_message: str
    violations: list[dict[str, Any]]
    event_detail: dict[str, Any] = field(repr=False)


class Monitoring:
    """The CloudWatch and Model Monitor emulation of one local cloud: raise alarms, record monitoring runs."""

    def __init__(self, registry: ExtensionRegistry) -> None:
        self.registry = registry
        self.lock = threading.RLock()

    def raise_alarm(
        self,
        alarm_name: str,
        state: AlarmState = "ALARM",
        reason: str | None = None,
        reason_data: str | None = None,
        datapoints: Sequence[float] | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region_name: str | None = None,
    ) -> bool:
        """Set an existing alarm's state through moto's SetAlarmState; True when the state value changed.

        A change emits "CloudWatch Alarm State Change"; the same value again changes nothing and emits nothing. Without
        `reason`/`reason_data`, both are written the way a threshold evaluation writes them (reasonData: version,
        queryDate, startDate, statistic, period, recentDatapoints, threshold), using `datapoints` if given.
        """
        if state not in get_args(AlarmState):
            raise ValueError(f"Alarm state must be one of {get_args(AlarmState)}, got {state!r}")
        region = region_name or _default_region()
        backend: CloudWatchBackend = cloudwatch_backends[account_id][region]
        alarm = backend.alarms.get(alarm_name)
        if alarm is None:
            raise ValueError(
                f"CloudWatch alarm {alarm_name!r} does not exist in account {account_id}, region {region}; create it "
                "with put_metric_alarm first"
            )
        now = self.registry.clock.now()
        if reason_data is None:
            reason_data = _threshold_reason_data(alarm, now, datapoints or [])
        if reason is None:
            reason = _threshold_reason(alarm, state, now, datapoints or [])
        changed = alarm.state_value != state
        backend.set_alarm_state(alarm_name, reason, reason_data, state)
        return changed

    def emit_monitoring_run(
        self,
        endpoint_name: str,
        schedule_name: str,
        monitoring_type: MonitoringType = "DataQuality",
        violations: Iterable[Mapping[str, Any]] | None = None,
        *,
        bucket: str,
        prefix: str | None = None,
        duration_seconds: float = 600.0,
        role_arn: str | None = None,
        account_id: str = DEFAULT_ACCOUNT_ID,
        region_name: str | None = None,
    ) -> MonitoringRun:
        """Record one finished Model Monitor execution of `schedule_name` on `endpoint_name`, ending now.

        Writes `s3://<bucket>/<prefix>/constraint_violations.json` (the bucket must exist; S3 sends its own events if
        the bucket has EventBridge notifications), registers the completed processing job (DescribeProcessingJob
        returns it) and emits its "SageMaker Processing Job State Change". The job ran for `duration_seconds` of virtual
        time before now. `prefix` defaults to `model-monitor/reports/<endpoint>/<schedule>/<yyyy>/<MM>/<dd>/<HH>`.
        """
        if monitoring_type not in get_args(MonitoringType):
            raise ValueError(f"monitoring_type must be one of {get_args(MonitoringType)}, got {monitoring_type!r}")
        if duration_seconds < 0:
            raise ValueError(f"duration_seconds must not be negative, got {duration_seconds}")
        checked = _checked_violations(monitoring_type, violations or [])
        region = region_name or _default_region()
        ended = self.registry.clock.now().astimezone(UTC)
        started = ended - timedelta(seconds=duration_seconds)
        scheduled = started.replace(minute=0, second=0, microsecond=0)
        prefix = (prefix or _default_prefix(endpoint_name, schedule_name, scheduled)).strip("/")
        output_uri = f"s3://{bucket}/{prefix}"
        report_key = f"{prefix}/{_REPORT_NAME}"

        s3 = s3_backends[account_id][get_partition(region)]
        if bucket not in s3.buckets:
            raise ValueError(
                f"S3 bucket {bucket!r} does not exist in account {account_id}; create it first (Model Monitor "
                "writes its reports to the schedule's MonitoringOutputConfig S3 location)"
            )
        report = json.dumps({"violations": checked}, indent=4).encode("utf-8")
        s3.put_object(bucket, report_key, report)

        job_name = f"model-monitoring-{started:%Y%m%d%H%M}-{uuid.uuid4().hex[:8]}"
        schedule_arn = arn_formatter("monitoring-schedule", schedule_name, account_id, region)
        exit_message = (
            f"CompletedWithViolations: Job completed successfully with {len(checked)} violations."
            if checked
            else "Completed: Job completed successfully with no violations."
        )
        job_arn = arn_formatter("processing-job", job_name, account_id, region)
        job: dict[str, Any] = {
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "result",
                        "S3Output": {"S3Uri": output_uri, "LocalPath": _OUTPUT_PATH, "S3UploadMode": "EndOfJob"},
                    }
                ]
            },
            "ProcessingJobName": job_name,
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "AppSpecification": {"ImageUri": _image_uri(monitoring_type, region)},
            "Environment": _environment(endpoint_name, schedule_name, monitoring_type, scheduled),
            "RoleArn": role_arn or f"arn:{get_partition(region)}:iam::{account_id}:role/localcloud-model-monitor",
            "ProcessingJobArn": job_arn,
            "ProcessingJobStatus": "Completed",
            "ExitMessage": exit_message,
            "MonitoringScheduleArn": schedule_arn,
        }
        times = {
            "ProcessingEndTime": ended,
            "ProcessingStartTime": started,
            "LastModifiedTime": ended,
            "CreationTime": started,
        }
        _register_processing_job(account_id, region, job, times)
        detail = plain(job) | {name: epoch_millis(moment) for name, moment in times.items()}
        self.registry.put_service_event(
            account_id, region, "aws.sagemaker", PROCESSING_JOB_STATE_CHANGE, [job_arn], detail
        )
        return MonitoringRun(
            processing_job_name=job_name,
            processing_job_arn=job_arn,
            monitoring_schedule_arn=schedule_arn,
            output_uri=output_uri,
            report_uri=f"s3://{bucket}/{report_key}",
            exit_message=exit_message,
            violations=checked,
            event_detail=detail,
        )


def install(registry: ExtensionRegistry) -> Monitoring:
    """Apply the CloudWatch alarm patches (undone by `registry.uninstall()`); returns what raises alarms and records
    Model Monitor runs."""
    monitoring = Monitoring(registry)
    _patch_cloudwatch_alarms(monitoring)
    return monitoring


def _default_region() -> str:
    return os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"


# -- CloudWatch alarms --------------------------------------------------------------------------------------


def _alarm_timestamp(moment: datetime) -> str:
    """CloudWatch's event timestamps: milliseconds and a +0000 offset, e.g. 2019-10-02T17:04:40.989+0000."""
    aware = as_utc(moment)
    return f"{aware:%Y-%m-%dT%H:%M:%S}.{aware.microsecond // 1000:03d}+0000"


def _number(value: Any) -> Any:
    """80.0 -> 80, as in the documented events; anything else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _metric_stat(namespace: str, metric_name: str, dimensions: Iterable[Any], period: Any, stat: Any) -> Any:
    return {
        "metric": {
            "dimensions": {dimension.name: dimension.value for dimension in dimensions},
            "name": metric_name,
            "namespace": namespace,
        },
        "period": _number(period),
        "stat": stat,
    }


def _alarm_metrics(alarm: Alarm) -> list[dict[str, Any]]:
    """`configuration.metrics` of an alarm event: one metricStat for a single-metric alarm, else its queries."""
    if alarm.metric_name:
        return [
            {
                "id": getattr(alarm, _METRIC_ID_ATTRIBUTE, None) or str(uuid.uuid4()),
                "metricStat": _metric_stat(
                    alarm.namespace,
                    alarm.metric_name,
                    alarm.dimensions,
                    alarm.period,
                    alarm.statistic or alarm.extended_statistic,
                ),
                "returnData": True,
            }
        ]
    metrics = []
    for query in alarm.metric_data_queries:
        entry: dict[str, Any] = {"id": query.id}
        if query.expression:
            entry["expression"] = query.expression
        if query.label:
            entry["label"] = query.label
        if query.metric_stat is not None:
            stat = query.metric_stat
            entry["metricStat"] = _metric_stat(
                stat.metric.namespace, stat.metric.metric_name, stat.metric.dimensions, stat.period, stat.stat
            )
        entry["returnData"] = True if query.return_data is None else bool(query.return_data)
        metrics.append(entry)
    return metrics


def _state_configuration(alarm: Alarm) -> dict[str, Any]:
    """`configuration` of "CloudWatch Alarm State Change"."""
    configuration: dict[str, Any] = {}
    if alarm.rule is not None:
        configuration["alarmRule"] = alarm.rule
    if alarm.description:
        configuration["description"] = alarm.description
    if alarm.rule is None:
        configuration["metrics"] = _alarm_metrics(alarm)
    return configuration


def _full_configuration(alarm: Alarm) -> dict[str, Any]:
    """`configuration` of "CloudWatch Alarm Configuration Change"."""
    configuration: dict[str, Any] = {}
    if alarm.rule is not None:
        configuration["alarmRule"] = alarm.rule
    else:
        configuration["evaluationPeriods"] = alarm.evaluation_periods
        configuration["threshold"] = _number(alarm.threshold)
        configuration["comparisonOperator"] = alarm.comparison_operator
        if alarm.treat_missing_data:
            configuration["treatMissingData"] = alarm.treat_missing_data
        configuration["metrics"] = _alarm_metrics(alarm)
    configuration["alarmName"] = alarm.name
    if alarm.description:
        configuration["description"] = alarm.description
    configuration["actionsEnabled"] = bool(alarm.actions_enabled)
    configuration["timestamp"] = _alarm_timestamp(alarm.configuration_updated_timestamp)
    configuration["okActions"] = list(alarm.ok_actions)
    configuration["alarmActions"] = list(alarm.alarm_actions)
    configuration["insufficientDataActions"] = list(alarm.insufficient_data_actions)
    return configuration


@dataclass(frozen=True)
class _StateSnapshot:
    value: str
    reason: str
    reason_data: str | None
    timestamp: datetime

    @classmethod
    def of(cls, alarm: Alarm) -> _StateSnapshot:
        return cls(alarm.state_value, alarm.state_reason, alarm.state_reason_data, alarm.state_updated_timestamp)

    def event_shape(self) -> dict[str, Any]:
        shape: dict[str, Any] = {"reason": self.reason}
        if self.reason_data:  # absent for a new alarm, as in the documented metric-math sample
            shape["reasonData"] = self.reason_data
        shape["timestamp"] = _alarm_timestamp(self.timestamp)
        shape["value"] = self.value
        return shape


@dataclass(frozen=True)
class _AlarmEvent:
    """An alarm event built under the lock and sent after it is released (delivery may run handlers)."""

    backend: CloudWatchBackend
    detail_type: str
    alarm_arn: str
    detail: dict[str, Any]

    def send(self, state: Monitoring) -> None:
        backend = self.backend
        state.registry.put_service_event(
            backend.account_id, backend.region_name, "aws.cloudwatch", self.detail_type, [self.alarm_arn], self.detail
        )


def _state_change(backend: CloudWatchBackend, alarm: Alarm, previous: _StateSnapshot) -> _AlarmEvent:
    detail = {
        "alarmName": alarm.name,
        "configuration": _state_configuration(alarm),
        "previousState": previous.event_shape(),
        "state": _StateSnapshot.of(alarm).event_shape(),
    }
    return _AlarmEvent(backend, ALARM_STATE_CHANGE, alarm.alarm_arn, detail)


def _configuration_change(
    backend: CloudWatchBackend,
    alarm: Alarm,
    operation: Literal["create", "update", "delete"],
    previous: Alarm | None = None,
) -> _AlarmEvent:
    detail: dict[str, Any] = {
        "alarmName": alarm.name,
        "operation": operation,
        "state": {"value": alarm.state_value, "timestamp": _alarm_timestamp(alarm.state_updated_timestamp)},
        "configuration": _full_configuration(alarm),
    }
    if previous is not None:
        detail["previousConfiguration"] = _full_configuration(previous)
    return _AlarmEvent(backend, ALARM_CONFIGURATION_CHANGE, alarm.alarm_arn, detail)


def _valid_reason_data(reason_data: str | None) -> bool:
    if reason_data is None:
        return True
    try:
        json.loads(reason_data)
    except ValueError:
        return False
    return True


def _patch_cloudwatch_alarms(state: Monitoring) -> None:
    """Alarms start INSUFFICIENT_DATA, keep their state on update, and announce configuration and state changes.

    AWS: see the module docstring (CloudWatch doc: docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
    cloudwatch-and-eventbridge.html; PutMetricAlarm: docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/
    API_PutMetricAlarm.html).
    moto gap: a new alarm starts OK, PutMetricAlarm resets an existing alarm's state, times are real, and no
    EventBridge event is sent. moto's own validation (of reason data, alarm existence, state value, statistics)
    still runs first; these patches only fix the initial state, timestamps and events.
    """
    original_put = vars(CloudWatchBackend)["put_metric_alarm"]
    original_set_state = vars(CloudWatchBackend)["set_alarm_state"]
    original_delete = vars(CloudWatchBackend)["delete_alarms"]

    def put_metric_alarm(self: CloudWatchBackend, name: str, *args: Any, **kwargs: Any) -> Alarm:
        with state.lock:
            previous = self.alarms.get(name)
            alarm: Alarm = original_put(self, name, *args, **kwargs)
            now = naive_utc(state.registry.clock.now())
            alarm.configuration_updated_timestamp = now
            setattr(alarm, _METRIC_ID_ATTRIBUTE, str(uuid.uuid4()))
            if previous is None:
                alarm.state_value = "INSUFFICIENT_DATA"
                alarm.state_reason = _INITIAL_REASON
                alarm.state_reason_data = None  # type: ignore[assignment]
                alarm.state_updated_timestamp = now
            else:  # AWS: "When you update an existing alarm, its state is left unchanged"
                alarm.state_value = previous.state_value
                alarm.state_reason = previous.state_reason
                alarm.state_reason_data = previous.state_reason_data
                alarm.state_updated_timestamp = previous.state_updated_timestamp
                alarm.history = previous.history
            operation: Literal["create", "update"] = "create" if previous is None else "update"
            event = _configuration_change(self, alarm, operation, previous)
        event.send(state)
        return alarm

    def set_alarm_state(
        self: CloudWatchBackend, alarm_name: str, reason: str, reason_data: str, state_value: str
    ) -> None:
        with state.lock:
            alarm = self.alarms.get(alarm_name)
            if alarm is not None and alarm.state_value == state_value and _valid_reason_data(reason_data):
                return  # no transition: AWS sends no event and runs no action
            previous = _StateSnapshot.of(alarm) if alarm is not None else None
            original_set_state(self, alarm_name, reason, reason_data, state_value)  # validates, raises like AWS
            alarm = self.alarms[alarm_name]
            alarm.state_updated_timestamp = naive_utc(state.registry.clock.now())
            event = _state_change(self, alarm, previous) if previous is not None else None
        if event is not None:
            event.send(state)

    def delete_alarms(self: CloudWatchBackend, alarm_names: list[str]) -> None:
        with state.lock:
            deleted = [self.alarms[name] for name in dict.fromkeys(alarm_names) if name in self.alarms]
            original_delete(self, alarm_names)
            events = [_configuration_change(self, alarm, "delete") for alarm in deleted]
        for event in events:
            event.send(state)

    state.registry.replace(CloudWatchBackend, "put_metric_alarm", put_metric_alarm)
    state.registry.replace(CloudWatchBackend, "set_alarm_state", set_alarm_state)
    state.registry.replace(CloudWatchBackend, "delete_alarms", delete_alarms)


def _alarm_stat(alarm: Alarm) -> tuple[str | None, Any]:
    """(statistic, period) of the alarm's metric, or of its returned query for a metric-math alarm."""
    if alarm.metric_name:
        return alarm.statistic or alarm.extended_statistic, alarm.period
    for query in alarm.metric_data_queries:
        if query.metric_stat is not None:
            return query.metric_stat.stat, query.metric_stat.period
    return None, alarm.period


def _last_period_start(alarm: Alarm, now: datetime) -> datetime:
    """Start of the last complete period of the alarm's metric: the datapoint an evaluation at `now` reads."""
    seconds = int(_alarm_stat(alarm)[1] or 60)
    return datetime.fromtimestamp((int(as_utc(now).timestamp()) // seconds - 1) * seconds, UTC)


def _threshold_reason_data(alarm: Alarm, now: datetime, datapoints: Sequence[float]) -> str:
    """reasonData as a threshold evaluation writes it (CloudWatch doc samples): version, dates, period, values."""
    statistic, period = _alarm_stat(alarm)
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _alarm_timestamp(now),
        "startDate": _alarm_timestamp(_last_period_start(alarm, now)),
    }
    if statistic:
        data["statistic"] = statistic
    data["period"] = int(period or 60)
    data["recentDatapoints"] = [float(value) for value in datapoints]
    if alarm.threshold is not None:
        data["threshold"] = float(alarm.threshold)
    return json.dumps(data, separators=(",", ":"))


def _threshold_reason(alarm: Alarm, state: str, now: datetime, datapoints: Sequence[float]) -> str:
    if state == "INSUFFICIENT_DATA":
        return "Insufficient Data: 1 datapoint was unknown."
    if not datapoints:
        return f"Threshold Crossed: alarm state set to {state} by the local cloud (no datapoints given)."
    # The documented samples name the transition OK -> ALARM even when the alarm was INSUFFICIENT_DATA.
    transition = "OK -> ALARM" if state == "ALARM" else "ALARM -> OK"
    crossed = "was" if state == "ALARM" else "was not"
    at = _last_period_start(alarm, now)
    values = ", ".join(f"{float(value)} ({at:%d/%m/%y %H:%M:%S})" for value in datapoints)
    comparison = _COMPARISONS.get(alarm.comparison_operator or "", "beyond")
    count = len(datapoints)
    return (
        f"Threshold Crossed: {count} out of the last {count} datapoints [{values}] {crossed} {comparison} the "
        f"threshold ({float(alarm.threshold)}) (minimum {count} datapoint for {transition} transition)."
    )


_COMPARISONS = {
    "GreaterThanThreshold": "greater than",
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}


# -- Model Monitor ------------------------------------------------------------------------------------------


def _checked_violations(monitoring_type: str, violations: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Violations as Model Monitor writes them: feature_name, constraint_check_type, description, then extras."""
    checked = []
    for index, violation in enumerate(violations):
        if not isinstance(violation, Mapping):
            raise TypeError(f"violation {index} must be a mapping, got {type(violation).__name__}")
        required = (("feature_name",) if monitoring_type == "DataQuality" else ()) + _REQUIRED_VIOLATION_KEYS
        missing = [key for key in required if not isinstance(violation.get(key), str) or not violation.get(key)]
        if missing:
            raise ValueError(
                f"violation {index} of a {monitoring_type} run needs non-empty string {', '.join(missing)} "
                "(constraint_violations.json: feature_name, constraint_check_type, description)"
            )
        ordered = {key: violation[key] for key in ("feature_name", *_REQUIRED_VIOLATION_KEYS) if key in violation}
        checked.append(ordered | plain(dict(violation)))
    return checked


def _default_prefix(endpoint_name: str, schedule_name: str, scheduled: datetime) -> str:
    return f"model-monitor/reports/{endpoint_name}/{schedule_name}/{scheduled:%Y/%m/%d/%H}"


def _image_uri(monitoring_type: str, region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    if monitoring_type in ("ModelBias", "ModelExplainability"):
        account = _CLARIFY_ACCOUNTS.get(region, _CLARIFY_ACCOUNTS["us-east-1"])
        return f"{account}.dkr.ecr.{region}.{suffix}/sagemaker-clarify-processing:1.0"
    account = _ANALYZER_ACCOUNTS.get(region, _ANALYZER_ACCOUNTS["us-east-1"])
    return f"{account}.dkr.ecr.{region}.{suffix}/sagemaker-model-monitor-analyzer"


def _environment(endpoint_name: str, schedule_name: str, monitoring_type: str, scheduled: datetime) -> dict[str, str]:
    """The processing job's Environment (documented names, in the documented order; see the module docstring)."""
    environment = {
        "dataset_format": _CAPTURE_FORMAT,
        "dataset_source": _INPUT_PATH,
        "end_time": f"{scheduled:%Y-%m-%dT%H:%M:%SZ}",
        "output_path": _OUTPUT_PATH,
        "publish_cloudwatch_metrics": "Enabled",
        "sagemaker_endpoint_name": endpoint_name,
        "sagemaker_monitoring_schedule_name": schedule_name,
        "start_time": f"{scheduled - timedelta(hours=1):%Y-%m-%dT%H:%M:%SZ}",
    }
    if monitoring_type == "ModelQuality":
        environment["analysis_type"] = "MODEL_QUALITY"
    return environment


def _register_processing_job(account_id: str, region: str, job: dict[str, Any], times: dict[str, datetime]) -> None:
    """Make DescribeProcessingJob return the job: moto describes every attribute of its FakeProcessingJob."""
    backend = sagemaker_backends[account_id][region]
    fake = backend.create_processing_job(
        app_specification=plain(job["AppSpecification"]),
        experiment_config=None,  # type: ignore[arg-type]
        network_config=None,  # type: ignore[arg-type]
        processing_inputs=[],
        processing_job_name=job["ProcessingJobName"],
        processing_output_config=plain(job["ProcessingOutputConfig"]),
        role_arn=job["RoleArn"],
        tags=[],
        stopping_condition=plain(job["StoppingCondition"]),
    )
    # moto's FakeProcessingJob lacks these DescribeProcessingJob members; its describe returns every attribute.
    described = {
        "processing_resources": plain(job["ProcessingResources"]),
        "environment": dict(job["Environment"]),
        "exit_message": job["ExitMessage"],
        "monitoring_schedule_arn": job["MonitoringScheduleArn"],
        "creation_time": naive_utc(times["CreationTime"]),
        "processing_start_time": naive_utc(times["ProcessingStartTime"]),
        "processing_end_time": naive_utc(times["ProcessingEndTime"]),
        "last_modified_time": naive_utc(times["LastModifiedTime"]),
    }
    for attribute, value in described.items():
        setattr(fake, attribute, value)
