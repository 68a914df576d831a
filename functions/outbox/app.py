"""The outbox: new audit records, from the ledger's stream, have their announcements and workflow starts delivered."""

from functools import cache
from typing import Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from controlplane.adapters.announcer import Announcer
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import bundled_config
from controlplane.env import OutboxEnvironment
from controlplane.observability import logger, metrics
from controlplane.outbox import deliver

processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


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


def handle_record(record: DynamoDBRecord) -> dict[str, Any]:
    """One new audit record; raising reports it as failed, so the stream retries from it."""
    keys = record.dynamodb.keys if record.dynamodb else None
    pk = str((keys or {}).get("pk", ""))
    if not pk.startswith("AUDIT#"):
        return {"outcome": "not_a_record"}
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
    return delivery.model_dump()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
