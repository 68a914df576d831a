"""The DynamoDB ledger: dataset arrivals, pipeline runs, training slots and the write-once audit trail.

One table, keys `pk`/`sk`; audit records are also indexed by model (`ByModel`), by dataset (`ByDataset`, from a
dataset to the runs and pipeline executions it led to) and by lineage key (`ByLineage`: one model version's whole
life, from its dataset and training run to each deployment, incident, response and rollback).

| item            | pk                          | sk          |
|-----------------|-----------------------------|-------------|
| dataset arrival | DATASET#<model>             | <dataset uri> |
| pipeline run    | PIPELINE#<execution arn>    | RUN         |
| training slot   | MODEL#<model>               | SLOT#pipeline |
| audit record    | AUDIT#<record id>           | AUDIT       |
| endpoint state  | ENDPOINT#<endpoint>         | STATE       |
| endpoint lock   | ENDPOINT#<endpoint>         | LOCK        |
| desired version | ENDPOINT#<endpoint>         | DESIRED     |
| endpoint waiter | ENDPOINT#<endpoint>         | WAITER      |
| stage deployment| PACKAGE#<package arn>       | STAGE#<stage> |
| version lineage | PACKAGE#<package arn>       | LINEAGE     |
| approval changes| PACKAGE#<package arn>       | APPROVAL    |
| drift incident  | INCIDENT#<model>#<endpoint> | KIND#<kind> |
| drift retrain   | MODEL#<model>               | RETRAIN#<time>#<incident> |
| newest dataset  | MODEL#<model>               | LATEST_DATASET |
| human decision  | DECISION#<incident or approval id> | WAITING |

An audit record carries the effects that must follow it (`announcement`, `start`) and the names of those not
delivered yet (`pending_effects`, a string set that DynamoDB removes when it empties): the outbox.
"""

import json
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypedDict, cast

from botocore.exceptions import ClientError

