"""Endpoint events: a settled endpoint resumes the deploy workflow waiting on it."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.deploy import on_endpoint_status
from controlplane.env import EndpointEventsEnvironment
from controlplane.errors import InvalidRequest
from controlplane.models import EndpointStateChange, parse_request
from controlplane.observability import logger, metrics, tracer


@cache
def dependencies() -> tuple[DynamoDbLedger, StepFunctionsWorkflows]:
    env = EndpointEventsEnvironment.from_os()
    return DynamoDbLedger(env.LEDGER_TABLE), StepFunctionsWorkflows()


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        change = parse_request(EndpointStateChange, event, "Endpoint State Change event")
    except InvalidRequest as error:
        logger.warning("Event rejected: retried, then dead-lettered", extra={"reason": str(error)})
        raise
    outcome = on_endpoint_status(change, *dependencies())
    logger.info("Endpoint status handled", extra={"action": outcome.action, "reason": outcome.reason})
    return outcome.model_dump()
