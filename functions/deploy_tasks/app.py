"""Tasks of the deploy workflow (statemachines/deploy.asl.json), one domain function per `action`."""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane import deploy, model_cards
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.sagemaker import ModelRegistry, SageMakerEndpoints, SageMakerModelCards
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.env import FunctionEnvironment
from controlplane.failures import StepFailure
from controlplane.observability import logger, metrics
from controlplane.tasks import run_action


class DeployTasksEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    SAGEMAKER_EXECUTION_ROLE_ARN: str
    AWS_REGION: str
    DECISION_STATE_MACHINE_ARN: str


class Dependencies(NamedTuple):
    config: ControlPlaneConfig
    ledger: DynamoDbLedger
    workflows: StepFunctionsWorkflows
    registry: ModelRegistry
    endpoints: SageMakerEndpoints
    cards: SageMakerModelCards
    region: str
    decision_state_machine_arn: str


@cache
def dependencies() -> Dependencies:
    env = DeployTasksEnvironment.from_os()
    return Dependencies(
        config=load_config(env.CONTROLPLANE_CONFIG_PATH),
        ledger=DynamoDbLedger(env.LEDGER_TABLE),
        workflows=StepFunctionsWorkflows(),
        registry=ModelRegistry(),
        endpoints=SageMakerEndpoints(env.SAGEMAKER_EXECUTION_ROLE_ARN),
        cards=SageMakerModelCards(),
        region=env.AWS_REGION,
        decision_state_machine_arn=env.DECISION_STATE_MACHINE_ARN,
    )


def _plan(task: dict[str, Any]) -> deploy.DeployPlan:
    return deploy.DeployPlan.model_validate(task["plan"])


def prepare(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    account = context.invoked_function_arn.split(":")[4]
    plan = deploy.prepare(
        task["request"], task["execution_name"], deps.config, deps.ledger, deps.registry, deps.region, account
    )
    return plan.model_dump(mode="json")


def acquire_lock(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return deploy.acquire_lock(_plan(task), dependencies().ledger).model_dump()


def evaluate_gate(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    return deploy.evaluate_gate(_plan(task), deps.config, deps.ledger, deps.registry, deps.cards).model_dump()


def create_resources(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return deploy.create_resources(_plan(task), dependencies().endpoints).model_dump()


def await_endpoint(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    deploy.await_endpoint(task["task_token"], task["endpoint_name"], deps.ledger, deps.endpoints, deps.workflows)
    return {}


def verify(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return deploy.verify(_plan(task), dependencies().endpoints).model_dump()


def smoke_test(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return deploy.smoke_test(_plan(task), dependencies().endpoints).model_dump()


def record_deployed(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    return deploy.record_deployed(
        _plan(task), task["execution_arn"], deps.config, deps.ledger, gate=task.get("gate")
    ).model_dump()


def ask_approval(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    deploy.ask_approval(
        task["task_token"], _plan(task), task["execution_arn"], deps.decision_state_machine_arn, deps.ledger
    )
    return {}


def apply_approval(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = deploy.apply_approval(_plan(task), task.get("answer"), task["execution_arn"], dependencies().ledger)
    return plan.model_dump(mode="json")


def document_model(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    return model_cards.document_model(_plan(task), deps.config, deps.ledger, deps.registry, deps.cards).model_dump()


def decide_rollback(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    return deploy.decide_rollback(_plan(task), deps.ledger, deps.endpoints).model_dump()


def record_failed(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    failure = StepFailure.model_validate(task["failure"])
    return deploy.record_failed(
        _plan(task), failure, task["execution_arn"], deps.ledger, deps.endpoints, gate=task.get("gate")
    ).model_dump()


def record_promotion_failed(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    failure = StepFailure.model_validate(task["failure"])
    return deploy.record_promotion_failed(_plan(task), failure, task["execution_arn"], deps.ledger)


def record_rejected(task: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    return deploy.record_rejected(
        task["request"],
        StepFailure.model_validate(task["failure"]),
        task["execution_name"],
        task["execution_arn"],
        deps.ledger,
    )


ACTIONS: dict[str, Callable[[dict[str, Any], LambdaContext], dict[str, Any]]] = {
    action.__name__: action
    for action in (
        prepare,
        acquire_lock,
        evaluate_gate,
        create_resources,
        await_endpoint,
        verify,
        smoke_test,
        ask_approval,
        apply_approval,
        record_deployed,
        document_model,
        decide_rollback,
        record_failed,
        record_promotion_failed,
        record_rejected,
    )
}


@logger.inject_lambda_context(correlation_id_path="execution_name")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_action(ACTIONS, event, context)


coldstart.handler_loaded()
