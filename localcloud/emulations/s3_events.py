"""S3's "Object Created", "Object Deleted" and "Object Tags Added" events to EventBridge, shaped as AWS sends them.

moto sends S3 events to EventBridge when a bucket's EventBridgeConfiguration is on, but unlike AWS (see
/work/shared/AWS-FACTS.md); `install` replaces that sender with one that builds AWS's event and sends it through
`ExtensionRegistry.put_service_event`.
"""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

from moto.s3 import notifications as s3_notifications
from moto.s3.responses import S3Response

from localcloud.core import ExtensionRegistry

__all__ = ["install"]

_log = logging.getLogger("localcloud")

# moto's event names -> AWS's `detail.reason`.
_S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}


class _Sequencers:
    """A strictly increasing, fixed-width hex sequencer per bucket (AWS's are hex strings too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str], int] = {}

    def next(self, account_id: str, bucket_name: str) -> str:
        with self._lock:
            value = self._last.get((account_id, bucket_name), 0) + 1
            self._last[(account_id, bucket_name)] = value
        return f"{value:018X}"


def _s3_event_detail(sequencers: _Sequencers, account_id: str, bucket: Any, event_name: str, key: Any) -> Any:
    object_detail: dict[str, Any] = {"key": key.name}
    deleted = event_name.startswith("s3:ObjectRemoved")
    if not deleted:
        object_detail["size"] = key.size
        object_detail["etag"] = key.etag.strip('"')
    if bucket.is_versioned and key.version_id not in (None, "null"):
        object_detail["version-id"] = key.version_id
    object_detail["sequencer"] = sequencers.next(account_id, bucket.name)
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": object_detail,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account_id,
        "source-ip-address": "127.0.0.1",
    }
    if event_name in _S3_REASONS:
        detail["reason"] = _S3_REASONS[event_name]
    if deleted:
        detail["deletion-type"] = (
            "Delete Marker Created" if event_name.endswith("DeleteMarkerCreated") else "Permanently Deleted"
        )
    return detail


def install(registry: ExtensionRegistry) -> None:
    """Object-level S3 events reach the default bus as AWS shapes them.

    AWS: with EventBridge enabled on a bucket, S3 sends "Object Created" (`reason` PutObject, CopyObject,
    CompleteMultipartUpload, ...), "Object Deleted" and "Object Tags Added" (only from PutObjectTagging) to the
    default bus, with `etag`, `sequencer` and `version-id` in `detail.object`
    (docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html and EventBridge.html).
    moto gap: `notifications._send_event_bridge_message` sends a fixed sequencer, `eTag` instead of `etag`,
    `reason` "ObjectCreated", a real-time `time`, delivers to rules on every bus, ignores InputTransformer,
    swallows every error silently, and adds an "Object Tags Added" event to every PutObject/CopyObject (moto
    stores an object's tags, even none, through `put_object_tagging`). Here the event is AWS-shaped, timed by the
    virtual clock, sent through `registry.put_service_event` (default bus only), and a failure is logged at ERROR
    (the S3 request still succeeds, as on AWS). `send_event` looks the sender up as a module global, so replacing
    the global is enough.
    """
    sequencers = _Sequencers()
    tagging_api = threading.local()
    original_put_object_tagging = vars(S3Response)["put_object_tagging"]

    def put_object_tagging(self: S3Response) -> Any:
        tagging_api.active = True
        try:
            return original_put_object_tagging(self)
        finally:
            tagging_api.active = False

    def _send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        try:
            if key is None:  # moto notifies deletes of keys that did not exist
                return
            if event_name == "s3:ObjectTagging:Put" and not getattr(tagging_api, "active", False):
                return
            registry.put_service_event(
                account_id,
                bucket.region_name,
                source="aws.s3",
                detail_type=s3_notifications._detail_type(event_name),
                resources=[bucket.arn],
                detail=_s3_event_detail(sequencers, account_id, bucket, event_name, key),
            )
        except Exception:
            _log.exception("S3 EventBridge notification %s for s3://%s failed", event_name, bucket.name)

    registry.replace(S3Response, "put_object_tagging", put_object_tagging)
    registry.replace(s3_notifications, "_send_event_bridge_message", _send_event_bridge_message)
