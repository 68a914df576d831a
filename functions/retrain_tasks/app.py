"""Tasks of the retrain workflow (statemachines/retrain.asl.json), one domain function per `action`."""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane import retrain
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.env import FunctionEnvironment
from controlplane.failures import StepFailure
from controlplane.observability import logger, metrics
from controlplane.tasks import run_action


class RetrainTasksEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    DATA_BUCKET: str


class Dependencies(NamedTuple):
    config: ControlPlaneConfig
    ledger: DynamoDbLedger
    workflows: StepFunctionsWorkflows
    data_bucket: str


@cache
def dependencies() -> Dependencies:
    env = RetrainTasksEnvironment.from_os()
    return Dependencies(
        config=load_config(env.CONTROLPLANE_CONFIG_PATH),
        ledger=DynamoDbLedger(env.LEDGER_TABLE),
        workflows=StepFunctionsWorkflows(),
        data_bucket=env.DATA_BUCKET,
    )


def _plan(task: dict[str, Any]) -> retrain.RetrainPlan:
    return retrain.RetrainPlan.model_validate(task["plan"])


def prepare(task: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    return retrain.prepare(task["request"], task["execution_name"], deps.config, deps.data_bucket).model_dump()


def check_quiet_period(task: dict[str, Any]) -> dict[str, Any]:
    return retrain.check_quiet_period(_plan(task), dependencies().ledger).model_dump()


def acquire_slot(task: dict[str, Any]) -> dict[str, Any]:
    return retrain.acquire_slot(_plan(task), dependencies().ledger).model_dump()


def record_started(task: dict[str, Any]) -> dict[str, Any]:
    return retrain.record_started(
        _plan(task), task["pipeline_execution_arn"], task["execution_arn"], dependencies().ledger
    ).model_dump()


def await_pipeline(task: dict[str, Any]) -> dict[str, Any]:
    deps = dependencies()
    retrain.await_pipeline(task["task_token"], task["pipeline_execution_arn"], deps.ledger, deps.workflows)
    return {}


def record_outcome(task: dict[str, Any]) -> dict[str, Any]:
    pipeline, reported, failure = task["pipeline"], task["pipeline_outcome"], task["failure"]
    return retrain.record_outcome(
        _plan(task),
        pipeline["arn"] if pipeline else None,
        retrain.PipelineOutcome.model_validate(reported) if reported else None,
        StepFailure.model_validate(failure) if failure else None,
        task["execution_arn"],
        dependencies().ledger,
    ).model_dump()


def record_skipped(task: dict[str, Any]) -> dict[str, Any]:
    slot = retrain.SlotDecision.model_validate(task["slot"])
    retrain.record_skipped(_plan(task), slot, task["execution_arn"], dependencies().ledger)
    return {}


def record_rejected(task: dict[str, Any]) -> dict[str, Any]:
    return retrain.record_rejected(
        task["request"],
        StepFailure.model_validate(task["failure"]),
        task["execution_name"],
        task["execution_arn"],
        dependencies().ledger,
    ).model_dump()


ACTIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    action.__name__: action
    for action in (
        prepare,
        check_quiet_period,
        acquire_slot,
        record_started,
        await_pipeline,
        record_outcome,
        record_skipped,
        record_rejected,
    )
}


@logger.inject_lambda_context(correlation_id_path="execution_name")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_action(ACTIONS, event)


coldstart.handler_loaded()
