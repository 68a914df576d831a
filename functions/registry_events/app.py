"""Registry events: an approved model package is deployed (that exact version); a rejected serving one rolls back."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.deploy import on_model_package_change
from controlplane.env import RegistryEventsEnvironment
from controlplane.errors import InvalidRequest
from controlplane.models import ModelPackageStateChange, parse_request
from controlplane.observability import logger, metrics, tracer


@cache
def dependencies() -> tuple[ControlPlaneConfig, DynamoDbLedger, StepFunctionsWorkflows]:
    env = RegistryEventsEnvironment.from_os()
    return (
        load_config(env.CONTROLPLANE_CONFIG_PATH),
        DynamoDbLedger(env.LEDGER_TABLE),
        StepFunctionsWorkflows(deploy_state_machine_arn=env.DEPLOY_STATE_MACHINE_ARN),
    )


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        change = parse_request(ModelPackageStateChange, event, "Model Package State Change event")
    except InvalidRequest as error:
        logger.warning("Event rejected: retried, then dead-lettered", extra={"reason": str(error)})
        raise
    outcome = on_model_package_change(change, *dependencies())
    logger.info("Model package change handled", extra={"action": outcome.action, "reason": outcome.reason})
    return outcome.model_dump()
