"""Data arrival: turn S3 "Object Created" events, a batch at a time, into at most one retrain workflow per dataset.

A batch's objects of one quiet-period dataset are recorded with one ledger write (their count, latest arrival and
highest sequencer), not one per object: a burst into one dataset must not make its ledger item a hot key. The batch
that starts a dataset's workflow writes its item once too: arrivals, started mark and request in one transaction,
the start delivered by the outbox.
"""

from collections.abc import Sequence
from typing import Literal, NamedTuple

from controlplane import clock
from controlplane.config import ControlPlaneConfig, ModelConfig
from controlplane.datasets import Dataset, ObjectDecision, classify_object, sequencer_order
from controlplane.events.s3 import S3ObjectCreated
from controlplane.naming import digest, retrain_execution_name, training_lineage
from controlplane.observability import logger
from controlplane.ports import AuditRecord, DatasetArrivals, Ledger, Workflows, WorkflowStart
from controlplane.requests import RetrainRequest

ArrivalAction = Literal["ignored", "rejected", "waiting", "started", "already_started"]


class ArrivalOutcome(NamedTuple):
    action: ArrivalAction
    reason: str
    model: str | None = None
    dataset_uri: str | None = None
    execution_arn: str | None = None

    @property
    def metric_name(self) -> str:
        """The EMF metric counting objects by what became of them: ObjectsStarted, ObjectsAlreadyStarted, ..."""
        return objects_metric_name(self.action)


def objects_metric_name(action: ArrivalAction) -> str:
    return "Objects" + action.title().replace("_", "")


class ArrivalGroup(NamedTuple):
    """Events of one batch that one decision covers: every object of one quiet-period dataset, else one event."""

    decision: ObjectDecision
    events: tuple[S3ObjectCreated, ...]
    positions: tuple[int, ...]
    """Where each event is in the batch."""


def group_arrivals(events: Sequence[S3ObjectCreated], config: ControlPlaneConfig) -> list[ArrivalGroup]:
    """Classify a batch's events; the objects of each quiet-period dataset form one group, in batch order."""
    groups: list[ArrivalGroup] = []
    arriving: dict[str, tuple[ObjectDecision, list[S3ObjectCreated], list[int]]] = {}
    for position, event in enumerate(events):
        s3_object = event.detail.object
        decision = classify_object(config, event.detail.bucket.name, s3_object.key, s3_object.size)
        if decision.action == "touch" and decision.dataset is not None:
            _, members, places = arriving.setdefault(decision.dataset.uri, (decision, [], []))
            members.append(event)
            places.append(position)
        else:
            groups.append(ArrivalGroup(decision, (event,), (position,)))
    groups += [ArrivalGroup(d, tuple(members), tuple(places)) for d, members, places in arriving.values()]
    return sorted(groups, key=lambda group: group.positions[0])


def on_batch(
    events: Sequence[S3ObjectCreated], config: ControlPlaneConfig, ledger: Ledger, workflows: Workflows
) -> list[ArrivalOutcome | Exception]:
    """One SQS batch: per event, its outcome or the error that failed it. Groups are independent: an error fails
    the events of its group only (their messages are retried), as Powertools' BatchProcessor fails one record."""
    results: dict[int, ArrivalOutcome | Exception] = {}
    for group in group_arrivals(events, config):
        outcomes: list[ArrivalOutcome | Exception]
        try:
            outcomes = list(on_arrivals(group, ledger, workflows))
        except Exception as error:  # any failure, as a failed record in BatchProcessor; logged with its group
            uri = group.decision.dataset.uri if group.decision.dataset else None
            logger.exception("Objects failed: retried", extra={"dataset_uri": uri, "objects": len(group.events)})
            outcomes = [error] * len(group.events)
        results.update(zip(group.positions, outcomes, strict=True))
    return [results[position] for position in range(len(events))]


def on_object_created(
    event: S3ObjectCreated, config: ControlPlaneConfig, ledger: Ledger, workflows: Workflows
) -> ArrivalOutcome:
    """One event on its own (a batch of one)."""
    (group,) = group_arrivals([event], config)
    return on_arrivals(group, ledger, workflows)[0]