from controlplane.adapters.attribute_values import from_attribute, to_attribute
from controlplane.adapters.clients import LazyClient
from controlplane.clock import iso
from controlplane.ports import (
    TERMINAL_PIPELINE_STATUSES,
    Announcement,
    ApprovalChange,
    AuditRecord,
    Claim,
    DatasetArrivals,
    DatasetState,
    DecisionWait,
    Effect,
    EndpointState,
    Incident,
    IncidentChange,
    LedgerWrite,
    PipelineRun,
    RetrainNote,
    StageDeployment,
    WorkflowStart,
    WriteConflict,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# Records whose dataset becomes the model's newest training dataset.
_TRAINING_KINDS = frozenset({"TrainingRequested", "TrainingStarted"})
_AUDIT_FIELDS = ("dataset_uri", "event_id", "execution_arn", "pipeline_execution_arn", "status", "lineage")


def _is_condition_failure(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _failed_conditions(error: ClientError) -> list[bool] | None:
    """For a cancelled transaction: which of its items failed their condition; None for any other error."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    reasons = error.response.get("CancellationReasons") or []
    failed = [reason.get("Code") == "ConditionalCheckFailed" for reason in reasons]
    if not any(failed) or any(reason.get("Code") not in {None, "None", "ConditionalCheckFailed"} for reason in reasons):
        return None  # cancelled for another reason (throttling, a conflicting transaction): retryable
    return failed


def _to_item_value(value: Any) -> Any:
    """DynamoDB takes Decimal, not float."""
    return json.loads(json.dumps(value, default=str), parse_float=Decimal)


def _from_item_value(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda number: int(number) if number % 1 == 0 else float(number)))


def _run_values(run: PipelineRun) -> dict[str, str]:
    return {":model": run.model, ":uri": run.dataset_uri, ":exec": run.execution_arn, ":status": run.status}


def _claims(item: dict[str, Any]) -> dict[str, Any]:
    """The record's claimed effects and when each was claimed."""
    claims = item.get("claims")
    return claims if isinstance(claims, dict) else {}


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _typed(values: dict[str, Any]) -> dict[str, Any]:
    return {name: to_attribute(value) for name, value in values.items()}


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {name: from_attribute(value) for name, value in values.items()}


class _Response(TypedDict, total=False):
    Item: dict[str, Any]
    Attributes: dict[str, Any]
    Items: list[dict[str, Any]]
    LastEvaluatedKey: dict[str, Any]


class _LedgerTable:
    """The ledger table through the low-level client, in the plain values (str, Decimal, set, dict) that boto3's
    `Table` resource takes and returns. The resource costs more CPU to create at a cold start than the client
    (its resource model is loaded and its classes built), for a conversion done here in a few lines."""

    _client = LazyClient["DynamoDBClient"]("dynamodb")
    _TYPED_REQUEST = ("Key", "Item", "ExpressionAttributeValues", "ExclusiveStartKey")
    _TYPED_RESPONSE = ("Item", "Attributes", "LastEvaluatedKey")

    def __init__(self, name: str, client: "DynamoDBClient | None") -> None:
        self.name = name
        self._client = client

    def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        return {name: _typed(value) if name in self._TYPED_REQUEST else value for name, value in request.items()}

    def _call(self, operation: str, **request: Any) -> _Response:
        response = getattr(self._client, operation)(TableName=self.name, **self._request(request))
        plain = cast(_Response, {name: _plain(response[name]) for name in self._TYPED_RESPONSE if name in response})
        if "Items" in response:
            plain["Items"] = [_plain(item) for item in response["Items"]]
        return plain

    def get_item(self, **request: Any) -> _Response:
        return self._call("get_item", **request)

    def put_item(self, **request: Any) -> _Response:
        return self._call("put_item", **request)

    def update_item(self, **request: Any) -> _Response:
        return self._call("update_item", **request)

    def delete_item(self, **request: Any) -> _Response:
        return self._call("delete_item", **request)

    def query(self, **request: Any) -> _Response:
        return self._call("query", **request)

    def scan(self, **request: Any) -> _Response:
        return self._call("scan", **request)

    def transact_put(self, puts: list[dict[str, Any]]) -> None:
        """All puts or none (`TransactWriteItems`)."""
        self.transact_write([{"Put": put} for put in puts])

    def transact_write(self, actions: list[dict[str, dict[str, Any]]]) -> None:
        """All or none (`TransactWriteItems`): each action a {"Put" | "Update": request} of this table."""
        self._client.transact_write_items(
            TransactItems=[
                {kind: {"TableName": self.name, **self._request(request)} for kind, request in action.items()}  # type: ignore[misc]
                for action in actions
            ]
        )


class DynamoDbLedger:
    def __init__(self, table_name: str, client: "DynamoDBClient | None" = None):
        """`client`: a DynamoDB client (e.g. a test's or an operator's session's), else the process's."""
        self._table = _LedgerTable(table_name, client)

    @staticmethod
    def _arrival_update(arrivals: DatasetArrivals, started_by: str | None = None) -> dict[str, Any]:
        """The UpdateItem of one group of arrivals, on the condition that they are the dataset's latest (in time
        and sequencer); with `started_by`, also the started mark, on the condition that there is none yet."""
        values: dict[str, Any] = {
            ":at": iso(arrivals.at),
            ":model": arrivals.model,
            ":uri": arrivals.dataset_uri,
            ":n": arrivals.objects,
        }
        assignments = "last_object_at = :at, first_object_at = if_not_exists(first_object_at, :at), "
        later = "last_object_at <= :at"
        if arrivals.max_sequencer is not None:
            values[":seq"] = arrivals.max_sequencer
            assignments += "max_sequencer = :seq, "
            later += " AND (attribute_not_exists(max_sequencer) OR max_sequencer <= :seq)"
        condition = f"attribute_not_exists(pk) OR ({later})"
        if started_by is not None:
            values[":arn"] = started_by
            assignments += "execution_arn = :arn, "
            condition = f"attribute_not_exists(execution_arn) AND ({condition})"
        return {
            "Key": {"pk": f"DATASET#{arrivals.model}", "sk": arrivals.dataset_uri},
            "UpdateExpression": f"SET {assignments}model = :model, dataset_uri = :uri ADD object_count :n",
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }

    def record_arrivals(self, arrivals: DatasetArrivals) -> DatasetState:
        update = self._arrival_update(arrivals)
        try:
            # The common case: these arrivals are the dataset's latest (in time and sequencer).
            item = self._table.update_item(
                **update, ReturnValues="ALL_NEW", ReturnValuesOnConditionCheckFailure="ALL_OLD"
            )["Attributes"]
        except ClientError as error:
            if not _is_condition_failure(error) or "Item" not in error.response:
                raise
            seen = error.response["Item"]  # type: ignore[typeddict-item] # the item the condition failed on
            current = _plain(seen)
            item = self._merge_arrivals(update["Key"], current, arrivals)
        return self._dataset(item)

    def start_dataset(self, arrivals: DatasetArrivals, request: AuditRecord) -> bool:
        if request.execution_arn is None or request.dataset_uri != arrivals.dataset_uri:
            raise ValueError(f"record {request.record_id} does not request a workflow for {arrivals.dataset_uri}")
        try:
            self._table.transact_write(
                [
                    {"Update": self._arrival_update(arrivals, started_by=request.execution_arn)},
                    {"Put": {"Item": self._audit_item(request), "ConditionExpression": "attribute_not_exists(pk)"}},
                    {"Update": self._latest_dataset_update(request)},
                ]
            )
        except ClientError as error:
            if _failed_conditions(error) is None:
                raise
            return False
        return True

    def _merge_arrivals(
        self, key: dict[str, str], current: dict[str, Any], arrivals: DatasetArrivals
    ) -> dict[str, Any]:
        """A concurrent batch of the same dataset got ahead: merge into what it wrote, unless the item changed
        again since (then WriteConflict: this batch's objects of the dataset are retried, none counted)."""
        at = iso(arrivals.at)
        values: dict[str, Any] = {
            ":first": min(str(current["first_object_at"]), at),
            ":last": max(str(current["last_object_at"]), at),
            ":n": arrivals.objects,
            ":seen": current["object_count"],
        }
        sequencers = [str(s) for s in (current.get("max_sequencer"), arrivals.max_sequencer) if s is not None]
        sequencer = ", max_sequencer = :seq" if sequencers else ""
        if sequencers:
            values[":seq"] = max(sequencers)
        try:
            return self._table.update_item(
                Key=key,
                UpdateExpression=f"SET first_object_at = :first, last_object_at = :last{sequencer} ADD object_count :n",
                ConditionExpression="object_count = :seen",
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _is_condition_failure(error):
                raise WriteConflict(f"dataset {arrivals.dataset_uri} changed twice under one batch") from error
            raise

    def mark_dataset_started(self, model: str, dataset_uri: str, execution_arn: str) -> None:
        self._table.update_item(
            Key={"pk": f"DATASET#{model}", "sk": dataset_uri},
            UpdateExpression="SET execution_arn = :arn",
            ExpressionAttributeValues={":arn": execution_arn},
        )

    def get_dataset(self, model: str, dataset_uri: str) -> DatasetState | None:
        item = self._table.get_item(Key={"pk": f"DATASET#{model}", "sk": dataset_uri}, ConsistentRead=True).get("Item")
        return self._dataset(item) if item else None

    @staticmethod
    def _dataset(item: dict[str, Any]) -> DatasetState:
        return DatasetState(
            model=str(item["model"]),
            dataset_uri=str(item["dataset_uri"]),
            object_count=int(item["object_count"]),
            first_object_at=_time(item["first_object_at"]),
            last_object_at=_time(item["last_object_at"]),
            execution_arn=str(item["execution_arn"]) if item.get("execution_arn") else None,
            max_sequencer=str(item["max_sequencer"]) if item.get("max_sequencer") else None,
        )

    def record(self, record: AuditRecord, *also: LedgerWrite) -> bool:
        written = self._write_record(record, also)
        if record.dataset_uri and record.kind in _TRAINING_KINDS:  # again on a retry: the note may have failed
            self._note_latest_dataset(record)
        return written

    def _write_record(self, record: AuditRecord, also: tuple[LedgerWrite, ...]) -> bool:
        item = self._audit_item(record)
        if not also:
            try:
                self._table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            except ClientError as error:
                if _is_condition_failure(error):
                    return False
                raise
            return True
        puts = [{"Item": item, "ConditionExpression": "attribute_not_exists(pk)"}, *map(self._put, also)]
        try:
            self._table.transact_put(puts)
        except ClientError as error:
            failed = _failed_conditions(error)
            if failed is None:
                raise
            if failed[0]:
                return False
            raise WriteConflict(f"the ledger changed under record {record.record_id}") from error
        return True

    @staticmethod
    def _audit_item(record: AuditRecord) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"AUDIT#{record.record_id}",
            "sk": "AUDIT",
            "record_id": record.record_id,
            "kind": record.kind,
            "model": record.model,
            "reason": record.reason,
            "at": iso(record.at),
            "by_model": f"MODEL#{record.model}",
        }
        item.update({name: getattr(record, name) for name in _AUDIT_FIELDS if getattr(record, name) is not None})
        if record.dataset_uri:
            item["by_dataset"] = f"DATASET#{record.dataset_uri}"
        if record.lineage:
            item["by_lineage"] = f"LINEAGE#{record.lineage}"
        if record.details:
            item["details"] = _to_item_value(dict(record.details))
        if record.announcement is not None:
            item["announcement"] = {
                "detail_type": record.announcement.detail_type,
                "detail": json.dumps(record.announcement.detail, default=str),
            }
        if record.start is not None:
            item["start"] = {
                "workflow": record.start.workflow,
                "name": record.start.name,
                "input": json.dumps(record.start.input, default=str),
            }
        if record.effects():
            item["pending_effects"] = set(record.effects())
            item["claims"] = {}
        return item

    def _put(self, write: LedgerWrite) -> dict[str, Any]:
        """The transaction's Put for a write committed with a record."""
        match write:
            case EndpointState():
                return {"Item": self._endpoint_state_item(write)}
            case StageDeployment():
                return {"Item": self._stage_deployment_item(write)}
            case IncidentChange(incident=incident, expected_id=None):
                return {"Item": self._incident_item(incident), "ConditionExpression": "attribute_not_exists(pk)"}
            case IncidentChange(incident=incident, expected_id=expected):
                return {
                    "Item": self._incident_item(incident),
                    "ConditionExpression": "incident_id = :expected",
                    "ExpressionAttributeValues": {":expected": expected},
                }
            case DecisionWait():
                return {"Item": self._decision_item(write)}
            case RetrainNote():
                return {
                    "Item": {
                        "pk": f"MODEL#{write.model}",
                        # A retry of the same decision writes the same item: one retrain counts once.
                        "sk": f"RETRAIN#{iso(write.at)}#{write.incident_id}",
                        "at": iso(write.at),
                        "incident_id": write.incident_id,
                        # The table's TTL attribute (template.yaml): the note is deleted once it counts no more.
                        "expires_at": int(write.counts_until.timestamp()),
                    }
                }
        raise TypeError(f"not a ledger write: {write!r}")

    def get_record(self, record_id: str) -> AuditRecord | None:
        item = self._table.get_item(Key={"pk": f"AUDIT#{record_id}", "sk": "AUDIT"}, ConsistentRead=True).get("Item")
        return self._audit(item) if item else None

    def pending_effects(self, record_id: str) -> set[Effect]:
        item = self._table.get_item(
            Key={"pk": f"AUDIT#{record_id}", "sk": "AUDIT"},
            ConsistentRead=True,
            ProjectionExpression="pending_effects, claims",
        ).get("Item", {})
        pending = item.get("pending_effects")
        owed = {*(pending if isinstance(pending, set) else ()), *_claims(item)}
        names: set[Effect] = {"sns", "bus", "start"}
        return {effect for effect in names if effect in owed}

    def claim(self, record_id: str, effect: Effect, now: datetime, stale_before: datetime) -> Claim:
        key = {"pk": f"AUDIT#{record_id}", "sk": "AUDIT"}
        try:
            self._table.update_item(
                Key=key,
                UpdateExpression="DELETE pending_effects :effects SET claims.#effect = :now",
                ConditionExpression="contains(pending_effects, :effect)",
                ExpressionAttributeNames={"#effect": effect},
                ExpressionAttributeValues={":effects": {str(effect)}, ":effect": effect, ":now": iso(now)},
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
        else:
            return "claimed"
        item = self._table.get_item(Key=key, ConsistentRead=True, ProjectionExpression="claims").get("Item", {})
        claimed_at = _claims(item).get(effect)
        if claimed_at is None:
            return "delivered"
        if str(claimed_at) >= iso(stale_before):
            return "in_flight"
        try:  # a claim older than the lease belongs to a delivery that died: take it over
            self._table.update_item(
                Key=key,
                UpdateExpression="SET claims.#effect = :now",
                ConditionExpression="claims.#effect = :seen",
                ExpressionAttributeNames={"#effect": effect},
                ExpressionAttributeValues={":now": iso(now), ":seen": claimed_at},
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            return "in_flight"
        return "claimed"

    def release(self, record_id: str, effect: Effect) -> None:
        self._table.update_item(
            Key={"pk": f"AUDIT#{record_id}", "sk": "AUDIT"},
            UpdateExpression="ADD pending_effects :effects REMOVE claims.#effect",
            ExpressionAttributeNames={"#effect": effect},
            ExpressionAttributeValues={":effects": {str(effect)}},
        )

    def mark_delivered(self, record_id: str, effect: Effect) -> None:
        self._table.update_item(
            Key={"pk": f"AUDIT#{record_id}", "sk": "AUDIT"},
            UpdateExpression="REMOVE claims.#effect",
            ExpressionAttributeNames={"#effect": effect},
        )

    def records_with_pending_effects(self) -> list[str]:
        """Every record whose effects are not all delivered (for the redrive command; a scan)."""
        query: dict[str, Any] = {
            "FilterExpression": "attribute_exists(pending_effects) OR attribute_exists(claims)",
            "ProjectionExpression": "record_id, pending_effects, claims",
        }
        found: list[str] = []
        while True:
            response = self._table.scan(**query)
            found.extend(
                str(item["record_id"]) for item in response["Items"] if item.get("pending_effects") or _claims(item)
            )
            if "LastEvaluatedKey" not in response:
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _acquire_lease(self, key: dict[str, str], holder: str, now: datetime, lease_until: datetime) -> str | None:
        try:
            self._table.put_item(
                Item={**key, "holder": holder, "lease_until": iso(lease_until)},
                ConditionExpression="attribute_not_exists(pk) OR holder = :me OR lease_until < :now",
                ExpressionAttributeValues={":me": holder, ":now": iso(now)},
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            current = self._table.get_item(Key=key, ConsistentRead=True)
            return str(current.get("Item", {}).get("holder", "another workflow"))
        return None

    def _release_lease(self, key: dict[str, str], holder: str) -> None:
        try:
            self._table.delete_item(
                Key=key, ConditionExpression="holder = :me", ExpressionAttributeValues={":me": holder}
            )
        except ClientError as error:
            if not _is_condition_failure(error):  # not ours (or already released): nothing to do
                raise

    def has_record(self, record_id: str) -> bool:
        key = {"pk": f"AUDIT#{record_id}", "sk": "AUDIT"}
        return "Item" in self._table.get_item(Key=key, ConsistentRead=True, ProjectionExpression="pk")

    def acquire_pipeline_slot(self, model: str, holder: str, now: datetime, lease_until: datetime) -> str | None:
        return self._acquire_lease({"pk": f"MODEL#{model}", "sk": "SLOT#pipeline"}, holder, now, lease_until)

    def release_pipeline_slot(self, model: str, holder: str) -> None:
        self._release_lease({"pk": f"MODEL#{model}", "sk": "SLOT#pipeline"}, holder)

    def acquire_endpoint_lock(self, endpoint: str, holder: str, now: datetime, lease_until: datetime) -> str | None:
        return self._acquire_lease({"pk": f"ENDPOINT#{endpoint}", "sk": "LOCK"}, holder, now, lease_until)

    def release_endpoint_lock(self, endpoint: str, holder: str) -> None:
        self._release_lease({"pk": f"ENDPOINT#{endpoint}", "sk": "LOCK"}, holder)

    def _lease(self, key: dict[str, str]) -> tuple[str, datetime] | None:
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return (str(item["holder"]), _time(item["lease_until"])) if item else None

    def pipeline_slot(self, model: str) -> tuple[str, datetime] | None:
        """The execution holding the model's training slot and the end of its lease (released: None)."""
        return self._lease({"pk": f"MODEL#{model}", "sk": "SLOT#pipeline"})

    def endpoint_lock(self, endpoint: str) -> tuple[str, datetime] | None:
        """The execution holding the endpoint's deployment lock and the end of its lease (released: None)."""
        return self._lease({"pk": f"ENDPOINT#{endpoint}", "sk": "LOCK"})

    def raise_desired_version(self, endpoint: str, version: int) -> int:
        key = {"pk": f"ENDPOINT#{endpoint}", "sk": "DESIRED"}
        try:
            self._table.put_item(
                Item={**key, "version": version},
                ConditionExpression="attribute_not_exists(pk) OR version < :v",
                ExpressionAttributeValues={":v": version},
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            return int(str(self._table.get_item(Key=key, ConsistentRead=True)["Item"]["version"]))
        return version

    def get_endpoint_state(self, endpoint: str) -> EndpointState | None:
        item = self._table.get_item(Key={"pk": f"ENDPOINT#{endpoint}", "sk": "STATE"}, ConsistentRead=True).get("Item")
        if not item:
            return None
        fields: dict[str, Any] = {name: item[name] for name in EndpointState._fields if name in item}
        if fields.get("serving_version") is not None:
            fields["serving_version"] = int(fields["serving_version"])
        if fields.get("updated_at"):
            fields["updated_at"] = _time(fields["updated_at"])
        return EndpointState(**fields)

    def put_endpoint_state(self, state: EndpointState) -> None:
        self._table.put_item(Item=self._endpoint_state_item(state))

    @staticmethod
    def _endpoint_state_item(state: EndpointState) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": f"ENDPOINT#{state.endpoint}", "sk": "STATE"}
        for name in EndpointState._fields:
            value = getattr(state, name)
            if value is not None:
                item[name] = iso(value) if isinstance(value, datetime) else value
        return item

    def record_stage_deployment(self, deployment: StageDeployment) -> None:
        self._table.put_item(Item=self._stage_deployment_item(deployment))

    @staticmethod
    def _stage_deployment_item(deployment: StageDeployment) -> dict[str, Any]:
        return {
            "pk": f"PACKAGE#{deployment.package_arn}",
            "sk": f"STAGE#{deployment.stage}",
            "endpoint": deployment.endpoint,
            "endpoint_config": deployment.endpoint_config,
            "status": deployment.status,
            "deployed_at": iso(deployment.deployed_at),
        }

    def get_stage_deployment(self, package_arn: str, stage: str) -> StageDeployment | None:
        item = self._table.get_item(
            Key={"pk": f"PACKAGE#{package_arn}", "sk": f"STAGE#{stage}"}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return StageDeployment(
            package_arn=package_arn,
            stage=stage,
            endpoint=str(item["endpoint"]),
            endpoint_config=str(item["endpoint_config"]),
            status=str(item["status"]),
            deployed_at=_time(item["deployed_at"]),
        )

    def note_approval_change(self, package_arn: str, status: str, changed_at: datetime) -> ApprovalChange:
        key = {"pk": f"PACKAGE#{package_arn}", "sk": "APPROVAL"}
        at = iso(changed_at)
        try:
            self._table.put_item(
                Item={**key, "status": status, "changed_at": at, "seen_at": at},
                ConditionExpression="attribute_not_exists(pk) OR (#status <> :status AND seen_at <= :at)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": status, ":at": at},
            )
            return ApprovalChange("changed", status)
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
        item = self._table.get_item(Key=key, ConsistentRead=True)["Item"]
        if item["status"] != status or str(item["seen_at"]) > at:
            return ApprovalChange("stale", str(item["status"]))
        if item["changed_at"] == at:
            return ApprovalChange("repeated", status)
        try:  # same status, later: remember the time, so that an older change arriving late counts as stale
            self._table.update_item(
                Key=key,
                UpdateExpression="SET seen_at = :at",
                ConditionExpression="seen_at < :at",
                ExpressionAttributeValues={":at": at},
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
        return ApprovalChange("unchanged", status)

    def set_endpoint_waiter(self, endpoint: str, task_token: str) -> None:
        self._table.put_item(Item={"pk": f"ENDPOINT#{endpoint}", "sk": "WAITER", "task_token": task_token})

    def get_endpoint_waiter(self, endpoint: str) -> str | None:
        key = {"pk": f"ENDPOINT#{endpoint}", "sk": "WAITER"}
        token = self._table.get_item(Key=key, ConsistentRead=True).get("Item", {}).get("task_token")
        return str(token) if token else None

    def clear_endpoint_waiter(self, endpoint: str, task_token: str) -> None:
        try:
            self._table.delete_item(
                Key={"pk": f"ENDPOINT#{endpoint}", "sk": "WAITER"},
                ConditionExpression="task_token = :token",
                ExpressionAttributeValues={":token": task_token},
            )
        except ClientError as error:
            if not _is_condition_failure(error):  # another workflow waits now: its token stays
                raise

    def register_pipeline_run(self, run: PipelineRun) -> PipelineRun:
        try:
            item = self._table.update_item(
                Key={"pk": f"PIPELINE#{run.pipeline_execution_arn}", "sk": "RUN"},
                UpdateExpression=(
                    "SET model = :model, dataset_uri = :uri, execution_arn = :exec, "
                    "#status = if_not_exists(#status, :status)"
                ),
                ConditionExpression="attribute_not_exists(pk) OR execution_arn = :exec",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=_run_values(run),
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            registered = self.get_pipeline_run(run.pipeline_execution_arn)
            assert registered is not None  # the condition failed because it exists
            return registered
        return self._run(item)

    def get_pipeline_run(self, pipeline_execution_arn: str) -> PipelineRun | None:
        item = self._table.get_item(
            Key={"pk": f"PIPELINE#{pipeline_execution_arn}", "sk": "RUN"}, ConsistentRead=True
        ).get("Item")
        return self._run(item) if item else None

    def end_workflow_wait(self, run: PipelineRun) -> PipelineRun:
        item = self._table.update_item(
            Key={"pk": f"PIPELINE#{run.pipeline_execution_arn}", "sk": "RUN"},
            UpdateExpression=(
                "SET workflow_ended = :true, model = if_not_exists(model, :model), "
                "dataset_uri = if_not_exists(dataset_uri, :uri), execution_arn = if_not_exists(execution_arn, :exec), "
                "#status = if_not_exists(#status, :status)"
            ),
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":true": True, **_run_values(run)},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return self._run(item)

    def attach_task_token(self, pipeline_execution_arn: str, task_token: str) -> PipelineRun:
        item = self._table.update_item(
            Key={"pk": f"PIPELINE#{pipeline_execution_arn}", "sk": "RUN"},
            UpdateExpression="SET task_token = :token",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":token": task_token},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        return self._run(item)

    def complete_pipeline_run(
        self, pipeline_execution_arn: str, status: str, failure_reason: str | None
    ) -> PipelineRun | None:
        terminal = sorted(TERMINAL_PIPELINE_STATUSES)
        names = {f":t{index}": value for index, value in enumerate(terminal)}
        try:
            item = self._table.update_item(
                Key={"pk": f"PIPELINE#{pipeline_execution_arn}", "sk": "RUN"},
                UpdateExpression="SET #status = :status, failure_reason = :reason",
                ConditionExpression=f"attribute_exists(pk) AND NOT #status IN ({', '.join(names)})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":status": status, ":reason": failure_reason, **names},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return self._run(item)

    @staticmethod
    def _run(item: dict[str, Any]) -> PipelineRun:
        return PipelineRun(
            pipeline_execution_arn=str(item["pk"]).removeprefix("PIPELINE#"),
            model=str(item["model"]),
            dataset_uri=str(item["dataset_uri"]),
            execution_arn=str(item["execution_arn"]),
            status=str(item["status"]),
            task_token=str(item["task_token"]) if item.get("task_token") else None,
            failure_reason=str(item["failure_reason"]) if item.get("failure_reason") else None,
            workflow_ended=bool(item.get("workflow_ended")),
        )

    def get_incident(self, model: str, endpoint: str, kind: str) -> Incident | None:
        key = {"pk": f"INCIDENT#{model}#{endpoint}", "sk": f"KIND#{kind}"}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        if not item:
            return None
        return Incident(
            model=model,
            endpoint=endpoint,
            incident_id=str(item["incident_id"]),
            status=str(item["status"]),
            opened_at=_time(item["opened_at"]),
            kind=str(item["kind"]),
            signal_count=int(str(item["signal_count"])),
            recovered_at=_time(item["recovered_at"]) if item.get("recovered_at") else None,
        )

    def put_incident(self, incident: Incident, expected_id: str | None) -> bool:
        try:
            if expected_id is None:
                self._table.put_item(Item=self._incident_item(incident), ConditionExpression="attribute_not_exists(pk)")
            else:
                self._table.put_item(
                    Item=self._incident_item(incident),
                    ConditionExpression="incident_id = :expected",
                    ExpressionAttributeValues={":expected": expected_id},
                )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    @staticmethod
    def _incident_item(incident: Incident) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"INCIDENT#{incident.model}#{incident.endpoint}",
            "sk": f"KIND#{incident.kind}",
            "incident_id": incident.incident_id,
            "status": incident.status,
            "opened_at": iso(incident.opened_at),
            "kind": incident.kind,
            "signal_count": incident.signal_count,
        }
        if incident.recovered_at is not None:
            item["recovered_at"] = iso(incident.recovered_at)
        return item

    @staticmethod
    def _decision_item(decision: DecisionWait) -> dict[str, Any]:
        item: dict[str, Any] = {"pk": f"DECISION#{decision.incident_id}", "sk": "WAITING"}
        item.update({name: value for name, value in decision._asdict().items() if value is not None})
        return item

    def get_decision(self, incident_id: str) -> DecisionWait | None:
        item = self._table.get_item(Key={"pk": f"DECISION#{incident_id}", "sk": "WAITING"}, ConsistentRead=True).get(
            "Item"
        )
        return self._decision(item) if item else None

    @staticmethod
    def _decision(item: dict[str, Any]) -> DecisionWait:
        fields = {name: str(item[name]) for name in DecisionWait._fields if item.get(name) is not None}
        return DecisionWait(**fields)  # type: ignore[arg-type]  # status: written only from DecisionStatus

    def claim_decision(
        self, incident_id: str, decision_execution_arn: str, answered_by: str, action: str
    ) -> DecisionWait | None:
        try:
            item = self._table.update_item(
                Key={"pk": f"DECISION#{incident_id}", "sk": "WAITING"},
                UpdateExpression="SET #status = :answered, answered_by = :by, #action = :action, "
                "decision_execution_arn = :me",
                ConditionExpression="#status = :waiting OR decision_execution_arn = :me",
                ExpressionAttributeNames={"#status": "status", "#action": "action"},
                ExpressionAttributeValues={
                    ":answered": "answered",
                    ":waiting": "waiting",
                    ":by": answered_by,
                    ":action": action,
                    ":me": decision_execution_arn,
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if _is_condition_failure(error):
                return None
            raise
        return self._decision(item)

    def expire_decision(self, incident_id: str, decision_execution_arn: str) -> None:
        try:
            self._table.update_item(
                Key={"pk": f"DECISION#{incident_id}", "sk": "WAITING"},
                UpdateExpression="SET #status = :expired",
                ConditionExpression="decision_execution_arn = :me AND #status = :answered",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expired": "expired",
                    ":answered": "answered",
                    ":me": decision_execution_arn,
                },
            )
        except ClientError as error:
            if not _is_condition_failure(error):  # closed meanwhile: nothing to expire
                raise

    def retrain_times(self, model: str, since: datetime) -> list[datetime]:
        items = self._query_all(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :from AND :to",
            ExpressionAttributeValues={":pk": f"MODEL#{model}", ":from": f"RETRAIN#{iso(since)}", ":to": "RETRAIN#~"},
            ConsistentRead=True,
        )
        return [_time(item["at"]) for item in items]

    def latest_dataset(self, model: str) -> str | None:
        """The dataset of the model's newest training (any trigger, manual included)."""
        key = {"pk": f"MODEL#{model}", "sk": "LATEST_DATASET"}
        item = self._table.get_item(Key=key, ConsistentRead=True).get("Item")
        return str(item["dataset_uri"]) if item else None

    @staticmethod
    def _latest_dataset_update(record: AuditRecord) -> dict[str, Any]:
        return {
            "Key": {"pk": f"MODEL#{record.model}", "sk": "LATEST_DATASET"},
            "UpdateExpression": "SET dataset_uri = :uri, #at = :at",
            "ConditionExpression": "attribute_not_exists(#at) OR #at <= :at",
            "ExpressionAttributeNames": {"#at": "at"},
            "ExpressionAttributeValues": {":uri": record.dataset_uri, ":at": iso(record.at)},
        }

    def _note_latest_dataset(self, record: AuditRecord) -> None:
        """Keep the model's newest training dataset on an item of its own (no scan of the model's history)."""
        try:
            self._table.update_item(**self._latest_dataset_update(record))
        except ClientError as error:
            if not _is_condition_failure(error):  # a newer dataset is already noted
                raise

    def _query_all(self, **query: Any) -> list[dict[str, Any]]:
        """Every item a query matches, page after page (DynamoDB returns at most 1 MB a page)."""
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**query)
            items.extend(response["Items"])
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def lineage(self, dataset_uri: str) -> list[AuditRecord]:
        """Every audit record about a dataset, oldest first."""
        items = self._query_all(
            IndexName="ByDataset",
            KeyConditionExpression="by_dataset = :dataset",
            ExpressionAttributeValues={":dataset": f"DATASET#{dataset_uri}"},
        )
        return [self._audit(item) for item in items]

    def version_lineage(self, lineage: str) -> list[AuditRecord]:
        """Every audit record of one model version's life (its lineage key), oldest first: one query."""
        items = self._query_all(
            IndexName="ByLineage",
            KeyConditionExpression="by_lineage = :lineage",
            ExpressionAttributeValues={":lineage": f"LINEAGE#{lineage}"},
        )
        return [self._audit(item) for item in items]

    def note_package_lineage(self, package_arn: str, lineage: str) -> None:
        try:
            self._table.put_item(
                Item={"pk": f"PACKAGE#{package_arn}", "sk": "LINEAGE", "lineage": lineage},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if not _is_condition_failure(error):  # noted before: the first stays
                raise

    def package_lineage(self, package_arn: str) -> str | None:
        item = self._table.get_item(Key={"pk": f"PACKAGE#{package_arn}", "sk": "LINEAGE"}).get("Item")
        return str(item["lineage"]) if item else None

    def history(self, model: str) -> list[AuditRecord]:
        """Every audit record about a model, oldest first."""
        items = self._query_all(
            IndexName="ByModel",
            KeyConditionExpression="by_model = :model",
            ExpressionAttributeValues={":model": f"MODEL#{model}"},
        )
        return [self._audit(item) for item in items]

    @staticmethod
    def _audit(item: dict[str, Any]) -> AuditRecord:
        announcement = item.get("announcement")
        start = item.get("start")
        return AuditRecord(
            record_id=str(item["record_id"]),
            kind=str(item["kind"]),
            model=str(item["model"]),
            reason=str(item["reason"]),
            at=_time(item["at"]),
            details=_from_item_value(item.get("details", {})),
            announcement=Announcement(str(announcement["detail_type"]), json.loads(str(announcement["detail"])))
            if announcement
            else None,
            start=WorkflowStart(start["workflow"], str(start["name"]), json.loads(str(start["input"])))
            if start
            else None,
            **{name: str(item[name]) for name in _AUDIT_FIELDS if item.get(name) is not None},
        )
