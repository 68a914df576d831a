"""SageMaker Pipelines' execution status change: how a retrain's training run ends."""

from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from controlplane.models import EventBridgeEvent, LenientModel

PipelineStatus = Literal["Executing", "Stopping", "Stopped", "Failed", "Succeeded"]


class PipelineStatusDetail(LenientModel):
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
