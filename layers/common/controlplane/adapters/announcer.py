"""Announcements: SNS for operators, the control plane's own event bus for other teams.

Each carries the `record_id` of the audit record it announces: the outbox delivers at least once, so a
subscriber that must act once keys on it. Each about a model with an owner carries `owner` (the team) in its
detail and, on SNS, as the message attribute `owner`, so a subscription's filter policy can select one team's."""

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from controlplane.adapters.clients import LazyClient
from controlplane.ports import CONTROL_PLANE_EVENT_SOURCE, Announcement

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient

EVENT_SOURCE = CONTROL_PLANE_EVENT_SOURCE


class Announcer:
    _sns = LazyClient["SNSClient"]("sns")
    _events = LazyClient["EventBridgeClient"]("events")

    def __init__(
        self,
        topic_arn: str,
        event_bus_name: str,
        sns: "SNSClient | None" = None,
        events: "EventBridgeClient | None" = None,
        owners: Mapping[str, str] | None = None,
    ):
        self._topic_arn = topic_arn
        self._bus = event_bus_name
        self._sns = sns
        self._events = events
        self._owners = dict(owners or {})
        """Model name to owning team, from the config."""

    def _detail(self, announcement: Announcement, record_id: str) -> dict[str, Any]:
        detail = {**announcement.detail, "record_id": record_id}
        owner = detail.get("owner") or self._owners.get(str(detail.get("model", "")))
        return {**detail, "owner": owner} if owner else detail

    def notify(self, announcement: Announcement, record_id: str) -> None:
        detail = self._detail(announcement, record_id)
        attributes = {"event": {"DataType": "String", "StringValue": announcement.detail_type}}
        if detail.get("owner"):
            attributes["owner"] = {"DataType": "String", "StringValue": str(detail["owner"])}
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=f"[mlops] {announcement.detail_type}: {detail.get('model', '')}"[:100],
            Message=json.dumps({"event": announcement.detail_type, **detail}, indent=2, sort_keys=True, default=str),
            MessageAttributes=attributes,  # type: ignore[arg-type]
        )

    def publish(self, announcement: Announcement, record_id: str) -> None:
        response = self._events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": announcement.detail_type,
                    "Detail": json.dumps(self._detail(announcement, record_id), default=str),
                    "EventBusName": self._bus,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the '{announcement.detail_type}' event: {response['Entries']}")
