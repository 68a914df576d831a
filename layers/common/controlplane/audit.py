"""Recording decisions once and announcing them once, shared by every workflow."""

import json
from typing import Any, Protocol

from controlplane import clock
from controlplane.errors import step_error_message
from controlplane.ports import Announcer, AuditRecord


class RecordingLedger(Protocol):
    def record(self, record: AuditRecord) -> bool: ...


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


def record_and_announce(
    record: AuditRecord,
    detail_type: str,
    ledger: RecordingLedger,
    announcer: Announcer,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Write the record once; announce only on the write that created it, so retries do not re-notify."""
    if not ledger.record(record):
        return False
    announcer.announce(detail_type, summary(record) if detail is None else detail)
    return True


def record_rejected_request(
    request: Any,
    error: dict[str, Any],
    execution_name: str,
    execution_arn: str,
    kind: str,
    detail_type: str,
    subject: str,
    ledger: RecordingLedger,
    announcer: Announcer,
) -> str:
    """Record a request a workflow refused, with the message an operator needs to fix it; returns the message."""
    message = step_error_message(error)
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
    record_and_announce(record, detail_type, ledger, announcer)
    return message
