"""SQS event source mappings that read moto's queues in constant work per message.

Follows the Lambda Developer Guide, "Using Lambda with Amazon SQS" (and "Handling errors for an SQS event source
in Lambda"): the mapping receives up to BatchSize visible messages, invokes the function once with them, deletes
those the function processed and lets the failed ones (the whole batch when the invocation failed, else the
`batchItemFailures` of ReportBatchItemFailures) become visible again; a message received `maxReceiveCount` times
moves to the queue's redrive target instead of being received again. Record fields as in the guide's example
event (messageId, receiptHandle, body, attributes, md5OfBody, eventSource, eventSourceARN, awsRegion).

moto gap: moto's ReceiveMessage rebuilds the list of the queue's visible messages on every call (of at most 10
messages) and its DeleteMessage rebuilds the whole queue for each message, so draining N messages costs O(N^2)
(the 10,000-event ingress benchmark took about five minutes). Here a batch is taken from the front of moto's own
message list and completed in one pass over the batch, so the work per message does not grow with the queue.
The local cloud is the queue's only consumer, and a failed message is visible again at once: it does not wait
out its visibility timeout (the local cloud's clock is virtual; moto's visibility times are real).

Sending in constant work is `localcloud.emulations.sqs`.
"""

from typing import Any

from moto.sqs.models import Message, Queue, sqs_backends


def queue_named(account_id: str, region: str, name: str) -> Queue:
    return sqs_backends[account_id][region].get_queue(name)


def receive_batch(queue: Queue, batch_size: int) -> list[Message]:
    """Up to `batch_size` visible messages from the front of the queue, each marked received (in flight); those
    received `maxReceiveCount` times already move to the redrive target instead."""
    batch: list[Message] = []
    redriven: list[Message] = []
    max_receives = queue.redrive_policy["maxReceiveCount"] if queue.dead_letter_queue and queue.redrive_policy else None
    with queue._messages_lock:
        for message in queue._messages:
            if len(batch) >= batch_size:
                break
            if not message.visible or message.delayed:
                continue  # in flight for another reader, or delayed: not this batch's
            if max_receives is not None and message.approximate_receive_count >= max_receives:
                redriven.append(message)
                continue
            message.mark_received(visibility_timeout=queue.visibility_timeout)
            batch.append(message)
        if redriven:
            _remove(queue, redriven)
    for message in redriven:
        queue.dead_letter_queue.add_message(message)
    return batch


def complete_batch(queue: Queue, batch: list[Message], failed_ids: set[str]) -> None:
    """Delete the processed messages; the failed ones are visible again at once."""
    processed = [message for message in batch if message.id not in failed_ids]
    for message in batch:
        if message.id in failed_ids:
            message.visible_at = 0  # visible now (moto compares its real clock with `>`: 0 s would wait 1 ms)
    with queue._messages_lock:
        _remove(queue, processed)
    for message in processed:
        queue.pending_messages.discard(message)
        queue.deleted_messages.update(handle for handle in message.all_receipt_handles if handle)


def _remove(queue: Queue, messages: list[Message]) -> None:
    """Remove messages taken from the front of the queue: a slice when they are its first ones (the usual case)."""
    if not messages:
        return
    gone = {id(message) for message in messages}
    head = len(messages) + 16  # failed or delayed messages may sit between them
    kept = [message for message in queue._messages[:head] if id(message) not in gone]
    if len(queue._messages[:head]) - len(kept) == len(messages):
        queue._messages[:head] = kept
    else:
        queue._messages = [message for message in queue._messages if id(message) not in gone]


def lambda_record(message: Message, queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": {
            "ApproximateReceiveCount": str(message.approximate_receive_count),
            "SentTimestamp": str(message.sent_timestamp),
            "SenderId": message.sender_id,
            "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
        },
        "messageAttributes": {},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
