"""Data ingress: S3 "Object Created" events, batched through SQS, start at most one training per dataset.

The batch is processed as a whole (one ledger write per quiet-period dataset, see controlplane.ingress), and
answers with the messages that failed (ReportBatchItemFailures): those return to the queue, the others are done.
"""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
import json
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.env import FunctionEnvironment
from controlplane.errors import BatchFailed, InvalidRequest
from controlplane.event_parsing import log_rejected
from controlplane.events.s3 import S3ObjectCreated
from controlplane.ingress import on_batch
from controlplane.models import parse_request, utf8_size
from controlplane.observability import logger, metrics


class IngressEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    RETRAIN_STATE_MACHINE_ARN: str


class Dependencies(NamedTuple):
    config: ControlPlaneConfig
    ledger: DynamoDbLedger
    workflows: StepFunctionsWorkflows


@cache
def dependencies() -> Dependencies:
    env = IngressEnvironment.from_os()
    return Dependencies(
        config=load_config(env.CONTROLPLANE_CONFIG_PATH),
        ledger=DynamoDbLedger(env.LEDGER_TABLE),
        workflows=StepFunctionsWorkflows(env.RETRAIN_STATE_MACHINE_ARN),
    )


def parse_message(body: str) -> S3ObjectCreated:
    """One SQS message body: the EventBridge event; InvalidRequest says what is wrong with it."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as error:  # JSONDecodeError, an oversized number, too deep a nesting
        raise InvalidRequest(f"message body is not JSON ({error}); expected an EventBridge event") from None
    if utf8_size(json.dumps(payload, ensure_ascii=False)) is None:
        raise InvalidRequest("message body escapes a lone UTF-16 surrogate: it is not valid Unicode text")
    return parse_request(S3ObjectCreated, payload, "S3 Object Created event")


def process_batch(records: list[dict[str, Any]]) -> list[str]:
    """The ids of the messages that failed: malformed ones (retried, then dead-lettered) and those of a group
    whose processing failed."""
    failed: list[str] = []
    parsed: list[tuple[str, S3ObjectCreated]] = []
    for record in records:
        try:
            parsed.append((record["messageId"], parse_message(record["body"])))
        except InvalidRequest as error:
            log_rejected(error, message_id=record["messageId"])
            failed.append(record["messageId"])
    if parsed:
        deps = dependencies()
        results = on_batch([event for _, event in parsed], deps.config, deps.ledger, deps.workflows)
        for (message_id, _), result in zip(parsed, results, strict=True):
            if isinstance(result, Exception):
                failed.append(message_id)
            else:
                metrics.add_metric(name=result.metric_name, unit="Count", value=1)
    return failed


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event["Records"]
    failed = process_batch(records)
    if records and len(failed) == len(records):
        # As Powertools' BatchProcessor: a batch that failed whole fails the invocation (Lambda's Errors metric).
        raise BatchFailed(f"all {len(records)} messages of the batch failed; they return to the queue")
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


coldstart.handler_loaded()
