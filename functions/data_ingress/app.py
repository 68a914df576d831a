"""Data ingress: S3 "Object Created" events, batched through SQS, start at most one training per dataset."""

import json
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.env import IngressEnvironment
from controlplane.errors import InvalidRequest
from controlplane.ingress import on_object_created
from controlplane.models import S3ObjectCreated, parse_request, utf8_size
from controlplane.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def dependencies() -> tuple[ControlPlaneConfig, DynamoDbLedger, StepFunctionsWorkflows]:
    env = IngressEnvironment.from_os()
    return (
        load_config(env.CONTROLPLANE_CONFIG_PATH),
        DynamoDbLedger(env.LEDGER_TABLE),
        StepFunctionsWorkflows(env.RETRAIN_STATE_MACHINE_ARN),
    )


def handle_record(record: SQSRecord) -> dict[str, Any]:
    """One EventBridge event; raising leaves the message on the queue (retried, then dead-lettered)."""
    try:
        try:
            payload = json.loads(record.body)
        except (ValueError, RecursionError) as error:  # JSONDecodeError, an oversized number, too deep a nesting
            raise InvalidRequest(f"message body is not JSON ({error}); expected an EventBridge event") from None
        if utf8_size(json.dumps(payload, ensure_ascii=False)) is None:
            raise InvalidRequest("message body escapes a lone UTF-16 surrogate: it is not valid Unicode text")
        event = parse_request(S3ObjectCreated, payload, "S3 Object Created event")
    except InvalidRequest as error:
        logger.warning(
            "Event rejected: retried, then dead-lettered", extra={"message_id": record.message_id, "reason": str(error)}
        )
        raise
    config, ledger, workflows = dependencies()
    outcome = on_object_created(event, config, ledger, workflows)
    metrics.add_metric(name=f"Objects{outcome.action.title().replace('_', '')}", unit="Count", value=1)
    return {"action": outcome.action, "reason": outcome.reason}


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