def on_arrivals(group: ArrivalGroup, ledger: Ledger, workflows: Workflows) -> list[ArrivalOutcome]:
    """Start the model's retrain workflow when a dataset is complete (marker) or starts arriving (quiet period);
    one outcome per event of the group.

    Execution names are deterministic per dataset, so duplicate or repeated events start nothing new. A
    quiet-period group costs one read and one write of its dataset's item for all its objects, also in the batch
    that starts the workflow (a transaction with the request). Only when that transaction loses a race is the
    item written twice: arrivals first, then the started mark, after the request record.
    """
    decision, event = group.decision, group.events[0]
    s3_object = event.detail.object
    if decision.action == "reject":
        return [_reject(event, decision.reason, decision.model.name if decision.model else None, ledger)]
    if decision.action == "ignore" or decision.dataset is None or decision.model is None:
        logger.debug("Object ignored", extra={"key": s3_object.key, "reason": decision.reason})
        return [ArrivalOutcome("ignored", decision.reason, decision.model.name if decision.model else None)]

    dataset, model = decision.dataset, decision.model
    waiting: list[ArrivalOutcome] = []
    if decision.action == "touch":
        arrivals = _arrivals(model.name, dataset.uri, group.events)
        known = ledger.get_dataset(model.name, dataset.uri)
        if known is None or known.execution_arn is None:
            started = _start_with_arrivals(model, dataset, event, arrivals, ledger, workflows)
            if started is not None:
                count = arrivals.objects + (known.object_count if known else 0)
                _log_recorded(dataset.uri, len(group.events), count)
                return [started] + [_waiting(model.name, dataset.uri, count)] * (len(group.events) - 1)
        state = ledger.record_arrivals(arrivals)
        waiting = [_waiting(model.name, dataset.uri, state.object_count)] * len(group.events)
        _log_recorded(dataset.uri, len(group.events), state.object_count)
        if state.execution_arn is not None:
            return waiting
        reason = _quiet_period_reason(model)
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
    first = ledger.record(_training_requested(name, model.name, dataset.uri, reason, event, result.execution_arn))
    if decision.action == "touch":
        ledger.mark_dataset_started(model.name, dataset.uri, result.execution_arn)
    outcome: Literal["started", "already_started"] = (
        "started" if result.outcome == "started" and first else "already_started"
    )
    logger.info(
        "Retrain workflow " + outcome.replace("_", " "),
        extra={"model": model.name, "dataset_uri": dataset.uri, "execution_arn": result.execution_arn},
    )
    started = ArrivalOutcome(outcome, reason, model.name, dataset.uri, result.execution_arn)
    return [started, *waiting[1:]] if waiting else [started]


def _training_requested(
    name: str,
    model: str,
    dataset_uri: str,
    reason: str,
    event: S3ObjectCreated,
    execution_arn: str,
    start: WorkflowStart | None = None,
) -> AuditRecord:
    """The write-once record of a dataset's training request (its start, if the outbox is to deliver it)."""
    return AuditRecord(
        record_id=f"{name}#requested",
        kind="TrainingRequested",
        model=model,
        reason=reason,
        at=clock.now(),
        dataset_uri=dataset_uri,
        event_id=event.id,
        execution_arn=execution_arn,
        details={"key": event.detail.object.key},
        start=start,
        lineage=training_lineage(name),
    )


def _quiet_period_reason(model: ModelConfig) -> str:
    return f"quiet period of {model.data_trigger.quiet_period_seconds}s after the last object"


def _log_recorded(dataset_uri: str, objects: int, object_count: int) -> None:
    extra = {"dataset_uri": dataset_uri, "objects": objects, "object_count": object_count}
    logger.debug("Objects recorded", extra=extra)


def _waiting(model: str, dataset_uri: str, object_count: int) -> ArrivalOutcome:
    reason = f"{object_count} objects of a dataset still arriving; its workflow waits for quiet"
    return ArrivalOutcome("waiting", reason, model, dataset_uri)


def _start_with_arrivals(
    model: ModelConfig,
    dataset: Dataset,
    event: S3ObjectCreated,
    arrivals: DatasetArrivals,
    ledger: Ledger,
    workflows: Workflows,
) -> ArrivalOutcome | None:
    """A quiet-period dataset not started yet: its arrivals, started mark and request in one transaction, the
    request carrying the start for the outbox (after the write, so the workflow finds the arrivals recorded).
    None, with nothing written, when the transaction lost a race (a concurrent batch, a request recorded by an
    earlier attempt): the caller then records the arrivals alone, and starts the workflow if still not started."""
    reason = _quiet_period_reason(model)
    request = RetrainRequest(model=model.name, dataset_uri=dataset.uri, reason=reason, wait_for_quiet_period=True)
    name = retrain_execution_name(model.name, dataset.uri)
    execution_arn = workflows.execution_arn("retrain", name)
    start = WorkflowStart("retrain", name, request.model_dump(exclude_none=True))
    if not ledger.start_dataset(
        arrivals, _training_requested(name, model.name, dataset.uri, reason, event, execution_arn, start)
    ):
        return None
    logger.info(
        "Retrain workflow requested: the outbox starts it",
        extra={"model": model.name, "dataset_uri": dataset.uri, "execution_arn": execution_arn},
    )
    return ArrivalOutcome("started", reason, model.name, dataset.uri, execution_arn)


def _arrivals(model: str, dataset_uri: str, events: Sequence[S3ObjectCreated]) -> DatasetArrivals:
    """The group's objects as one ledger write. An object delivered twice within the batch counts once (same key
    and sequencer, or the same event id); across batches a redelivery counts again: the count is "at least"."""
    distinct = {(e.detail.object.key, e.detail.object.sequencer or e.id) for e in events}
    sequencers = [order for e in events if (order := sequencer_order(e.detail.object.sequencer))]
    return DatasetArrivals(
        model=model,
        dataset_uri=dataset_uri,
        objects=len(distinct),
        at=clock.now(),
        max_sequencer=max(sequencers, default=None),
    )


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
