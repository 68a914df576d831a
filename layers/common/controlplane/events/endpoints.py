"""SageMaker's endpoint state change, and the endpoint statuses in the API's spelling."""

from typing import Any, Literal

from pydantic import Field, field_validator

from controlplane.models import EventBridgeEvent, LenientModel

# Endpoint statuses in the API's spelling; events write them IN_SERVICE, UPDATING, ...
EndpointStatus = Literal[
    "OutOfService", "Creating", "Updating", "SystemUpdating", "RollingBack", "InService", "Deleting", "Failed",
    "UpdateRollbackFailed",
]  # fmt: skip


def api_endpoint_status(status: Any) -> Any:
    """`IN_SERVICE` (events) or `InService` (API) -> `InService`."""
    if isinstance(status, str) and (status.isupper() or "_" in status):
        return "".join(part.capitalize() for part in status.split("_"))
    return status


class EndpointDetail(LenientModel):
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
