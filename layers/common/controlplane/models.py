"""Models of the events the control plane consumes and of the inputs its workflows accept.

Lenient where AWS is inconsistent (field casing, optional fields), strict where a wrong value would
cause a wrong action (bucket and key, statuses, model names, S3 URIs).
"""

import re
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from controlplane.drift_config import SignalKind
from controlplane.errors import InvalidRequest
from controlplane.schema import StrictModel, validation_problems

# Any key: S3 keys may hold any Unicode character (spaces, '+', '%', '=', line breaks included).
_S3_URI = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>.*)", re.DOTALL)
S3_KEY_MAX_BYTES = 1024
"""S3 object keys are at most 1024 bytes of UTF-8."""
DATASET_URI_MAX_BYTES = 1024
"""The ledger keys a dataset by its URI, and a DynamoDB sort key is at most 1024 bytes."""


def utf8_size(text: str) -> int | None:
    """The UTF-8 size of `text` in bytes, or None when it is not valid Unicode (a lone surrogate from JSON)."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        return None


def s3_key_problem(key: str) -> str | None:
    """Why no S3 object can have this key, or None."""
    size = utf8_size(key)
    if size is None:
        return "the key is not valid Unicode text (it holds a lone UTF-16 surrogate), so no S3 object has it"
    if size > S3_KEY_MAX_BYTES:
        return f"the key is {size} bytes in UTF-8; S3 keys are at most {S3_KEY_MAX_BYTES} bytes"
    return None


def dataset_uri_problem(uri: str) -> str | None:
    """Why the control plane cannot train on this dataset URI, or None. The ingress and RetrainRequest share it."""
    if not _S3_URI.fullmatch(uri):
        return f"'{uri}' is not an S3 URI; write it as s3://<bucket>/<dataset prefix>/"
    size = utf8_size(uri)
    if size is None:
        return "the dataset URI is not valid Unicode text (it holds a lone UTF-16 surrogate)"
    if size > DATASET_URI_MAX_BYTES:
        return (
            f"the dataset URI is {size} bytes in UTF-8; the ledger keys datasets by URI and takes at most "
            f"{DATASET_URI_MAX_BYTES} bytes (DynamoDB sort key limit): use a shorter dataset prefix"
        )
    return None


def _usable_dataset_uri(uri: str) -> str:
    problem = dataset_uri_problem(uri)
    if problem is not None:
        raise ValueError(problem)
    return uri


DatasetUri = Annotated[
    str, AfterValidator(_usable_dataset_uri), Field(json_schema_extra={"pattern": "^s3://[a-z0-9.-]{3,63}/"})
]
"""s3://<bucket>/<dataset prefix>/ with any characters in the prefix, within the ledger's key size."""


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True, defer_build=True)


class S3Bucket(_Lenient):
    name: Annotated[str, Field(min_length=3)]


class S3Object(_Lenient):
    key: Annotated[str, Field(min_length=1)]
    """The key as stored, never URL-decoded: S3's events on EventBridge carry it verbatim, unlike its notifications
    to SQS/SNS/Lambda ('red+flower.jpg'). AWS S3 User Guide, "EventBridge event message structure" (ev-events)."""
    size: int = 0
    etag: str | None = Field(default=None, validation_alias=AliasChoices("etag", "eTag"))
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class S3ObjectCreatedDetail(_Lenient):
    bucket: S3Bucket
    object: S3Object
    reason: str | None = None


class EventBridgeEvent(_Lenient):
    """The EventBridge envelope; `detail` is parsed by the concrete subclasses."""

    id: Annotated[str, Field(min_length=1)]
    detail_type: str = Field(alias="detail-type")
    source: str
    account: str | None = None
    region: str | None = None
    time: datetime
    resources: list[str] = Field(default_factory=list)


class S3ObjectCreated(EventBridgeEvent):
    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    source: Literal["aws.s3"]
    detail: S3ObjectCreatedDetail


PipelineStatus = Literal["Executing", "Stopping", "Stopped", "Failed", "Succeeded"]


