"""The Model Registry's model package state change: a version registered, approved or rejected."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from controlplane.models import PACKAGE_ARN_PATTERN, EventBridgeEvent, LenientModel


class PackageMetadataProperties(LenientModel):
    generated_by: str | None = Field(default=None, alias="GeneratedBy")
    """The pipeline execution that registered the version."""


class ModelPackageDetail(LenientModel):
    group: str = Field(alias="ModelPackageGroupName")
    version: int = Field(alias="ModelPackageVersion")
    arn: Annotated[str, Field(pattern=PACKAGE_ARN_PATTERN)] = Field(alias="ModelPackageArn")
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
