"""Pipeline events: a SageMaker Pipeline execution's terminal status resumes the retrain workflow waiting on it."""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.sagemaker import SageMakerPipelines
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.env import FunctionEnvironment
from controlplane.event_parsing import parse_event
from controlplane.events.pipelines import PipelineExecutionStatusChange
from controlplane.observability import logger, metrics
from controlplane.retrain import on_pipeline_status


class PipelineEventsEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str


class Dependencies(NamedTuple):
    ledger: DynamoDbLedger
    workflows: StepFunctionsWorkflows
    pipelines: SageMakerPipelines


@cache
def dependencies() -> Dependencies:
    env = PipelineEventsEnvironment.from_os()
    return Dependencies(
        ledger=DynamoDbLedger(env.LEDGER_TABLE), workflows=StepFunctionsWorkflows(), pipelines=SageMakerPipelines()
    )


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    status_change = parse_event(PipelineExecutionStatusChange, event, "Pipeline Execution Status Change event")
    deps = dependencies()
    outcome = on_pipeline_status(status_change, deps.ledger, deps.workflows, deps.pipelines)
    logger.info("Pipeline status handled", extra={"action": outcome.action, "reason": outcome.reason})
    return outcome.model_dump()


coldstart.handler_loaded()
