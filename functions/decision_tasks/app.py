"""Tasks of the decision workflow (statemachines/decision.asl.json): a human's answer resumes a drift workflow.

The only function allowed to send task success to the drift workflow (see template.yaml)."""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane import decisions
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.env import FunctionEnvironment
from controlplane.failures import StepFailure
from controlplane.observability import logger, metrics
from controlplane.tasks import run_action


class DecisionTasksEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    DATA_BUCKET: str


class Dependencies(NamedTuple):
    config: ControlPlaneConfig
    ledger: DynamoDbLedger
    workflows: StepFunctionsWorkflows
    data_bucket: str


@cache
def dependencies() -> Dependencies:
    env = DecisionTasksEnvironment.from_os()
    return Dependencies(
        config=load_config(env.CONTROLPLANE_CONFIG_PATH),
        ledger=DynamoDbLedger(env.LEDGER_TABLE),
        workflows=StepFunctionsWorkflows(),
        data_bucket=env.DATA_BUCKET,
    )


def answer(task: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    outcome = decisions.answer(
        task["request"], task["execution_arn"], deps.config, deps.data_bucket, deps.ledger, deps.workflows
    )
    return outcome.model_dump()


def record_rejected(task: dict[str, Any]) -> dict[str, Any]:
    return decisions.record_rejected(
        task["request"],
        StepFailure.model_validate(task["failure"]),
        task["execution_name"],
        task["execution_arn"],
        dependencies().ledger,
    )


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    action.__name__: action for action in (answer, record_rejected)
}


@logger.inject_lambda_context(correlation_id_path="execution_name")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_action(ACTIONS, event)


coldstart.handler_loaded()
