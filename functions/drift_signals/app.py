"""Drift signals: CloudWatch alarms, Model Monitor runs and custom "Drift Detected" events become one
`DriftSignal`; a new incident starts the drift workflow, the rest is recorded as evidence."""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane import drift_signals
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.sagemaker import MonitoringReports
from controlplane.config import ControlPlaneConfig, load_config
from controlplane.drift_config import DriftSignal
from controlplane.env import FunctionEnvironment
from controlplane.errors import InvalidRequest
from controlplane.event_parsing import log_rejected, parse_event
from controlplane.events.monitoring import AlarmStateChange, DriftDetected, ProcessingJobStateChange
from controlplane.observability import logger, metrics


class DriftSignalsEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    DATA_BUCKET: str
    SAGEMAKER_DEFAULT_BUCKET: str


class Dependencies(NamedTuple):
    config: ControlPlaneConfig
    ledger: DynamoDbLedger
    reports: MonitoringReports
    data_bucket: str


@cache
def dependencies() -> Dependencies:
    env = DriftSignalsEnvironment.from_os()
    return Dependencies(
        config=load_config(env.CONTROLPLANE_CONFIG_PATH),
        ledger=DynamoDbLedger(env.LEDGER_TABLE),
        reports=MonitoringReports(frozenset({env.DATA_BUCKET, env.SAGEMAKER_DEFAULT_BUCKET})),
        data_bucket=env.DATA_BUCKET,
    )


def to_signal(event: dict[str, Any]) -> DriftSignal | None:
    """The signal an event carries, None when it concerns nothing under control; InvalidRequest (logged) when
    malformed."""
    deps = dependencies()
    match event.get("detail-type"):
        case "CloudWatch Alarm State Change":
            alarm = parse_event(AlarmStateChange, event, "Alarm State Change event")
            return drift_signals.signal_from_alarm(alarm, deps.config)
        case "SageMaker Processing Job State Change":
            job = parse_event(ProcessingJobStateChange, event, "Processing Job State Change event")
            return drift_signals.signal_from_monitoring(job, deps.reports)
        case "Drift Detected":
            return drift_signals.signal_from_custom(parse_event(DriftDetected, event, "Drift Detected event"))
    error = InvalidRequest(f"Not a drift signal: detail-type {event.get('detail-type')!r}")
    log_rejected(error)
    raise error


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    signal = to_signal(event)
    if signal is None:
        logger.debug("Not a signal about a model under control", extra={"detail_type": event.get("detail-type")})
        return {"action": "ignored", "reason": "not about a model under control"}
    deps = dependencies()
    outcome = drift_signals.on_signal(signal, deps.config, deps.ledger, deps.data_bucket)
    logger.info("Drift signal handled", extra={"action": outcome.action, "reason": outcome.reason})
    return outcome.model_dump()


coldstart.handler_loaded()
