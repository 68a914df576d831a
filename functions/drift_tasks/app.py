"""Tasks of the drift workflow (statemachines/drift.asl.json), one domain function per `action`."""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane import drift
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.env import FunctionEnvironment
from controlplane.failures import StepFailure
from controlplane.observability import logger, metrics
from controlplane.tasks import run_action


class DriftTasksEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    DATA_BUCKET: str
    DECISION_STATE_MACHINE_ARN: str


class Dependencies(NamedTuple):
    config: ControlPlaneConfig
    ledger: DynamoDbLedger
    data_bucket: str
    decision_state_machine_arn: str


@cache
def dependencies() -> Dependencies:
    env = DriftTasksEnvironment.from_os()
    return Dependencies(
        config=load_config(env.CONTROLPLANE_CONFIG_PATH),
        ledger=DynamoDbLedger(env.LEDGER_TABLE),
        data_bucket=env.DATA_BUCKET,
        decision_state_machine_arn=env.DECISION_STATE_MACHINE_ARN,
    )


def _context(task: dict[str, Any]) -> drift.DriftContext:
    return drift.DriftContext.model_validate(task["context"])


def _decision(task: dict[str, Any]) -> drift.Decision:
    return drift.Decision.model_validate(task["decision"])


def prepare(task: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    context = drift.prepare(task["request"], task["execution_name"], deps.config, deps.data_bucket, deps.ledger)
    return context.model_dump(mode="json")


def decide(task: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    context = _context(task)
    policy = deps.config.model(context.model).effective_drift_policy()
    return drift.decide_response(context, policy, deps.ledger).model_dump(mode="json")


def ask_human(task: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    drift.ask_human(
        task["task_token"],
        _context(task),
        _decision(task),
        task["execution_arn"],
        deps.decision_state_machine_arn,
        deps.ledger,
    )
    return {}


def apply_answer(task: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    problem = StepFailure.model_validate(task["problem"]) if task.get("problem") else None
    decision = drift.apply_answer(
        _context(task), _decision(task), task.get("answer"), deps.config, deps.ledger, problem
    )
    return decision.model_dump(mode="json")


def record_decision(task: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    context = _context(task)
    policy = deps.config.model(context.model).effective_drift_policy()
    drift.record_decision(context, _decision(task), policy, task["execution_arn"], deps.ledger)
    return {}


def record_failure(task: dict[str, Any]) -> dict[str, Any]:
    failure = StepFailure.model_validate(task["failure"])
    return drift.record_failure(_context(task), failure, task["execution_arn"], dependencies().ledger)


def record_rejected(task: dict[str, Any]) -> dict[str, Any]:
    return drift.record_rejected(
        task["request"],
        StepFailure.model_validate(task["failure"]),
        task["execution_name"],
        task["execution_arn"],
        dependencies().ledger,
    )


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    action.__name__: action
    for action in (prepare, decide, ask_human, apply_answer, record_decision, record_failure, record_rejected)
}


@logger.inject_lambda_context(correlation_id_path="execution_name")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_action(ACTIONS, event)


coldstart.handler_loaded()
