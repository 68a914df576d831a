"""Registry events: an approved model package is deployed (that exact version); a rejected serving one rolls back."""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.deploy_triggers import on_model_package_change
from controlplane.env import FunctionEnvironment
from controlplane.event_parsing import parse_event
from controlplane.events.registry import ModelPackageStateChange
from controlplane.observability import logger, metrics


class RegistryEventsEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    DEPLOY_STATE_MACHINE_ARN: str


class Dependencies(NamedTuple):
    config: ControlPlaneConfig
    ledger: DynamoDbLedger
    workflows: StepFunctionsWorkflows


@cache
def dependencies() -> Dependencies:
    env = RegistryEventsEnvironment.from_os()
    return Dependencies(
        config=load_config(env.CONTROLPLANE_CONFIG_PATH),
        ledger=DynamoDbLedger(env.LEDGER_TABLE),
        workflows=StepFunctionsWorkflows(deploy_state_machine_arn=env.DEPLOY_STATE_MACHINE_ARN),
    )


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    change = parse_event(ModelPackageStateChange, event, "Model Package State Change event")
    deps = dependencies()
    outcome = on_model_package_change(change, deps.config, deps.ledger, deps.workflows)
    logger.info("Model package change handled", extra={"action": outcome.action, "reason": outcome.reason})
    return outcome.model_dump()


coldstart.handler_loaded()
