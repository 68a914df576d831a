"""Drift signals: CloudWatch alarms, Model Monitor runs and custom "Drift Detected" events become one
`DriftSignal`; a new incident starts the drift workflow, the rest is recorded as evidence."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane import drift
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.sagemaker import MonitoringReports
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.env import DriftSignalsEnvironment
from controlplane.errors import InvalidRequest
from controlplane.models import AlarmStateChange, DriftDetected, ProcessingJobStateChange, parse_request
from controlplane.observability import logger, metrics, tracer


@dataclass(frozen=True)
class Dependencies:
    config: ControlPlaneConfig
    ledger: DynamoDbLedger
    reports: MonitoringReports
    data_bucket: str


@cache
def dependencies() -> Dependencies:
    env = DriftSignalsEnvironment.from_os()
    return Dependencies(
        load_config(env.CONTROLPLANE_CONFIG_PATH),
        DynamoDbLedger(env.LEDGER_TABLE),
        MonitoringReports(frozenset({env.DATA_BUCKET, env.SAGEMAKER_DEFAULT_BUCKET})),
        env.DATA_BUCKET,
    )


def to_signal(event: dict[str, Any]) -> drift.DriftSignal | None:
    """The signal an event carries, None when it concerns nothing under control; InvalidRequest when malformed."""
    deps = dependencies()
    config, reports = deps.config, deps.reports
    match event.get("detail-type"):
        case "CloudWatch Alarm State Change":
            return drift.signal_from_alarm(parse_request(AlarmStateChange, event, "Alarm State Change event"), config)
        case "SageMaker Processing Job State Change":
            job = parse_request(ProcessingJobStateChange, event, "Processing Job State Change event")
            return drift.signal_from_monitoring(job, reports)
        case "Drift Detected":
            return drift.signal_from_custom(parse_request(DriftDetected, event, "Drift Detected event"))
    raise InvalidRequest(f"Not a drift signal: detail-type {event.get('detail-type')!r}")


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        signal = to_signal(event)
    except InvalidRequest as error:
        logger.warning("Event rejected: retried, then dead-lettered", extra={"reason": str(error)})
        raise
    if signal is None:
        logger.debug("Not a signal about a model under control", extra={"detail_type": event.get("detail-type")})
        return {"action": "ignored", "reason": "not about a model under control"}
    deps = dependencies()
    outcome = drift.on_signal(signal, deps.config, deps.ledger, deps.data_bucket)
    logger.info("Drift signal handled", extra={"action": outcome.action, "reason": outcome.reason})
    return outcome.model_dump()
