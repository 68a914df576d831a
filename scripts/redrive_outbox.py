"""Deliver the effects that recorded decisions still owe (after the outbox's stream gave up on them).

The outbox's dead-letter queue (OutboxDeadLetterQueue, alarmed) holds only batch metadata: the ledger itself
knows what is pending. This command finds every audit record with undelivered effects, delivers them as the
outbox does (each effect once, marked as it goes), and then empties the dead-letter queue:

    python scripts/redrive_outbox.py --stack mlops-control-plane [--dry-run] [--region R] [--profile P]

It reads the stack's outputs (LedgerTableName, NotificationTopicArn, ControlPlaneBusName, the state machine ARNs
and OutboxDeadLetterQueueUrl); `--endpoint-url` points it at the served local cloud.
"""

import argparse
import json
import sys
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from controlplane.adapters.announcer import Announcer
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.config import bundled_config
from controlplane.outbox import deliver

_OUTPUTS = (
    "LedgerTableName",
    "NotificationTopicArn",
    "ControlPlaneBusName",
    "RetrainStateMachineArn",
    "DeployStateMachineArn",
    "DriftStateMachineArn",
    "OutboxDeadLetterQueueUrl",
)


def stack_outputs(session: boto3.Session, stack: str, endpoint_url: str | None) -> dict[str, str]:
    described = session.client("cloudformation", endpoint_url=endpoint_url).describe_stacks(StackName=stack)
    outputs = {item["OutputKey"]: item["OutputValue"] for item in described["Stacks"][0].get("Outputs", [])}
    missing = [name for name in _OUTPUTS if name not in outputs]
    if missing:
        raise SystemExit(f"Stack '{stack}' lacks output(s) {', '.join(missing)}: deploy the current template.yaml")
    return outputs


def redrive(session: boto3.Session, outputs: dict[str, str], endpoint_url: str | None, dry_run: bool) -> dict[str, Any]:
    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    ledger = DynamoDbLedger(outputs["LedgerTableName"], client("dynamodb"))
    pending = ledger.records_with_pending_effects()
    report: dict[str, Any] = {"pending_records": len(pending), "delivered": {}, "failed": {}}
    if dry_run:
        report["delivered"] = {record_id: sorted(ledger.pending_effects(record_id)) for record_id in pending}
        return report
    announcer = Announcer(
        outputs["NotificationTopicArn"],
        outputs["ControlPlaneBusName"],
        sns=client("sns"),
        events=client("events"),
        owners=bundled_config().owner_teams(),
    )
    workflows = StepFunctionsWorkflows(
        outputs["RetrainStateMachineArn"],
        outputs["DeployStateMachineArn"],
        client("stepfunctions"),
        outputs["DriftStateMachineArn"],
    )
    for record_id in pending:
        try:
            report["delivered"][record_id] = deliver(record_id, ledger, announcer, workflows).delivered
        except (ClientError, BotoCoreError, RuntimeError) as error:
            report["failed"][record_id] = str(error)
    if not report["failed"]:
        sqs, queue = client("sqs"), outputs["OutboxDeadLetterQueueUrl"]
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", required=True, help="the control plane's CloudFormation stack")
    parser.add_argument("--region")
    parser.add_argument("--profile")
    parser.add_argument("--endpoint-url", help="e.g. the served local cloud")
    parser.add_argument("--dry-run", action="store_true", help="list what is pending; deliver nothing")
    args = parser.parse_args(argv)
    session = boto3.Session(region_name=args.region, profile_name=args.profile)
    try:
        report = redrive(
            session, stack_outputs(session, args.stack, args.endpoint_url), args.endpoint_url, args.dry_run
        )
    except (ClientError, BotoCoreError) as error:
        print(f"redrive failed: {error}", file=sys.stderr)
        return 1
    print(json.dumps(report, indent=2, sort_keys=True))
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
