"""The local cloud's SQS event source mapping reads (localcloud.queues) against moto's queues."""

import json

import boto3
import pytest
from moto import mock_aws
from moto.sqs.models import Queue, SQSBackend

from localcloud import queues
from localcloud.emulations import sqs as sqs_emulation

ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture
def sqs():
    with mock_aws():
        client = boto3.client("sqs", region_name=REGION)
        dead = client.create_queue(QueueName="dead")["QueueUrl"]
        dead_arn = client.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        client.create_queue(
            QueueName="work",
            Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "2"})},
        )
        yield client


def send(sqs, count: int) -> None:
    url = sqs.get_queue_url(QueueName="work")["QueueUrl"]
    for index in range(count):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")


def bodies(batch) -> list[str]:
    return [message.body for message in batch]


def test_batches_come_from_the_front_and_processed_messages_are_deleted(sqs):
    send(sqs, 25)
    queue = queues.queue_named(ACCOUNT, REGION, "work")

    first = queues.receive_batch(queue, 10)
    queues.complete_batch(queue, first, failed_ids=set())
    second = queues.receive_batch(queue, 10)

    assert bodies(first) == [f"m{n}" for n in range(10)]
    assert bodies(second) == [f"m{n}" for n in range(10, 20)]
    assert [message.body for message in queue._messages] == [f"m{n}" for n in range(10, 25)]
    queues.complete_batch(queue, second, failed_ids=set())
    assert bodies(queues.receive_batch(queue, 10)) == [f"m{n}" for n in range(20, 25)]


def test_in_flight_messages_are_not_received_again_until_completed(sqs):
    send(sqs, 3)
    queue = queues.queue_named(ACCOUNT, REGION, "work")

    batch = queues.receive_batch(queue, 10)

    assert bodies(batch) == ["m0", "m1", "m2"]
    assert queues.receive_batch(queue, 10) == []


def test_failed_messages_are_visible_again_at_once_then_redriven_after_max_receives(sqs):
    send(sqs, 2)
    queue = queues.queue_named(ACCOUNT, REGION, "work")

    first = queues.receive_batch(queue, 10)
    queues.complete_batch(queue, first, failed_ids={first[0].id})
    again = queues.receive_batch(queue, 10)
    queues.complete_batch(queue, again, failed_ids={again[0].id})

    assert (bodies(first), bodies(again)) == (["m0", "m1"], ["m0"])
    assert queues.receive_batch(queue, 10) == []  # received twice: maxReceiveCount reached
    dead = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="dead")["QueueUrl"])["Messages"]
    assert [message["Body"] for message in dead] == ["m0"]
    assert queue._messages == []


def test_records_carry_what_lambda_sends(sqs):
    send(sqs, 1)
    queue = queues.queue_named(ACCOUNT, REGION, "work")
    [message] = queues.receive_batch(queue, 1)

    record = queues.lambda_record(message, queue.queue_arn, REGION)

    assert record["body"] == "m0"
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.queue_arn
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert set(record) == {
        "messageId", "receiptHandle", "body", "attributes", "messageAttributes", "md5OfBody", "eventSource",
        "eventSourceARN", "awsRegion",
    }  # fmt: skip


def test_sends_in_constant_work_keep_what_moto_sends(sqs, monkeypatch):
    monkeypatch.setattr(SQSBackend, "send_message", sqs_emulation._constant_work_send(SQSBackend.send_message))
    counted = []
    monkeypatch.setattr(Queue, "attributes", property(lambda queue: counted.append(queue.name) or {}))
    url = sqs.get_queue_url(QueueName="work")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url, MessageBody="plain", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}}
    )
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=5)
    with pytest.raises(sqs.exceptions.ClientError, match="DelaySeconds must be >= 0 and <= 900"):
        sqs.send_message(QueueUrl=url, MessageBody="too late", DelaySeconds=901)

    queue = queues.queue_named(ACCOUNT, REGION, "work")
    assert counted == ["work"]  # only the refused message went through moto's own send, which counts the queue
    assert [(m.body, m.delayed) for m in queue._messages] == [("plain", False), ("later", True)]
    assert queue._messages[0].message_attributes == {"k": {"DataType": "String", "StringValue": "v"}}
    assert bodies(queues.receive_batch(queue, 10)) == ["plain"]
