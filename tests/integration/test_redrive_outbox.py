"""scripts/redrive_outbox.py against moto: what the outbox still owes is delivered once, then the DLQ is emptied."""

import json
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws
from moto.sns.models import sns_backends

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.ports import Announcement, AuditRecord, WorkflowStart
from localcloud.cloud import ROOT
from localcloud.template import load_template
from scripts.redrive_outbox import redrive

REGION = "us-east-1"
T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)
PASS = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.fixture
def stack(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    table = load_template(ROOT / "template.yaml")["Resources"]["LedgerTable"]["Properties"]
    with mock_aws():
        boto3.client("dynamodb").create_table(
            TableName="ledger", AttributeDefinitions=table["AttributeDefinitions"], KeySchema=table["KeySchema"],
            GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"], BillingMode=table["BillingMode"],
        )  # fmt: skip
        role = "arn:aws:iam::123456789012:role/states"
        sfn = boto3.client("stepfunctions")
        machines = {
            f"{name.title()}StateMachineArn": sfn.create_state_machine(name=name, definition=PASS, roleArn=role)[
                "stateMachineArn"
            ]
            for name in ("retrain", "deploy", "drift")
        }
        boto3.client("events").create_event_bus(Name="controlplane")
        outputs = {
            "LedgerTableName": "ledger",
            "NotificationTopicArn": boto3.client("sns").create_topic(Name="notifications")["TopicArn"],
            "ControlPlaneBusName": "controlplane",
            "OutboxDeadLetterQueueUrl": boto3.client("sqs").create_queue(QueueName="outbox-dlq")["QueueUrl"],
            **machines,
        }
        yield outputs


def test_redrive_delivers_what_is_pending_once_and_empties_the_dead_letter_queue(stack):
    ledger = DynamoDbLedger("ledger")
    ledger.record(
        AuditRecord(
            "exec#Decided", "DriftResponseDecided", "churn", "r", T0,
            announcement=Announcement("Drift Response Decided", {"model": "churn"}),
            start=WorkflowStart("retrain", "retrain-churn-drift-1", {"model": "churn"}),
        )
    )  # fmt: skip
    ledger.claim("exec#Decided", "sns", T0, T0)  # the stream delivered SNS before it gave up
    ledger.mark_delivered("exec#Decided", "sns")
    boto3.client("sqs").send_message(
        QueueUrl=stack["OutboxDeadLetterQueueUrl"], MessageBody='{"DDBStreamBatchInfo": {}}'
    )
    session = boto3.Session(region_name=REGION)

    listed = redrive(session, stack, None, dry_run=True)
    report = redrive(session, stack, None, dry_run=False)
    again = redrive(session, stack, None, dry_run=False)

    assert listed["delivered"] == {"exec#Decided": ["bus", "start"]}
    assert report == {"pending_records": 1, "delivered": {"exec#Decided": ["bus", "start"]}, "failed": {}}
    assert again["pending_records"] == 0
    executions = boto3.client("stepfunctions").list_executions(stateMachineArn=stack["RetrainStateMachineArn"])
    assert [execution["name"] for execution in executions["executions"]] == ["retrain-churn-drift-1"]
    assert sns_backends["123456789012"][REGION].topics[stack["NotificationTopicArn"]].sent_notifications == []
    assert "Messages" not in boto3.client("sqs").receive_message(QueueUrl=stack["OutboxDeadLetterQueueUrl"])
