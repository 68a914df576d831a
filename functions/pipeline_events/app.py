"""Pipeline events: a SageMaker Pipeline execution's terminal status resumes the retrain workflow waiting on it."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.sagemaker import SageMakerPipelines
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.env import PipelineEventsEnvironment
from controlplane.models import PipelineExecutionStatusChange, parse_request
from controlplane.observability import logger, metrics, tracer
from controlplane.retrain import on_pipeline_status


@cache
def dependencies() -> tuple[DynamoDbLedger, StepFunctionsWorkflows, SageMakerPipelines]:
    env = PipelineEventsEnvironment.from_os()
    return DynamoDbLedger(env.LEDGER_TABLE), StepFunctionsWorkflows(), SageMakerPipelines()


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    status_change = parse_request(PipelineExecutionStatusChange, event, "Pipeline Execution Status Change event")
    outcome = on_pipeline_status(status_change, *dependencies())
    logger.info("Pipeline status handled", extra={"action": outcome.action, "reason": outcome.reason})
    return outcome.model_dump()