class PipelineStatusDetail(_Lenient):
    current_status: PipelineStatus = Field(alias="currentPipelineExecutionStatus")
    previous_status: str | None = Field(default=None, alias="previousPipelineExecutionStatus")
    pipeline_arn: str = Field(alias="pipelineArn")
    pipeline_execution_arn: Annotated[str, Field(pattern=r"^arn:aws[a-z-]*:sagemaker:")] = Field(
        alias="pipelineExecutionArn"
    )
    display_name: str | None = Field(default=None, alias="pipelineExecutionDisplayName")
    failure_reason: str | None = Field(default=None, alias="failureReason")

    @field_validator("current_status", mode="before")
    @classmethod
    def _capitalised(cls, status: Any) -> Any:
        return status.capitalize() if isinstance(status, str) else status


class PipelineExecutionStatusChange(EventBridgeEvent):
    detail_type: Literal["SageMaker Model Building Pipeline Execution Status Change"] = Field(alias="detail-type")
    source: Literal["aws.sagemaker"]
    detail: PipelineStatusDetail


class RetrainRequest(StrictModel):
    """Input of the retrain workflow, from the data ingress or from an operator."""

    model: Annotated[str, Field(min_length=1, max_length=64)]
    dataset_uri: DatasetUri
    reason: Annotated[str, Field(min_length=1, max_length=256)]
    run_key: Annotated[str, Field(pattern=r"^[A-Za-z0-9-]{1,32}$")] | None = None
    """Set to train the same dataset again: each new run key is a new run."""
    wait_for_quiet_period: bool = False
    """Wait until no object arrived in the dataset for the model's quiet period (set by the data ingress)."""

    @property
    def bucket(self) -> str:
        return split_s3_uri(self.dataset_uri)[0]

    @property
    def key_prefix(self) -> str:
        return split_s3_uri(self.dataset_uri)[1]


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = _S3_URI.fullmatch(uri)
    if not match:
        raise InvalidRequest(f"'{uri}' is not an S3 URI; write it as s3://<bucket>/<key>")
    return match["bucket"], match["key"]


def parse_request[T: BaseModel](model: type[T], payload: Any, what: str) -> T:
    """Validate `payload` or raise InvalidRequest with a message that says what to fix."""
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise InvalidRequest(f"Invalid {what}: " + "; ".join(validation_problems(error))) from None


_PACKAGE_ARN = r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:model-package/[a-zA-Z0-9-]+/\d+$"


class PackageMetadataProperties(_Lenient):
    generated_by: str | None = Field(default=None, alias="GeneratedBy")
    """The pipeline execution that registered the version."""


class ModelPackageDetail(_Lenient):
    group: str = Field(alias="ModelPackageGroupName")
    version: int = Field(alias="ModelPackageVersion")
    arn: Annotated[str, Field(pattern=_PACKAGE_ARN)] = Field(alias="ModelPackageArn")
    approval_status: Literal["Approved", "Rejected", "PendingManualApproval"] = Field(alias="ModelApprovalStatus")
    updated_fields: list[str] | None = Field(default=None, alias="UpdatedModelPackageFields")
    last_modified: datetime | None = Field(default=None, alias="LastModifiedTime")
    """When the change this event reports was made: every copy of one change carries the same time."""
    metadata_properties: PackageMetadataProperties | None = Field(default=None, alias="MetadataProperties")


class ModelPackageStateChange(EventBridgeEvent):
    detail_type: Literal["SageMaker Model Package State Change"] = Field(alias="detail-type")
    source: Literal["aws.sagemaker"]
    detail: ModelPackageDetail

    @property
    def changed_at(self) -> datetime:
        """The change's time: LastModifiedTime, or the event's time for an event without it."""
        return self.detail.last_modified or self.time


# Endpoint statuses in the API's spelling; events write them IN_SERVICE, UPDATING, ...
EndpointStatus = Literal[
    "OutOfService", "Creating", "Updating", "SystemUpdating", "RollingBack", "InService", "Deleting", "Failed",
    "UpdateRollbackFailed",
]  # fmt: skip
SETTLED_ENDPOINT_STATUSES: frozenset[str] = frozenset({"InService", "Failed", "OutOfService", "UpdateRollbackFailed"})


def api_endpoint_status(status: Any) -> Any:
    """`IN_SERVICE` (events) or `InService` (API) -> `InService`."""
    if isinstance(status, str) and (status.isupper() or "_" in status):
        return "".join(part.capitalize() for part in status.split("_"))
    return status


