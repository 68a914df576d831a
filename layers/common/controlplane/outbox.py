"""The outbox: the effects a recorded decision carries (SNS, the bus, a workflow start), delivered after the write.

The ledger's stream hands every new audit record to `deliver`. Each effect, in order, is claimed, sent, then marked
delivered: a send that fails puts its claim back and raises, so the stream retries the record (after its retries
the batch goes to a dead-letter queue with an alarm; `scripts/redrive_outbox.py` delivers what is still pending).
The mark is the commit point of a send that cannot be undone, so a failed mark is tried again at once (MARK_ATTEMPTS,
each with botocore's own retries). Only a delivery that dies between its claim and its mark (a Lambda timeout, a
crash, DynamoDB unreachable through every attempt) leaves a claim nobody finishes: after CLAIM_LEASE it is taken
over and sent again, so an announcement may then repeat; each carries its `record_id` for subscribers to spot
that. Starts are idempotent by execution name.
"""

from datetime import timedelta
from typing import Literal

from controlplane import clock
from controlplane.errors import TransientError
from controlplane.observability import logger
from controlplane.ports import Announcement, Announcer, AuditRecord, Effect, Outbox, Workflows
from controlplane.schema import StrictModel

# Longer than the outbox function's timeout: a claim this old belongs to a delivery that died.
CLAIM_LEASE = timedelta(minutes=2)
MARK_ATTEMPTS = 3


class EffectInFlight(TransientError):
    """Another delivery of the record holds one of its effects; the stream retries the record later."""


class Delivery(StrictModel):
    record_id: str
    delivered: list[Effect]
    outcome: Literal["delivered", "nothing_pending", "unknown_record"]
    announced: Announcement | None = None


def deliver(record_id: str, outbox: Outbox, announcer: Announcer, workflows: Workflows) -> Delivery:
    """Deliver the record's pending effects in order: claim, send, mark; a failed send gives its claim back."""
    record = outbox.get_record(record_id)
    if record is None:
        return Delivery(record_id=record_id, delivered=[], outcome="unknown_record")
    delivered: list[Effect] = []
    for effect in record.effects():
        now = clock.now()
        claim = outbox.claim(record_id, effect, now, stale_before=now - CLAIM_LEASE)
        if claim == "delivered":
            continue
        if claim == "in_flight":
            raise EffectInFlight(f"{record_id}: {effect} is being delivered by another invocation")
        try:
            _send(record, effect, announcer, workflows)
        except Exception:
            outbox.release(record_id, effect)
            raise
        _mark(outbox, record_id, effect)
        delivered.append(effect)
    outcome: Literal["delivered", "nothing_pending"] = "delivered" if delivered else "nothing_pending"
    return Delivery(record_id=record_id, delivered=delivered, outcome=outcome, announced=record.announcement)


def _mark(outbox: Outbox, record_id: str, effect: Effect) -> None:
    for attempt in range(1, MARK_ATTEMPTS + 1):
        try:
            outbox.mark_delivered(record_id, effect)
        except Exception:
            if attempt == MARK_ATTEMPTS:
                raise
            logger.warning(
                "Marking a delivered effect failed; trying again", extra={"record": record_id, "effect": effect}
            )
        else:
            return


def _send(record: AuditRecord, effect: Effect, announcer: Announcer, workflows: Workflows) -> None:
    if effect == "sns" and record.announcement is not None:
        announcer.notify(record.announcement, record.record_id)
    elif effect == "bus" and record.announcement is not None:
        announcer.publish(record.announcement, record.record_id)
    elif effect == "start" and record.start is not None:
        result = workflows.start(record.start.workflow, record.start.name, record.start.input)
        logger.info("Workflow started by the outbox", extra={"execution": result.execution_arn, "by": record.record_id})
