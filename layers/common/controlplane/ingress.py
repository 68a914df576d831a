"""Data arrival: turn one S3 "Object Created" event into at most one retrain workflow per dataset."""

from dataclasses import dataclass
from typing import Literal

from controlplane import clock
from controlplane.config import ControlPlaneConfig
from controlplane.datasets import classify_object
from controlplane.models import RetrainRequest, S3ObjectCreated
from controlplane.naming import digest, retrain_execution_name
from controlplane.observability import logger
from controlplane.ports import AuditRecord, Ledger, Workflows


@dataclass(frozen=True)
class ArrivalOutcome:
    action: Literal["ignored", "rejected", "waiting", "started", "already_started"]
    reason: str
    model: str | None = None
    dataset_uri: str | None = None
    execution_arn: str | None = None


def on_object_created(
    event: S3ObjectCreated, config: ControlPlaneConfig, ledger: Ledger, workflows: Workflows
) -> ArrivalOutcome:
    """Start the model's retrain workflow when a dataset is complete (marker) or starts arriving (quiet period).

    Execution names are deterministic per dataset, so duplicate or repeated events start nothing new.
    """
    s3_object = event.detail.object
    decision = classify_object(config, event.detail.bucket.name, s3_object.key, s3_object.size)
    if decision.action == "reject":
        return _reject(event, decision.reason, decision.model.name if decision.model else None, ledger)
    if decision.action == "ignore" or decision.dataset is None or decision.model is None:
        logger.debug("Object ignored", extra={"key": s3_object.key, "reason": decision.reason})
        return ArrivalOutcome("ignored", decision.reason, decision.model.name if decision.model else None)

    dataset, model = decision.dataset, decision.model
    if decision.action == "touch":
        state = ledger.touch_dataset(model.name, dataset.uri, clock.now())
        if state.execution_arn is not None:
            reason = f"object {state.object_count} of a dataset still arriving; its workflow waits for quiet"
            logger.debug("Object recorded", extra={"key": s3_object.key, "reason": reason})
            return ArrivalOutcome("waiting", reason, model.name, dataset.uri)
        reason = f"quiet period of {model.data_trigger.quiet_period_seconds}s after the last object"
    else:
        reason = decision.reason

    request = RetrainRequest(
        model=model.name, dataset_uri=dataset.uri, reason=reason, wait_for_quiet_period=decision.action == "touch"
    )
    name = retrain_execution_name(model.name, dataset.uri)
    result = workflows.start_retrain(name, request.model_dump(exclude_none=True))
    # Written however the start answered, and before the dataset is marked started (after which later objects
    # only wait): a retry after a failed write finds the execution there and must still leave the request in the
    # ledger. The write-once record tells a first start from a repeat.
    first = ledger.record(
        AuditRecord(
            record_id=f"{name}#requested",
            kind="TrainingRequested",
            model=model.name,
            reason=reason,
            at=clock.now(),
            dataset_uri=dataset.uri,
            event_id=event.id,
            execution_arn=result.execution_arn,
            details={"key": s3_object.key},
        )
    )
    if decision.action == "touch":
        ledger.mark_dataset_started(model.name, dataset.uri, result.execution_arn)
    outcome: Literal["started", "already_started"] = (
        "started" if result.outcome == "started" and first else "already_started"
    )
    logger.info(
        "Retrain workflow " + outcome.replace("_", " "),
        extra={"model": model.name, "dataset_uri": dataset.uri, "execution_arn": result.execution_arn},
    )
    return ArrivalOutcome(outcome, reason, model.name, dataset.uri, result.execution_arn)


KEY_EXCERPT_CHARACTERS = 200
"""How much of a rejected key the log and the ledger keep (a rejected key may be longer than any key may be)."""


def _reject(event: S3ObjectCreated, reason: str, model: str | None, ledger: Ledger) -> ArrivalOutcome:
    """Record an object the control plane cannot train on, once per object event, with the reason."""
    bucket, s3_object = event.detail.bucket.name, event.detail.object
    printable = s3_object.key.encode("utf-8", "replace").decode("utf-8")
    excerpt = printable[:KEY_EXCERPT_CHARACTERS] + ("…" if len(printable) > KEY_EXCERPT_CHARACTERS else "")
    logger.warning("Object rejected", extra={"bucket": bucket, "key": excerpt, "reason": reason})
    ledger.record(
        AuditRecord(
            record_id=f"object-rejected-{digest(bucket, printable, s3_object.sequencer or event.id)}",
            kind="ObjectRejected",
            model=model or "(no model)",
            reason=reason,
            at=clock.now(),
            event_id=event.id,
            details={"bucket": bucket, "key": excerpt},
        )
    )
    return ArrivalOutcome("rejected", reason, model)
