"""SQS SendMessage to a standard queue in constant work per message.

The local cloud's SQS event source mappings (`localcloud.queues`) read and delete in constant work per message;
this makes sending as cheap, so a burst of thousands of S3 events (batches of 1,000) costs linear time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.moto_api._internal import mock_random
from moto.sqs.models import MAXIMUM_MESSAGE_DELAY, Message, SQSBackend

from localcloud.core import ExtensionRegistry

__all__ = ["install"]

SendMessage = Callable[..., Message]


def install(registry: ExtensionRegistry) -> None:
    """Apply every patch of this module to moto (undone by `registry.uninstall()`)."""
    _patch_standard_queue_send(registry)


def _patch_standard_queue_send(registry: ExtensionRegistry) -> None:
    """A message sent to a standard queue is appended without counting the queue.

    AWS: SendMessage delivers a message to the queue; a standard queue has no deduplication, and DelaySeconds (0 to
    900) defaults to the queue's (docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
    moto gap: SendMessage reads `ContentBasedDeduplication` through `Queue.attributes`, which also counts the
    queue's delayed, in-flight and visible messages (three scans per message sent): filling a batch of 1,000 cost
    O(1,000^2). Here a standard queue's plain message is appended directly; FIFO queues, deduplication or group ids
    and moto's own validation errors still go through moto's send.
    """
    registry.replace(SQSBackend, "send_message", _constant_work_send(vars(SQSBackend)["send_message"]))


def _constant_work_send(original: SendMessage) -> SendMessage:
    """moto's `SQSBackend.send_message`, in constant work for a standard queue's plain message."""

    def send_message(
        backend: SQSBackend,
        queue_name: str,
        message_body: str,
        message_attributes: dict[str, Any] | None = None,
        delay_seconds: int | None = None,
        deduplication_id: str | None = None,
        group_id: str | None = None,
        system_attributes: dict[str, Any] | None = None,
        validate_group_id: bool = True,
    ) -> Message:
        queue = backend.get_queue(queue_name)
        delay = int(delay_seconds) if delay_seconds is not None else int(queue.delay_seconds)  # type: ignore[arg-type]
        if queue.fifo_queue or deduplication_id is not None or group_id is not None or delay > MAXIMUM_MESSAGE_DELAY:
            return original(  # FIFO semantics, and moto's own errors
                backend,
                queue_name,
                message_body,
                message_attributes,
                delay_seconds,
                deduplication_id,
                group_id,
                system_attributes,
                validate_group_id,
            )
        backend._validate_message(
            queue, message_body=message_body, delay_seconds=delay, deduplication_id=None, group_id=None
        )
        message = Message(str(mock_random.uuid4()), message_body, system_attributes)
        if message_attributes:
            message.message_attributes = message_attributes
        message.mark_sent(delay_seconds=delay)
        queue.add_message(message)  # a standard queue's add_message reads no attributes
        return message

    return send_message
