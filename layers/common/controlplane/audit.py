"""Recording decisions once, with the announcement that must follow them, shared by every workflow.

A record and its announcement are one write: the record carries the announcement, and the outbox
(`controlplane.outbox`, fed by the ledger's stream) delivers it after the write. A task that fails after the
write and is retried finds the record written and changes nothing; the announcement still happens, once.
"""

import json
from typing import Any, Protocol

from controlplane import clock
from controlplane.failures import StepFailure
from controlplane.ports import Announcement, AuditRecord, LedgerWrite


class RecordingLedger(Protocol):
    def record(self, record: AuditRecord, *also: LedgerWrite) -> bool: ...


def summary(record: AuditRecord) -> dict[str, Any]:
    """What an announcement of a record says: its facts and details, without empty fields."""
    facts = {
        "model": record.model,
        "dataset_uri": record.dataset_uri,
        "status": record.status,
        "reason": record.reason,
        "execution_arn": record.execution_arn,
        "pipeline_execution_arn": record.pipeline_execution_arn,
        **record.details,
    }
    return {key: value for key, value in facts.items() if value is not None}


def announced(record: AuditRecord, detail_type: str, detail: dict[str, Any] | None = None) -> AuditRecord:
    """The record, carrying its announcement (by default its summary)."""
    return record._replace(announcement=Announcement(detail_type, summary(record) if detail is None else detail))


def record_and_announce(
    record: AuditRecord,
    detail_type: str,
    ledger: RecordingLedger,
    detail: dict[str, Any] | None = None,
    also: tuple[LedgerWrite, ...] = (),
) -> bool:
    """Write the record (and `also`, atomically) once, with its announcement; True if this call wrote it."""
    return ledger.record(announced(record, detail_type, detail), *also)


def record_rejected_request(
    request: Any,
    failure: StepFailure,
    execution_name: str,
    execution_arn: str,
    kind: str,
    detail_type: str,
    subject: str,
    ledger: RecordingLedger,
) -> str:
    """Record a request a workflow refused, with the message an operator needs to fix it; returns the message."""
    message = failure.message
    record = AuditRecord(
        record_id=f"{execution_name}#{kind}",
        kind=kind,
        model=subject,
        reason=message,
        at=clock.now(),
        status="Rejected",
        execution_arn=execution_arn,
        details={"request": json.dumps(request, default=str)[:1_000]},
    )
    record_and_announce(record, detail_type, ledger)
    return message
