"""Announcements: SNS for operators, the control plane's own event bus for other teams.

Each carries the `record_id` of the audit record it announces: the outbox delivers at least once, so a
subscriber that must act once keys on it."""

import json
from typing import TYPE_CHECKING

from controlplane.adapters.clients import LazyClient
from controlplane.ports import Announcement

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient

EVENT_SOURCE = "mlops.controlplane"


class Announcer:
    _sns = LazyClient["SNSClient"]("sns")
    _events = LazyClient["EventBridgeClient"]("events")

    def __init__(
        self,
        topic_arn: str,
        event_bus_name: str,
        sns: "SNSClient | None" = None,
        events: "EventBridgeClient | None" = None,
    ):
        self._topic_arn = topic_arn
        self._bus = event_bus_name
        self._sns = sns
        self._events = events

    def notify(self, announcement: Announcement, record_id: str) -> None:
        detail = {**announcement.detail, "record_id": record_id}
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=f"[mlops] {announcement.detail_type}: {detail.get('model', '')}"[:100],
            Message=json.dumps({"event": announcement.detail_type, **detail}, indent=2, sort_keys=True, default=str),
            MessageAttributes={"event": {"DataType": "String", "StringValue": announcement.detail_type}},
        )

    def publish(self, announcement: Announcement, record_id: str) -> None:
        response = self._events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": announcement.detail_type,
                    "Detail": json.dumps({**announcement.detail, "record_id": record_id}, default=str),
                    "EventBusName": self._bus,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the '{announcement.detail_type}' event: {response['Entries']}")
