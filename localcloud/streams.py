"""DynamoDB Streams event sources: Lambda's event source mapping polling a table's stream, in order.

Follows the AWS Lambda Developer Guide: "Using AWS Lambda with Amazon DynamoDB" and its pages "Lambda
parameters for Amazon DynamoDB event source mappings" (services-ddb-params), "Configuring partial batch
response with DynamoDB and Lambda" (services-ddb-batchfailurereporting), "Retain discarded records for a
DynamoDB event source" (the on-failure record with `DDBStreamBatchInfo` and no records), and "Control which
events Lambda sends to your function" (FilterCriteria, matched against the record as delivered, typed
attribute values included). https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html

Emulated: one shard read in order from StartingPosition; records the filters reject are skipped; a batch of
up to BatchSize matching records per invocation; a function error retries the batch (halved first with
BisectBatchOnFunctionError; halving consumes no retry); with ReportBatchItemFailures the batch is checkpointed
before the lowest failed sequence number and retried from there; MaximumRetryAttempts and
MaximumRecordAgeInSeconds (virtual clock) bound the retries, then the on-failure record goes to the SQS
destination and the shard moves on. With -1/-1 a failing batch is retried until its records leave the
stream's 24-hour retention (dropped, no record). Retries wait 1, 2, 4 ... up to 60 virtual seconds: AWS
documents no delay, the backoff only keeps infinite retries from spinning in zero time.
Not emulated (rejected at deploy): ParallelizationFactor, TumblingWindowInSeconds, Enabled: false. A
MaximumBatchingWindowInSeconds is accepted and ignored: batches form when the local cloud settles.

moto gap: moto keeps stream records (see `localcloud.emulations.dynamodb`) but runs no
handler, applies no filters and has none of these retry semantics.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from localcloud.clock import VirtualClock
from localcloud.core import iso_seconds
from localcloud.template import TemplateError

__all__ = ["StreamEventSource", "StreamMappingConfig"]

STREAM_RETENTION_SECONDS = 24 * 3600  # DynamoDB Streams keeps records for 24 hours
_MAX_BACKOFF_SECONDS = 60.0
_UNSUPPORTED = ("ParallelizationFactor", "TumblingWindowInSeconds")

Invoke = Callable[[Any, Any], tuple[Any, dict[str, Any] | None]]


class StreamTarget(Protocol):
    @property
    def logical_id(self) -> str: ...

    @property
    def arn(self) -> str: ...


def _integer(function_id: str, name: str, value: Any, low: int, high: int, allow_infinite: bool = False) -> int:
    in_range = isinstance(value, int) and (low <= value <= high or (allow_infinite and value == -1))
    if in_range and not isinstance(value, bool):
        return int(value)
    infinite = " or -1" if allow_infinite else ""
    raise TemplateError(f"{function_id}: DynamoDB event {name} must be {low}-{high}{infinite}, got {value!r}")


@dataclass(frozen=True)
class StreamMappingConfig:
    """The SAM `DynamoDB` event's properties, with Lambda's defaults (services-ddb-params)."""

    batch_size: int = 100
    starting_position: str = "TRIM_HORIZON"
    bisect_on_error: bool = False
    maximum_retry_attempts: int = -1
    maximum_record_age_seconds: int = -1
    report_batch_item_failures: bool = False
    on_failure_queue_arn: str | None = None
    filter_patterns: tuple[str, ...] = ()

    @classmethod
    def from_template(cls, function_id: str, properties: dict[str, Any]) -> StreamMappingConfig:
        unsupported = [name for name in _UNSUPPORTED if name in properties]
        if properties.get("Enabled") is False:
            unsupported.append("Enabled: false")
        if unsupported:
            raise TemplateError(
                f"{function_id}: DynamoDB event {', '.join(unsupported)} is not emulated by the local cloud"
            )
        starting_position = properties.get("StartingPosition")
        if starting_position not in ("TRIM_HORIZON", "LATEST"):
            raise TemplateError(
                f"{function_id}: DynamoDB event StartingPosition must be TRIM_HORIZON or LATEST, "
                f"got {starting_position!r}"
            )
        age = _integer(
            function_id, "MaximumRecordAgeInSeconds", properties.get("MaximumRecordAgeInSeconds", -1), 60, 604800, True
        )
        destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if destination is not None and (not isinstance(destination, str) or ":sqs:" not in destination):
            raise TemplateError(
                f"{function_id}: DynamoDB event DestinationConfig.OnFailure.Destination is emulated for an SQS queue "
                f"ARN only, got {destination!r}"
            )
        patterns = tuple(entry["Pattern"] for entry in properties.get("FilterCriteria", {}).get("Filters", []))
        for pattern in patterns:
            try:
                json.loads(pattern)
            except (TypeError, ValueError) as error:
                raise TemplateError(f"{function_id}: FilterCriteria pattern {pattern!r} is not JSON: {error}") from None
        return cls(
            batch_size=_integer(function_id, "BatchSize", properties.get("BatchSize", 100), 1, 10000),
            starting_position=starting_position,
            bisect_on_error=bool(properties.get("BisectBatchOnFunctionError", False)),
            maximum_retry_attempts=_integer(
                function_id, "MaximumRetryAttempts", properties.get("MaximumRetryAttempts", -1), 0, 10000, True
            ),
            maximum_record_age_seconds=age,
            report_batch_item_failures="ReportBatchItemFailures" in properties.get("FunctionResponseTypes", []),
            on_failure_queue_arn=destination,
            filter_patterns=patterns,
        )


@dataclass
class _Batch:
    records: list[dict[str, Any]]
    retries: int = 0
    invocations: int = 0
    last_error: dict[str, Any] | None = field(default=None)


def _created_at(record: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(record["dynamodb"]["ApproximateCreationDateTime"], UTC)


class StreamEventSource:
    """One DynamoDB event of a function: reads the table's shard from moto, invokes the function, in order."""

    def __init__(
        self,
        function: StreamTarget,
        stream_arn: str,
        shard: Any,
        config: StreamMappingConfig,
        clock: VirtualClock,
        invoke: Invoke,
        send_to_queue: Callable[[str, str], None],
        record: Callable[..., None],
    ) -> None:
        from moto.events.models import EventPattern  # noqa: PLC0415 - moto's EventBridge matcher (TOOLCHAIN.md)

        self.function = function
        self.stream_arn = stream_arn
        self.config = config
        self._shard = shard
        self._clock = clock
        self._invoke = invoke
        self._send_to_queue = send_to_queue
        self._record = record
        self._filters = [EventPattern.load(pattern) for pattern in config.filter_patterns]
        self._position = len(shard.items) if config.starting_position == "LATEST" else 0
        self._pending: list[_Batch] = []  # the batch being retried (or its halves), in shard order
        self._not_before: datetime | None = None

    def poll(self) -> bool:
        """Process what is due: new records, or the pending batch once its retry delay has passed."""
        progressed = False
        while self._not_before is None or self._clock.now() >= self._not_before:
            self._not_before = None
            if not self._pending:
                if self._position >= len(self._shard.items):
                    return progressed
                self._read_batch()
            else:
                self._process(self._pending[0])
            progressed = True
        return progressed

    def _as_delivered(self, item: Any) -> dict[str, Any]:
        record: dict[str, Any] = copy.deepcopy(item.to_json())
        record["eventSourceARN"] = self.stream_arn
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        if isinstance(created, datetime):  # moto keeps naive UTC; Lambda delivers epoch seconds
            record["dynamodb"]["ApproximateCreationDateTime"] = int(created.replace(tzinfo=UTC).timestamp())
        return record

    def _read_batch(self) -> None:
        """Queue the next batch of up to BatchSize matching records; the records filters reject are skipped."""
        items = self._shard.items
        records: list[dict[str, Any]] = []
        while self._position < len(items) and len(records) < self.config.batch_size:
            record = self._as_delivered(items[self._position])
            self._position += 1
            if not self._filters or any(pattern.matches_event(cast(Any, record)) for pattern in self._filters):
                records.append(record)
        if records:
            self._pending.append(_Batch(records))

    def _process(self, batch: _Batch) -> None:
        if self._discard_expired(batch):
            return
        response, error = self._invoke(self.function, {"Records": batch.records})
        batch.invocations += 1
        failed_from = 0 if error is not None else self._first_failed(batch, response)
        if failed_from is None:
            self._pending.pop(0)
            return
        batch.last_error = error
        if error is not None and self.config.bisect_on_error and len(batch.records) > 1:
            middle = len(batch.records) // 2
            halves = [
                _Batch(part, batch.retries, batch.invocations, error)
                for part in (batch.records[:middle], batch.records[middle:])
            ]
            self._pending[0:1] = halves
            return
        batch.records = batch.records[failed_from:]
        batch.retries += 1
        if 0 <= self.config.maximum_retry_attempts < batch.retries:
            self._give_up(batch, batch.records, "RetryAttemptsExhausted")
            return
        delay = min(_MAX_BACKOFF_SECONDS, 2.0 ** (batch.retries - 1))
        self._not_before = self._clock.now() + timedelta(seconds=delay)
        self._clock.call_at(self._not_before, lambda: None)  # lets settle() advance to the retry

    def _first_failed(self, batch: _Batch, response: Any) -> int | None:
        """Index of the lowest failed record per a partial batch response; None when the batch succeeded.

        As documented: an empty or missing list is a success; a null, empty or unknown itemIdentifier fails
        the whole batch.
        """
        if not self.config.report_batch_item_failures or not isinstance(response, dict):
            return None
        failures = response.get("batchItemFailures")
        if not failures:
            return None
        sequence_numbers = [record["dynamodb"]["SequenceNumber"] for record in batch.records]
        identifiers = [entry.get("itemIdentifier") if isinstance(entry, dict) else None for entry in failures]
        if any(identifier not in sequence_numbers for identifier in identifiers):
            return 0
        return min(sequence_numbers.index(identifier) for identifier in identifiers)

    def _discard_expired(self, batch: _Batch) -> bool:
        """Drop the batch's records older than MaximumRecordAgeInSeconds (or the stream's retention); True when
        nothing is left to invoke. Records are in order, so the expired ones lead the batch."""
        maximum_age = self.config.maximum_record_age_seconds
        now = self._clock.now()
        limit = maximum_age if maximum_age >= 0 else STREAM_RETENTION_SECONDS
        expired = [record for record in batch.records if (now - _created_at(record)).total_seconds() > limit]
        if not expired:
            return False
        batch.records = batch.records[len(expired) :]
        if maximum_age >= 0:
            self._give_up(batch, expired, "RecordAgeExceeded", keep=bool(batch.records))
        else:
            self._record(
                "stream",
                f"{len(expired)} record(s) left the stream's 24-hour retention before {self.function.logical_id} "
                "processed them",
                function=self.function.logical_id,
            )
            if not batch.records:
                self._pending.pop(0)
        return not batch.records

    def _give_up(self, batch: _Batch, records: list[dict[str, Any]], condition: str, keep: bool = False) -> None:
        """Send the on-failure record for `records` (or drop them) and, unless `keep`, move past the batch."""
        if not keep:
            self._pending.pop(0)
        info = {
            "shardId": self._shard.id,
            "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
            "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
            "approximateArrivalOfFirstRecord": iso_seconds(_created_at(records[0])),
            "approximateArrivalOfLastRecord": iso_seconds(_created_at(records[-1])),
            "batchSize": len(records),
            "streamArn": self.stream_arn,
        }
        queue_arn = self.config.on_failure_queue_arn
        if queue_arn is None:
            self._record(
                "stream",
                f"{self.function.logical_id} skipped {len(records)} stream record(s) ({condition}): no destination",
                function=self.function.logical_id,
                batch=info,
            )
            return
        failure: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": self.function.arn,
                "condition": condition,
                "approximateInvokeCount": batch.invocations,
            },
        }
        if batch.invocations:
            failure["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST"}
            if batch.last_error is not None:
                failure["responseContext"]["functionError"] = "Unhandled"
        now = self._clock.now()
        failure |= {
            "version": "1.0",
            "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
            "DDBStreamBatchInfo": info,
        }
        self._send_to_queue(queue_arn, json.dumps(failure))
        self._record(
            "stream",
            f"{self.function.logical_id} gave up on {len(records)} stream record(s) ({condition}): batch info sent "
            "to its on-failure destination",
            function=self.function.logical_id,
            failure=failure,
        )
