"""DynamoDB Streams records as DynamoDB writes them, and transactions that keep those streams readable.

`localcloud.streams` reads each table's stream shard in order when the local cloud settles, as Lambda's event
source mapping polls a stream; these patches make the shard hold what DynamoDB would have written to it.
"""

from __future__ import annotations

from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as dynamodb_table

from localcloud.core import ExtensionRegistry, naive_utc

__all__ = ["install"]


def install(registry: ExtensionRegistry) -> None:
    """Apply every patch of this module to moto (undone by `registry.uninstall()`)."""
    _patch_dynamodb_streams(registry)
    _patch_dynamodb_transaction_rollback(registry)


def _patch_dynamodb_streams(registry: ExtensionRegistry) -> None:
    """A stream record per write that changes an item, stamped with the virtual clock and the table's region.

    AWS: "a stream record is written only if the item was modified", with ApproximateCreationDateTime and the
    table's awsRegion, and Lambda reads the shard through an event source mapping (docs.aws.amazon.com/
    amazondynamodb/latest/developerguide/Streams.html, "Change data capture for DynamoDB Streams").
    moto gap: `StreamShard.add` stamps the real time, writes a record for a write that changes nothing, labels
    every record us-east-1, and delivers the records to Lambda itself, synchronously inside the write, then
    forgets them. Here moto delivers nothing: `localcloud.streams` reads the shard when the local cloud settles.
    """

    def add(self: dynamodb_table.StreamShard, old: Any, new: Any) -> None:
        if old is not None and new is not None and old.to_json() == new.to_json():
            return
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        view_type = self.table.stream_specification["StreamViewType"]  # type: ignore[index]
        sequence_number = len(self.items) + self.starting_sequence_number
        record = dynamodb_table.StreamRecord(self.table, view_type, event_name, old, new, sequence_number)
        record.record["awsRegion"] = self.table.region_name
        record.record["dynamodb"]["ApproximateCreationDateTime"] = naive_utc(registry.clock.now())
        self.items.append(record)

    registry.replace(dynamodb_table.StreamShard, "add", add)


def _patch_dynamodb_transaction_rollback(registry: ExtensionRegistry) -> None:
    """A cancelled TransactWriteItems writes nothing, and the tables stay the same tables.

    AWS: TransactWriteItems is all or nothing (docs.aws.amazon.com/amazondynamodb/latest/APIReference/
    API_TransactWriteItems.html).
    moto gap: it rolls back by replacing each table with a deep copy taken before the transaction, so the table
    object and its stream shard change identity and `localcloud.streams`, which reads the shard it was given,
    would never see a later write. Here the copy's contents are put back into the original objects instead.
    """
    original = vars(DynamoDBBackend)["transact_write_items"]

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        tables = dict(self.tables)
        try:
            original(self, transact_items)
        finally:
            for name, table in tables.items():
                restored = self.tables.get(name)
                if restored is None or restored is table:
                    continue
                shard = table.stream_shard
                table.__dict__.update(restored.__dict__)
                if shard is not None and restored.stream_shard is not None:
                    shard.items[:] = restored.stream_shard.items
                    table.stream_shard = shard
                self.tables[name] = table

    registry.replace(DynamoDBBackend, "transact_write_items", transact_write_items)
