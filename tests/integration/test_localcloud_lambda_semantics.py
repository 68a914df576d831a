"""The local cloud's Lambda invocation semantics, on a fixture template with a probe handler.

Asynchronous invocation (EventBridge targets): Lambda's retries on the virtual clock, the on-failure invocation
record, the rule DLQ for delivery failures only, and the redrive script. DynamoDB Streams event sources: order,
record shape, filters, bisection, partial batch responses, retry and age limits, the on-failure batch record.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from localcloud.async_invocations import EventInvokeConfig
from localcloud.clock import DEFAULT_START
from localcloud.cloud import ACCOUNT_ID, REGION, LocalCloud, TimelineEntry
from localcloud.report import dead_letters
from localcloud.streams import StreamMappingConfig
from localcloud.template import TemplateError

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import redrive

FIXTURE = Path(__file__).parent / "fixtures" / "lambda_semantics" / "template.yaml"
NO_LETTERS = {"EventDeliveryDeadLetterQueue": 0, "FailedInvocationsQueue": 0, "StreamDeadLetterQueue": 0}


@pytest.fixture
def cloud() -> Iterator[LocalCloud]:
    with LocalCloud(template_path=FIXTURE) as local:
        yield local


def put_probe(cloud: LocalCloud, kind: str, detail: dict[str, Any] | None = None) -> None:
    matched = cloud.put_event(
        {
            "version": "0",
            "id": f"probe-{kind}",
            "detail-type": kind,
            "source": "test.probe",
            "account": ACCOUNT_ID,
            "time": cloud.clock.now().isoformat(),
            "region": REGION,
            "resources": [],
            "detail": detail or {"kind": kind},
        }
    )
    assert matched == 1


def invocations(cloud: LocalCloud, function: str) -> list[TimelineEntry]:
    return [entry for entry in cloud.timeline if entry.kind == "lambda" and entry.data["function"] == function]


def received(cloud: LocalCloud, function: str) -> list[Any]:
    module = cloud.functions[function].module
    return [] if module is None else list(module.received)


def queue_bodies(cloud: LocalCloud, logical_id: str) -> list[dict[str, Any]]:
    messages = cloud.client("sqs").receive_message(
        QueueUrl=cloud.physical[logical_id]["QueueUrl"], MaxNumberOfMessages=10, VisibilityTimeout=0
    )
    return [json.loads(message["Body"]) for message in messages.get("Messages", [])]


def seconds_since(start: Any, entries: list[TimelineEntry]) -> list[float]:
    return [(entry.at - start).total_seconds() for entry in entries]


# -- asynchronous invocation --------------------------------------------------------------------------------


def test_handler_errors_are_retried_by_lambda_then_recorded_on_the_failure_destination(cloud: LocalCloud) -> None:
    cloud.inject_errors("AsyncFunction", count=3, error_type="Boom", message="probe failure")
    start = cloud.clock.now()
    put_probe(cloud, "Async", {"order": 7})
    cloud.settle()

    attempts = invocations(cloud, "AsyncFunction")
    assert seconds_since(start, attempts) == [0, 60, 180]  # retries after one, then two minutes
    assert {entry.data["error"]["errorType"] for entry in attempts} == {"Boom"}
    assert dead_letters(cloud) == {**NO_LETTERS, "FailedInvocationsQueue": 1}
    [record] = queue_bodies(cloud, "FailedInvocationsQueue")
    assert record["version"] == "1.0"
    assert record["timestamp"] == "2026-11-27T09:03:00.000Z"
    assert record["requestContext"]["functionArn"] == cloud.functions["AsyncFunction"].arn + ":$LATEST"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"]
    assert record["requestPayload"]["detail"] == {"order": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "Boom"
    assert record["responsePayload"]["errorMessage"] == "probe failure"


def test_a_retry_that_succeeds_leaves_no_record(cloud: LocalCloud) -> None:
    cloud.inject_errors("AsyncFunction", count=1)
    put_probe(cloud, "Async")
    cloud.settle()

    assert [entry.data["error"] is None for entry in invocations(cloud, "AsyncFunction")] == [False, True]
    assert [event["detail"] for event in received(cloud, "AsyncFunction")] == [{"kind": "Async"}]
    assert dead_letters(cloud) == NO_LETTERS


def test_an_event_older_than_its_maximum_age_is_not_retried_again(cloud: LocalCloud) -> None:
    cloud.inject_errors("ShortLivedFunction", count=3)
    start = cloud.clock.now()
    put_probe(cloud, "ShortLived")
    cloud.settle()

    # 60 s old at the first retry (not older than MaximumEventAgeInSeconds: 60), 180 s at the second.
    assert seconds_since(start, invocations(cloud, "ShortLivedFunction")) == [0, 60]
    [record] = queue_bodies(cloud, "FailedInvocationsQueue")
    assert (record["requestContext"]["condition"], record["requestContext"]["approximateInvokeCount"]) == (
        "EventAgeExceeded",
        2,
    )


def test_without_a_destination_lambda_drops_the_event_after_its_default_retries(cloud: LocalCloud) -> None:
    cloud.inject_errors("DefaultsFunction", count=5)
    put_probe(cloud, "Defaults")
    cloud.settle()

    assert len(invocations(cloud, "DefaultsFunction")) == 3
    assert dead_letters(cloud) == NO_LETTERS
    [dropped] = [entry for entry in cloud.timeline if entry.kind == "lambda-async"]
    assert "dropped" in dropped.text
    assert dropped.data["condition"] == "RetriesExhausted"


def test_a_target_function_that_is_gone_is_a_delivery_failure_for_the_rule_dlq(cloud: LocalCloud) -> None:
    cloud.client("lambda").delete_function(FunctionName=cloud.functions["AsyncFunction"].name)
    put_probe(cloud, "Async", {"order": 8})
    cloud.settle()

    assert invocations(cloud, "AsyncFunction") == []
    assert dead_letters(cloud) == {**NO_LETTERS, "EventDeliveryDeadLetterQueue": 1}
    [message] = cloud.client("sqs").receive_message(
        QueueUrl=cloud.physical["EventDeliveryDeadLetterQueue"]["QueueUrl"], MessageAttributeNames=["All"]
    )["Messages"]
    assert json.loads(message["Body"])["detail"] == {"order": 8}
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "ResourceNotFoundException"
    assert attributes["TARGET_ARN"] == cloud.functions["AsyncFunction"].arn


def test_an_event_invocation_through_the_lambda_api_is_accepted_then_run_on_settle(cloud: LocalCloud) -> None:
    response = cloud.client("lambda").invoke(
        FunctionName=cloud.functions["AsyncFunction"].name, InvocationType="Event", Payload=json.dumps({"n": 1})
    )

    assert response["StatusCode"] == 202
    assert received(cloud, "AsyncFunction") == []
    cloud.settle()
    assert received(cloud, "AsyncFunction") == [{"n": 1}]


def test_redrive_re_invokes_each_record_and_deletes_it_once_accepted(
    cloud: LocalCloud, capsys: pytest.CaptureFixture[str]
) -> None:
    cloud.inject_errors("AsyncFunction", count=3)
    put_probe(cloud, "Async", {"order": 9})
    cloud.settle()
    queue_url = cloud.physical["FailedInvocationsQueue"]["QueueUrl"]
    cloud.client("sqs").send_message(QueueUrl=queue_url, MessageBody="not an invocation record")

    assert redrive.main(["--queue-url", queue_url, "--region", REGION, "--dry-run"]) == 0
    listed = capsys.readouterr().out
    assert "would redrive" in listed
    assert "RetriesExhausted after 3 attempt(s)" in listed
    assert "0 redriven, 2 left on the queue" in listed
    assert dead_letters(cloud)["FailedInvocationsQueue"] == 2
    assert received(cloud, "AsyncFunction") == []

    assert redrive.main(["--queue-url", queue_url, "--region", REGION]) == 1  # the stray message stays
    assert "1 redriven, 1 left on the queue" in capsys.readouterr().out
    cloud.settle()

    assert [event["detail"] for event in received(cloud, "AsyncFunction")] == [{"order": 9}]
    [stray] = cloud.client("sqs").receive_message(QueueUrl=queue_url)["Messages"]
    assert stray["Body"] == "not an invocation record"


# -- DynamoDB Streams ---------------------------------------------------------------------------------------


def put(cloud: LocalCloud, table: str, pk: str, **attributes: Any) -> None:
    item = {"pk": {"S": pk}} | attributes
    cloud.client("dynamodb").put_item(TableName=cloud.physical[table]["Ref"], Item=item)


def pending(*effects: str) -> dict[str, Any]:
    return {"L": [{"S": effect} for effect in effects]}


def batches(cloud: LocalCloud, function: str) -> list[list[str]]:
    """The primary keys of each batch the function received, in order."""
    return [
        [(record["dynamodb"].get("NewImage") or record["dynamodb"]["Keys"])["pk"]["S"] for record in event["Records"]]
        for event in received(cloud, function)
    ]


def test_every_write_becomes_a_stream_record_in_order_shaped_as_lambda_delivers_it(cloud: LocalCloud) -> None:
    table = cloud.physical["PlainTable"]["Ref"]
    dynamodb = cloud.client("dynamodb")
    put(cloud, "PlainTable", "a", n={"N": "1"})
    put(cloud, "PlainTable", "b")
    put(cloud, "PlainTable", "a", n={"N": "2"})
    put(cloud, "PlainTable", "a", n={"N": "2"})  # changes nothing: no record
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "b"}})
    cloud.settle()

    [event] = received(cloud, "PlainStreamFunction")
    records = event["Records"]
    assert [record["eventName"] for record in records] == ["INSERT", "INSERT", "MODIFY", "REMOVE"]
    sequence_numbers = [int(record["dynamodb"]["SequenceNumber"]) for record in records]
    assert sequence_numbers == sorted(sequence_numbers)
    modify = records[2]
    assert modify["eventSource"] == "aws:dynamodb"
    assert modify["eventSourceARN"] == cloud.physical["PlainTable"]["StreamArn"]
    assert modify["awsRegion"] == REGION
    assert modify["dynamodb"]["Keys"] == {"pk": {"S": "a"}}
    assert modify["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "2"}}
    assert modify["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert modify["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert modify["dynamodb"]["SizeBytes"] > 0
    assert modify["dynamodb"]["ApproximateCreationDateTime"] == int(cloud.clock.now().timestamp())
    assert "NewImage" not in records[3]["dynamodb"]
    assert records[3]["dynamodb"]["OldImage"] == {"pk": {"S": "b"}}


def test_records_the_filter_rejects_are_skipped(cloud: LocalCloud) -> None:
    put(cloud, "OutboxTable", "no-effects")
    put(cloud, "OutboxTable", "with-effects", pending_effects=pending("announce"))
    cloud.client("dynamodb").delete_item(
        TableName=cloud.physical["OutboxTable"]["Ref"], Key={"pk": {"S": "with-effects"}}
    )
    cloud.settle()

    assert batches(cloud, "OutboxFunction") == [["with-effects"]]


def test_a_function_error_bisects_the_batch_and_retries_each_half(cloud: LocalCloud) -> None:
    for pk in ("a", "b", "c", "d"):
        fails = {"fail_times": {"N": "1"}, "failure": {"S": "crash"}} if pk == "c" else {}
        put(cloud, "OutboxTable", pk, pending_effects=pending("announce"), **fails)
    cloud.settle()

    assert batches(cloud, "OutboxFunction") == [["a", "b", "c", "d"], ["a", "b"], ["c", "d"]]
    assert dead_letters(cloud) == NO_LETTERS


def test_a_partial_batch_response_checkpoints_before_the_lowest_failed_record(cloud: LocalCloud) -> None:
    for pk in ("a", "b", "c", "d"):
        fails = {"fail_times": {"N": "1"}, "failure": {"S": "report"}} if pk in ("b", "d") else {}
        put(cloud, "OutboxTable", pk, pending_effects=pending("announce"), **fails)
    cloud.settle()

    assert batches(cloud, "OutboxFunction") == [["a", "b", "c", "d"], ["b", "c", "d"]]
    assert dead_letters(cloud) == NO_LETTERS


def test_exhausted_retries_send_the_batch_info_to_the_destination_and_the_shard_moves_on(cloud: LocalCloud) -> None:
    start = cloud.clock.now()
    put(cloud, "PlainTable", "poison", fail_times={"N": "99"}, failure={"S": "crash"})
    cloud.settle()
    put(cloud, "PlainTable", "next")
    cloud.settle()

    assert batches(cloud, "PlainStreamFunction") == [["poison"]] * 3 + [["next"]]
    assert seconds_since(start, invocations(cloud, "PlainStreamFunction")[:3]) == [0, 1, 3]
    [failure] = queue_bodies(cloud, "StreamDeadLetterQueue")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    assert failure["requestContext"]["functionArn"] == cloud.functions["PlainStreamFunction"].arn
    assert failure["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    info = failure["DDBStreamBatchInfo"]
    poison = received(cloud, "PlainStreamFunction")[0]["Records"][0]["dynamodb"]["SequenceNumber"]
    assert info == {
        "shardId": info["shardId"],
        "startSequenceNumber": poison,
        "endSequenceNumber": poison,
        "approximateArrivalOfFirstRecord": "2026-11-27T09:00:00Z",
        "approximateArrivalOfLastRecord": "2026-11-27T09:00:00Z",
        "batchSize": 1,
        "streamArn": cloud.physical["PlainTable"]["StreamArn"],
    }
    assert info["shardId"].startswith("shardId-")
    assert "Records" not in failure


def test_records_older_than_the_maximum_age_are_not_processed(cloud: LocalCloud) -> None:
    put(cloud, "PlainTable", "stale")
    cloud.clock.call_later(121, lambda: None)  # the consumer lags: time passes before it polls
    cloud.clock.fire_next()
    put(cloud, "PlainTable", "fresh")
    cloud.settle()

    assert batches(cloud, "PlainStreamFunction") == [["fresh"]]
    [failure] = queue_bodies(cloud, "StreamDeadLetterQueue")
    assert failure["requestContext"]["condition"] == "RecordAgeExceeded"
    assert failure["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in failure
    assert failure["DDBStreamBatchInfo"]["batchSize"] == 1
    assert failure["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"] == "2026-11-27T09:00:00Z"
    assert cloud.clock.now() - DEFAULT_START == timedelta(seconds=121)


# -- template errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"MaximumRetryAttempts": 3}, "MaximumRetryAttempts must be 0-2, got 3"),
        ({"MaximumEventAgeInSeconds": 30}, "MaximumEventAgeInSeconds must be 60-21600, got 30"),
        (
            {"DestinationConfig": {"OnFailure": {"Type": "SNS", "Destination": "arn:aws:sns:us-east-1:1:t"}}},
            "emulated for an SQS queue only",
        ),
    ],
)
def test_an_invalid_event_invoke_config_is_rejected_with_what_to_fix(config: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        EventInvokeConfig.from_template("Fn", config)


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"StartingPosition": "AT_TIMESTAMP"}, "StartingPosition must be TRIM_HORIZON or LATEST"),
        ({"StartingPosition": "LATEST", "BatchSize": 0}, "BatchSize must be 1-10000, got 0"),
        ({"StartingPosition": "LATEST", "MaximumRetryAttempts": -2}, "MaximumRetryAttempts must be 0-10000 or -1"),
        ({"StartingPosition": "LATEST", "ParallelizationFactor": 2}, "ParallelizationFactor is not emulated"),
        ({"StartingPosition": "LATEST", "FilterCriteria": {"Filters": [{"Pattern": "{"}]}}, "is not JSON"),
    ],
)
def test_an_invalid_dynamodb_event_is_rejected_with_what_to_fix(properties: dict[str, Any], message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        StreamMappingConfig.from_template("Fn", properties)