class EndpointDetail(_Lenient):
    endpoint_name: str = Field(alias="EndpointName")
    endpoint_config_name: str | None = Field(default=None, alias="EndpointConfigName")
    status: EndpointStatus = Field(alias="EndpointStatus")
    failure_reason: str | None = Field(default=None, alias="FailureReason")

    @field_validator("status", mode="before")
    @classmethod
    def _api_spelling(cls, status: Any) -> Any:
        return api_endpoint_status(status)


class EndpointStateChange(EventBridgeEvent):
    detail_type: Literal["SageMaker Endpoint State Change"] = Field(alias="detail-type")
    source: Literal["aws.sagemaker"]
    detail: EndpointDetail


class DeployRequest(StrictModel):
    """Deploy (or promote) one exact model package version to a stage."""

    model_package_arn: Annotated[str, Field(pattern=_PACKAGE_ARN)]
    stage: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,19}$")] | None = None
    requested_by: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    reason: Annotated[str, Field(min_length=1, max_length=256)] | None = None


class RollbackRequest(StrictModel):
    """Put an endpoint back on its last known good version, or on a version it served before."""

    endpoint: Annotated[str, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
    to: Annotated[str, Field(pattern=r"^(last_known_good|" + _PACKAGE_ARN[1:-1] + r")$")] = "last_known_good"
    reason: Annotated[str, Field(min_length=1, max_length=256)]


class AlarmState(_Lenient):
    value: Literal["ALARM", "OK", "INSUFFICIENT_DATA"]
    reason: str = ""
    timestamp: str | None = None


class AlarmStateDetail(_Lenient):
    alarm_name: Annotated[str, Field(min_length=1)] = Field(alias="alarmName")
    state: AlarmState
    previous_state: AlarmState | None = Field(default=None, alias="previousState")


class AlarmStateChange(EventBridgeEvent):
    detail_type: Literal["CloudWatch Alarm State Change"] = Field(alias="detail-type")
    source: Literal["aws.cloudwatch"]
    detail: AlarmStateDetail


class S3OutputSpec(_Lenient):
    s3_uri: str = Field(alias="S3Uri")


class ProcessingOutput(_Lenient):
    output_name: str | None = Field(default=None, alias="OutputName")
    s3_output: S3OutputSpec | None = Field(default=None, alias="S3Output")


class ProcessingOutputConfig(_Lenient):
    outputs: list[ProcessingOutput] = Field(default_factory=list, alias="Outputs")


class ProcessingJobDetail(_Lenient):
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
    endpoint: Annotated[str, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
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


class DriftRequest(StrictModel):
    """A manual drift response: an operator decides for an endpoint."""

    endpoint: Annotated[str, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")]
    action: Literal["retrain", "rollback", "dismiss"]
    reason: Annotated[str, Field(min_length=1, max_length=256)]


INCIDENT_ID_PATTERN = r"^[A-Za-z0-9-]{1,64}$"
APPROVAL_ID_PATTERN = r"^approval-[0-9a-f]{16}$"


class DecisionRequest(StrictModel):
    """A human's answer to a "Drift Decision Requested": the input of the decision state machine."""

    incident_id: Annotated[str, Field(pattern=INCIDENT_ID_PATTERN)]
    """The incident_id of the Drift Decision Requested notification."""
    action: Literal["rollback", "retrain", "dismiss"]
    by: Annotated[str, Field(min_length=1, max_length=128)]
    """Who answers, as they claim; the execution's ARN (recorded with it) leads to the real principal in CloudTrail."""
    reason: Annotated[str, Field(min_length=1, max_length=256)]
    dataset_uri: DatasetUri | None = None
    """retrain only: the dataset to train on (in the model's data); default: the one the policy would choose."""

    @model_validator(mode="after")
    def _dataset_only_for_retrain(self) -> Self:
        if self.dataset_uri is not None and self.action != "retrain":
            raise ValueError(f"dataset_uri applies only to action 'retrain', not '{self.action}'; remove it")
        return self


class ApprovalRequest(StrictModel):
    """A human's answer to a "Deployment Approval Requested": the input of the decision state machine."""

    approval_id: Annotated[str, Field(pattern=APPROVAL_ID_PATTERN)]
    """The approval_id of the Deployment Approval Requested notification."""
    approve: bool
    by: Annotated[str, Field(min_length=1, max_length=128)]
    """Who answers, as they claim (not the requester); the execution's ARN leads to the real principal in CloudTrail."""
    reason: Annotated[str, Field(min_length=1, max_length=256)]
