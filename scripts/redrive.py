"""Redrive Lambda's on-failure invocation records: re-invoke each record's function with its original event.

    python scripts/redrive.py --queue-url URL [--dry-run] [--region R] [--profile P] [--endpoint-url U]

Reads every message of the queue (the stack's `FailedInvocationsQueueUrl` output), re-invokes the function
named in `requestContext.functionArn` asynchronously (InvocationType=Event) with `requestPayload`, and deletes
the message only once Lambda has accepted the invocation (202). A failed re-invocation goes through Lambda's
retries again and, if it still fails, comes back to the queue as a new record. `--dry-run` lists the records
and leaves them all on the queue. Messages that are not asynchronous invocation records (e.g. stream batch
records, which carry no payload) are listed and left on the queue. Exits 1 when any message was left behind.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

# Invisible to other readers while this run goes through the queue (seconds); dry runs reset it to 0.
_VISIBILITY_SECONDS = 300


@dataclass(frozen=True)
class FailedInvocation:
    receipt_handle: str
    message_id: str
    function_arn: str
    condition: str
    attempts: int
    error: str
    payload: Any


def parse_record(message: dict[str, Any]) -> FailedInvocation | None:
    """The invocation record in an SQS message, or None when the message is not one."""
    try:
        record = json.loads(message["Body"])
        context = record["requestContext"]
        function_arn = context["functionArn"]
        payload = record["requestPayload"]
    except (ValueError, KeyError, TypeError):
        return None
    response = record.get("responsePayload")
    error = f"{response.get('errorType')}: {response.get('errorMessage')}" if isinstance(response, dict) else ""
    return FailedInvocation(
        receipt_handle=message["ReceiptHandle"],
        message_id=message["MessageId"],
        function_arn=function_arn,
        condition=str(context.get("condition")),
        attempts=int(context.get("approximateInvokeCount", 0)),
        error=error,
        payload=payload,
    )


def receive_all(sqs: Any, queue_url: str) -> Iterator[dict[str, Any]]:
    """Every message visible now; each stays invisible to other readers for this run."""
    while messages := sqs.receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=_VISIBILITY_SECONDS, WaitTimeSeconds=0
    ).get("Messages", []):
        yield from messages


def redrive(
    sqs: Any, lambda_client: Any, queue_url: str, dry_run: bool, report: Callable[[str], None] = print
) -> tuple[int, int]:
    """Re-invoke (or, dry, list) every record on the queue; returns (redriven, left on the queue)."""
    redriven = 0
    left: list[str] = []  # receipt handles of the messages that stay
    for message in receive_all(sqs, queue_url):
        record = parse_record(message)
        if record is None:
            report(f"skipped {message['MessageId']}: not an asynchronous invocation record (left on the queue)")
            left.append(message["ReceiptHandle"])
            continue
        summary = f"{record.function_arn} ({record.condition} after {record.attempts} attempt(s): {record.error})"
        if dry_run:
            report(f"would redrive {record.message_id} to {summary}")
            left.append(record.receipt_handle)
            continue
        try:
            status = lambda_client.invoke(
                FunctionName=record.function_arn, InvocationType="Event", Payload=json.dumps(record.payload)
            )["StatusCode"]
        except ClientError as error:
            report(f"could not redrive {record.message_id} to {record.function_arn}: {error} (left on the queue)")
            left.append(record.receipt_handle)
            continue
        if status != 202:
            report(f"Lambda answered {status} for {record.message_id}, not 202 (left on the queue)")
            left.append(record.receipt_handle)
            continue
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=record.receipt_handle)
        report(f"redrove {record.message_id} to {summary}")
        redriven += 1
    for receipt_handle in left:  # visible again at once, for the next run or another reader
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
    return redriven, len(left)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue-url", required=True, help="the on-failure queue (output FailedInvocationsQueueUrl)")
    parser.add_argument("--dry-run", action="store_true", help="list the records, change nothing")
    parser.add_argument("--region", help="AWS region (default: your AWS configuration's)")
    parser.add_argument("--profile", help="AWS named profile")
    parser.add_argument("--endpoint-url", help="a non-AWS endpoint, e.g. a local moto server")
    arguments = parser.parse_args(argv)
    session = boto3.Session(profile_name=arguments.profile, region_name=arguments.region)
    sqs = session.client("sqs", endpoint_url=arguments.endpoint_url)
    lambda_client = session.client("lambda", endpoint_url=arguments.endpoint_url)
    redriven, left = redrive(sqs, lambda_client, arguments.queue_url, arguments.dry_run)
    print(f"{redriven} redriven, {left} left on the queue")
    return 1 if left and not arguments.dry_run else 0


if __name__ == "__main__":
    sys.exit(main())
