"""The outbox: new audit records, from the ledger's stream, have their announcements and workflow starts delivered.

The batch answers with a partial batch response (ReportBatchItemFailures): each failed record's sequence number,
from which Lambda retries the stream. This is what Powertools' BatchProcessor does for DynamoDB streams; written
out here because importing it loads every Powertools event data class and asyncio, about 7% of this function's
cold start (README, Performance).
"""

from controlplane import coldstart  # first: the modules below load with the collector paused

# isort: split
from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.announcer import Announcer
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import bundled_config
from controlplane.env import FunctionEnvironment
from controlplane.errors import BatchFailed
from controlplane.observability import logger, metrics
from controlplane.outbox import deliver


class OutboxEnvironment(FunctionEnvironment):
    LEDGER_TABLE: str
    NOTIFICATION_TOPIC_ARN: str
    EVENT_BUS_NAME: str
    RETRAIN_STATE_MACHINE_ARN: str
    DEPLOY_STATE_MACHINE_ARN: str
    DRIFT_STATE_MACHINE_ARN: str


class Dependencies(NamedTuple):
    ledger: DynamoDbLedger
    announcer: Announcer
    workflows: StepFunctionsWorkflows


@cache
def dependencies() -> Dependencies:
    env = OutboxEnvironment.from_os()
    return Dependencies(
        ledger=DynamoDbLedger(env.LEDGER_TABLE),
        announcer=Announcer(env.NOTIFICATION_TOPIC_ARN, env.EVENT_BUS_NAME, owners=bundled_config().owner_teams()),
        workflows=StepFunctionsWorkflows(
            retrain_state_machine_arn=env.RETRAIN_STATE_MACHINE_ARN,
            deploy_state_machine_arn=env.DEPLOY_STATE_MACHINE_ARN,
            drift_state_machine_arn=env.DRIFT_STATE_MACHINE_ARN,
        ),
    )


def handle_record(record: dict[str, Any]) -> None:
    """One new audit record; raising reports it as failed, so the stream retries from it."""
    pk = str(record.get("dynamodb", {}).get("Keys", {}).get("pk", {}).get("S", ""))
    if not pk.startswith("AUDIT#"):
        return
    deps = dependencies()
    delivery = deliver(pk.removeprefix("AUDIT#"), deps.ledger, deps.announcer, deps.workflows)
    if delivery.delivered:
        metrics.add_metric(name="EffectsDelivered", unit="Count", value=len(delivery.delivered))
    if "sns" in delivery.delivered and delivery.announced is not None:
        announced = delivery.announced
        # One metric per announcement, by event and model: the dashboard's trainings, deployments, rollbacks,
        # incidents and decisions (records of several models share a batch, so each gets its own dimensions).
        with single_metric(name="Announcements", unit=MetricUnit.Count, value=1, namespace=metrics.namespace) as metric:
            metric.add_dimension(name="event", value=announced.detail_type)
            metric.add_dimension(name="model", value=str(announced.detail.get("model", "(none)")))


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event["Records"]
    failed: list[str] = []
    for record in records:
        sequence_number = record["dynamodb"]["SequenceNumber"]
        try:
            handle_record(record)
        except Exception:  # any failure: the stream retries from this record (the delivery is idempotent)
            logger.exception("Record failed; the stream retries from it", extra={"sequence_number": sequence_number})
            failed.append(sequence_number)
    if records and len(failed) == len(records):
        # As Powertools' BatchProcessor: a batch that failed whole fails the invocation (Lambda's Errors metric).
        raise BatchFailed(f"all {len(records)} records of the batch failed; the stream retries them")
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in failed]}


coldstart.handler_loaded()
