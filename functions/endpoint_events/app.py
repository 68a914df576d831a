"""Endpoint events: a settled endpoint resumes the deploy workflow waiting on it."""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.deploy_triggers import on_endpoint_status
from controlplane.env import FunctionEnvironment
from controlplane.event_parsing import parse_event
from controlplane.events.endpoints import EndpointStateChange
from controlplane.observability import logger, metrics


class EndpointEventsEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str


class Dependencies(NamedTuple):
    ledger: DynamoDbLedger
    workflows: StepFunctionsWorkflows


@cache
def dependencies() -> Dependencies:
    env = EndpointEventsEnvironment.from_os()
    return Dependencies(ledger=DynamoDbLedger(env.LEDGER_TABLE), workflows=StepFunctionsWorkflows())


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse_event(EndpointStateChange, event, "Endpoint State Change event")
    deps = dependencies()
    outcome = on_endpoint_status(change, deps.ledger, deps.workflows)
    logger.info("Endpoint status handled", extra={"action": outcome.action, "reason": outcome.reason})
    return outcome.model_dump()


coldstart.handler_loaded()
