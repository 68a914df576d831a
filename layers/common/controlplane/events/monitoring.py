"""The drift signals: CloudWatch alarm state changes, Model Monitor's processing jobs, and the custom Drift Detected."""

from typing import Annotated, Literal

from pydantic import Field

from controlplane.deployment_config import ENDPOINT_NAME_PATTERN
from controlplane.drift_config import SignalKind
from controlplane.models import DatasetUri, EventBridgeEvent, LenientModel
from controlplane.schema import StrictModel


class AlarmState(LenientModel):
    value: Literal["ALARM", "OK", "INSUFFICIENT_DATA"]
    reason: str = ""
    timestamp: str | None = None


class AlarmStateDetail(LenientModel):
    alarm_name: Annotated[str, Field(min_length=1)] = Field(alias="alarmName")
    state: AlarmState
    previous_state: AlarmState | None = Field(default=None, alias="previousState")


class AlarmStateChange(EventBridgeEvent):
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    source: Literal["aws.cloudwatch"]
    detail: AlarmStateDetail


class S3OutputSpec(LenientModel):
    s3_uri: str = Field(alias="S3Uri")


class ProcessingOutput(LenientModel):
    output_name: str | None = Field(default=None, alias="OutputName")
    s3_output: S3OutputSpec | None = Field(default=None, alias="S3Output")


class ProcessingOutputConfig(LenientModel):
    outputs: list[ProcessingOutput] = Field(default_factory=list, alias="Outputs")


class ProcessingJobDetail(LenientModel):
    job_name: str = Field(alias="ProcessingJobName")
    status: str = Field(alias="ProcessingJobStatus")
    exit_message: str | None = Field(default=None, alias="ExitMessage")
    environment: dict[str, str] = Field(default_factory=dict, alias="Environment")
    output_config: ProcessingOutputConfig | None = Field(default=None, alias="ProcessingOutputConfig")
    schedule_arn: str | None = Field(default=None, alias="MonitoringScheduleArn")


class ProcessingJobStateChange(EventBridgeEvent):
    detail_type: Literal["SageMaker Processing Job State Change"] = Field(alias="detail-type")
    source: Literal["aws.sagemaker"]
    detail: ProcessingJobDetail


class DriftDetectedDetail(StrictModel):
    """The documented custom signal any detector can put on the control-plane bus."""

    model: Annotated[str, Field(min_length=1, max_length=64)]
    endpoint: Annotated[str, Field(pattern=ENDPOINT_NAME_PATTERN)]
    kind: SignalKind
    severity: Literal["low", "medium", "high", "critical"] = "high"
    evidence_uri: str | None = None
    features: list[str] = Field(default_factory=list)
    dataset_uri: DatasetUri | None = None
    """Data to retrain on, as s3://<bucket>/<prefix>/."""
    description: Annotated[str, Field(max_length=1024)] | None = None


class DriftDetected(EventBridgeEvent):
    detail_type: Literal["Drift Detected"] = Field(alias="detail-type")
    detail: DriftDetectedDetail
