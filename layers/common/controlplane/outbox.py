"""The outbox: the effects a recorded decision carries (SNS, the bus, a workflow start), delivered after the write.

The ledger's stream hands every new audit record to `deliver`. Each effect is delivered, then marked delivered
on the record, one at a time: a failure leaves the rest pending and raises, so the stream retries the record
(and, after its retries, the batch goes to a dead-letter queue with an alarm; `scripts/redrive_outbox.py`
delivers what is still pending). Starts are idempotent by execution name; an announcement is repeated only if
the process dies between sending it and marking it, and carries its `record_id` for subscribers to spot that.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from controlplane.observability import logger
from controlplane.ports import Announcer, Effect, Outbox, Workflows


class Delivery(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    record_id: str
    delivered: list[Effect]
    outcome: Literal["delivered", "nothing_pending", "unknown_record"]


def deliver(record_id: str, outbox: Outbox, announcer: Announcer, workflows: Workflows) -> Delivery:
    """Deliver the record's pending effects in order, marking each once it is done."""
    record = outbox.get_record(record_id)
    if record is None:
        return Delivery(record_id=record_id, delivered=[], outcome="unknown_record")
    pending = outbox.pending_effects(record_id)
    delivered: list[Effect] = []
    for effect in record.effects():
        if effect not in pending:
            continue
        if effect == "sns" and record.announcement is not None:
            announcer.notify(record.announcement, record_id)
        elif effect == "bus" and record.announcement is not None:
            announcer.publish(record.announcement, record_id)
        elif effect == "start" and record.start is not None:
            result = workflows.start(record.start.workflow, record.start.name, record.start.input)
            logger.info("Workflow started by the outbox", extra={"execution": result.execution_arn, "by": record_id})
        outbox.mark_delivered(record_id, effect)
        delivered.append(effect)
    return Delivery(record_id=record_id, delivered=delivered, outcome="delivered" if delivered else "nothing_pending")
