"""S3's "Object Created" event on EventBridge: the data ingress's trigger."""

from typing import Annotated, Literal

from pydantic import AliasChoices, Field

from controlplane.models import EventBridgeEvent, LenientModel


class S3Bucket(LenientModel):
    name: Annotated[str, Field(min_length=3)]


class S3Object(LenientModel):
    key: Annotated[str, Field(min_length=1)]
    """The key as stored, never URL-decoded: S3's events on EventBridge carry it verbatim, unlike its notifications
    to SQS/SNS/Lambda ('red+flower.jpg'). AWS S3 User Guide, "EventBridge event message structure" (ev-events)."""
    size: int = 0
    etag: str | None = Field(default=None, validation_alias=AliasChoices("etag", "eTag"))
    version_id: str | None = Field(default=None, alias="version-id")
    sequencer: str | None = None


class S3ObjectCreatedDetail(LenientModel):
    bucket: S3Bucket
    object: S3Object
    reason: str | None = None


class S3ObjectCreated(EventBridgeEvent):
    detail_type: Literal["Object Created"] = Field(alias="detail-type")
    source: Literal["aws.s3"]
    detail: S3ObjectCreatedDetail
