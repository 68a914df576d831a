"""The outbox end to end: records written by the ledger reach SNS and the bus through the ledger's stream."""

import json
from datetime import UTC, datetime

from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.ports import Announcement, AuditRecord, EndpointState
from localcloud.cloud import LocalCloud
from localcloud.report import dead_letters
from tests.e2e.support import NO_DEAD_LETTERS, entries

T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)


def announced(record_id: str) -> AuditRecord:
    return AuditRecord(
        record_id, "DeploymentSucceeded", "churn", "test", T0,
        announcement=Announcement("Deployment Succeeded", {"model": "churn"}),
    )  # fmt: skip


def test_a_cancelled_transaction_does_not_stop_the_outbox(cloud: LocalCloud) -> None:
    ledger = DynamoDbLedger(cloud.ledger_table)
    state = EndpointState("churn-staging", "churn", "staging", serving_version=1)
    assert ledger.record(announced("first"), state) is True
    assert ledger.record(announced("first"), state) is False  # cancelled: the record exists
    assert ledger.record(announced("second"), state) is True
    cloud.settle()

    notified = [json.loads(entry.data["message"])["record_id"] for entry in entries(cloud, "sns")]
    assert notified == ["first", "second"]
    assert [entry.data["detail"]["record_id"] for entry in entries(cloud, "bus")] == ["first", "second"]
    assert ledger.records_with_pending_effects() == []
    assert dead_letters(cloud) == NO_DEAD_LETTERS
