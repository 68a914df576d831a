"""Announcements: SNS for operators, the control plane's own event bus for other teams."""

import json
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sns import SNSClient

EVENT_SOURCE = "mlops.controlplane"


class Announcer:
    def __init__(
        self,
        topic_arn: str,
        event_bus_name: str,
        sns: "SNSClient | None" = None,
        events: "EventBridgeClient | None" = None,
    ):
        self._topic_arn = topic_arn
        self._bus = event_bus_name
        self._sns = sns or boto3.client("sns")
        self._events = events or boto3.client("events")

    def announce(self, detail_type: str, detail: dict[str, Any]) -> None:
        subject = f"[mlops] {detail_type}: {detail.get('model', '')}"[:100]
        self._sns.publish(
            TopicArn=self._topic_arn,
            Subject=subject,
            Message=json.dumps({"event": detail_type, **detail}, indent=2, sort_keys=True, default=str),
            MessageAttributes={"event": {"DataType": "String", "StringValue": detail_type}},
        )
        response = self._events.put_events(
            Entries=[
                {
                    "Source": EVENT_SOURCE,
                    "DetailType": detail_type,
                    "Detail": json.dumps(detail, default=str),
                    "EventBusName": self._bus,
                }
            ]
        )
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused the '{detail_type}' event: {response['Entries']}")
