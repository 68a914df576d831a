"""Data arrival decisions with in-memory fakes: one workflow per dataset, whatever the event stream."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from controlplane import clock
from controlplane.config import parse_config
from controlplane.datasets import sequencer_order
from controlplane.errors import TransientError
from controlplane.events.s3 import S3ObjectCreated
from controlplane.ingress import on_batch, on_object_created
from controlplane.models import DATASET_URI_MAX_BYTES, S3_KEY_MAX_BYTES
from controlplane.ports import DatasetArrivals, DatasetState
from controlplane.requests import RetrainRequest
from tests.fakes import FakeLedger, FakeWorkflows

CONFIG = parse_config(
    """
version: 1
models:
  - name: churn
    model_package_group: churn-models
    data_trigger: {prefix: datasets/churn/, mode: marker}
    pipeline: {name: churn-training}
  - name: fraud
    model_package_group: fraud-models
    data_trigger: {prefix: datasets/fraud/, mode: quiet_period, quiet_period_seconds: 300}
    pipeline: {name: fraud-training}
"""
)
START = datetime(2026, 11, 27, 9, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen_clock():
    moments = {"now": START}
    clock.use(lambda: moments["now"])
    yield moments
    clock.use(None)


def created(key: str, size: int = 10, event_id: str = "e-1", sequencer: str | None = None) -> S3ObjectCreated:
    s3_object = {"key": key, "size": size, **({"sequencer": sequencer} if sequencer else {})}
    return S3ObjectCreated.model_validate(
        {
            "id": event_id,
            "detail-type": "Object Created",
            "source": "aws.s3",
            "time": "2026-11-27T09:00:00Z",
            "detail": {"bucket": {"name": "data"}, "object": s3_object, "reason": "PutObject"},
        }
    )


def test_marker_starts_one_workflow_with_the_dataset_and_reason():
    ledger, workflows = FakeLedger(), FakeWorkflows()

    outcome = on_object_created(created("datasets/churn/2026-11-27/_SUCCESS", 0), CONFIG, ledger, workflows)

    assert outcome.action == "started"
    ((name, request),) = workflows.started.items()
    assert name.startswith("retrain-churn-churn-2026-11-27-")
    assert request == {
        "model": "churn",
        "dataset_uri": "s3://data/datasets/churn/2026-11-27/",
        "reason": "completion marker '_SUCCESS' arrived",
        "wait_for_quiet_period": False,
    }
    assert ledger.kinds() == ["TrainingRequested"]


def test_duplicate_marker_event_starts_nothing_more():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    event = created("datasets/churn/2026-11-27/_SUCCESS", 0)

    first = on_object_created(event, CONFIG, ledger, workflows)
    second = on_object_created(event, CONFIG, ledger, workflows)

    assert (first.action, second.action) == ("started", "already_started")
    assert len(workflows.started) == 1
    assert ledger.kinds() == ["TrainingRequested"]


def test_second_marker_name_for_the_same_dataset_is_a_duplicate():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    on_object_created(created("datasets/churn/2026-11-27/_SUCCESS", 0), CONFIG, ledger, workflows)

    outcome = on_object_created(created("datasets/churn/2026-11-27/manifest.json"), CONFIG, ledger, workflows)

    assert outcome.action == "already_started"
    assert len(workflows.started) == 1


@pytest.mark.parametrize(
    ("key", "size", "why"),
    [
        ("datasets/churn/2026-11-27/part-0.parquet", 10, "not a completion marker"),
        ("datasets/churn/2026-11-27/", 0, "folder placeholder"),
        ("other/file.csv", 10, "outside every configured"),
        ("controlplane/report.json", 10, "own output"),
    ],
)
def test_ignored_objects_start_nothing_and_say_why(key, size, why):
    ledger, workflows = FakeLedger(), FakeWorkflows()

    outcome = on_object_created(created(key, size), CONFIG, ledger, workflows)

    assert outcome.action == "ignored"
    assert why in outcome.reason
    assert workflows.started == {}
    assert ledger.records == {}


def test_quiet_period_dataset_starts_one_waiting_workflow_and_counts_objects(frozen_clock):
    ledger, workflows = FakeLedger(), FakeWorkflows()
    outcomes = []
    for part in range(5):
        frozen_clock["now"] = START + timedelta(seconds=30 * part)
        key = f"datasets/fraud/2026-11-27/part-{part}.json"
        outcomes.append(on_object_created(created(key, event_id=f"e-{part}"), CONFIG, ledger, workflows))

    assert [outcome.action for outcome in outcomes] == ["started"] + ["waiting"] * 4
    assert workflows.started == {}  # the outbox starts it, after the request is written
    ((request),) = requested_starts(ledger).values()
    assert request["wait_for_quiet_period"] is True
    assert ledger.pending[next(iter(ledger.records))] == {"start"}
    state = ledger.get_dataset("fraud", "s3://data/datasets/fraud/2026-11-27/")
    assert state is not None
    assert state.object_count == 5
    assert state.last_object_at == START + timedelta(seconds=120)
    assert state.execution_arn is not None


@pytest.mark.parametrize(
    "dataset",
    [
        "2026-12-04 rerun",
        "c++ features",
        "100% sample",
        "dt=2026-12-04",
        "données été データ",
        "a%20b+c",  # verbatim: never URL-decoded into 'a b c'
    ],
)
def test_any_valid_key_starts_its_dataset_once(dataset):
    ledger, workflows = FakeLedger(), FakeWorkflows()
    marker = created(f"datasets/churn/{dataset}/_SUCCESS", 0)

    first = on_object_created(marker, CONFIG, ledger, workflows)
    again = on_object_created(marker, CONFIG, ledger, workflows)

    assert (first.action, again.action) == ("started", "already_started")
    ((name, request),) = workflows.started.items()
    assert request["dataset_uri"] == f"s3://data/datasets/churn/{dataset}/"
    assert RetrainRequest.model_validate(request).key_prefix == f"datasets/churn/{dataset}/"
    assert re.fullmatch(r"[A-Za-z0-9-]{1,80}", name)
    assert ledger.kinds() == ["TrainingRequested"]


def test_keys_of_different_datasets_that_slug_alike_start_different_runs():
    ledger, workflows = FakeLedger(), FakeWorkflows()

    for dataset in ("2026-12-04 rerun", "2026-12-04-rerun", "2026-12-04+rerun"):
        on_object_created(created(f"datasets/churn/{dataset}/_SUCCESS", 0, event_id=dataset), CONFIG, ledger, workflows)

    assert len(workflows.started) == 3


def test_key_longer_than_s3_allows_is_rejected_and_recorded_once():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    key = "datasets/churn/long/" + "x" * (S3_KEY_MAX_BYTES - len("datasets/churn/long/") + 1)
    assert len(key.encode()) == 1025
    event = created(key, event_id="e-long")

    outcome = on_object_created(event, CONFIG, ledger, workflows)
    on_object_created(event, CONFIG, ledger, workflows)  # a redelivery records nothing more

    assert outcome.action == "rejected"
    assert outcome.reason == "the key is 1025 bytes in UTF-8; S3 keys are at most 1024 bytes"
    assert outcome.model == "churn"
    assert workflows.started == {}
    [record] = ledger.records.values()
    assert (record.kind, record.model, record.reason, record.event_id) == (
        "ObjectRejected", "churn", outcome.reason, "e-long",
    )  # fmt: skip
    assert record.details["bucket"] == "data"
    assert record.details["key"] == key[:200] + "…"


def test_dataset_too_long_for_the_ledger_is_rejected_with_the_reason():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    folder = "d" * (DATASET_URI_MAX_BYTES - len("s3://data/datasets/churn/"))  # the URI's '/' makes it 1025 bytes
    key = f"datasets/churn/{folder}/_SUCCESS"
    assert len(key.encode()) <= S3_KEY_MAX_BYTES

    outcome = on_object_created(created(key, 0), CONFIG, ledger, workflows)

    assert outcome.action == "rejected"
    assert outcome.reason.startswith("its dataset cannot be trained: the dataset URI is 1025 bytes in UTF-8")
    assert workflows.started == {}
    assert ledger.kinds() == ["ObjectRejected"]


FRAUD_DATASET = "s3://data/datasets/fraud/2026-11-27/"


def fraud_parts(first: int, count: int, dataset: str = "2026-11-27") -> list[S3ObjectCreated]:
    return [
        created(f"datasets/fraud/{dataset}/part-{n:05d}.json", event_id=f"e-{dataset}-{n}", sequencer=f"{n + 1:018X}")
        for n in range(first, first + count)
    ]


def requested_starts(ledger: FakeLedger) -> dict[str, dict]:
    """The retrain starts the ledger's records carry for the outbox, by execution name."""
    return {r.start.name: r.start.input for r in ledger.records.values() if r.start and r.start.workflow == "retrain"}


def test_a_batch_of_one_quiet_period_dataset_is_one_ledger_write_also_when_it_starts_the_workflow(frozen_clock):
    ledger, workflows = FakeLedger(), FakeWorkflows()

    first = on_batch(fraud_parts(0, 100), CONFIG, ledger, workflows)
    writes_after_first = ledger.dataset_writes[("fraud", FRAUD_DATASET)]
    frozen_clock["now"] = START + timedelta(seconds=5)
    second = on_batch(fraud_parts(100, 100), CONFIG, ledger, workflows)

    assert [outcome.action for outcome in first] == ["started"] + ["waiting"] * 99
    assert {outcome.action for outcome in second} == {"waiting"}
    assert writes_after_first == 1  # arrivals and started mark, in one transaction with the request
    assert ledger.dataset_writes[("fraud", FRAUD_DATASET)] == 2  # the next batch: one write for 100 objects
    state = ledger.get_dataset("fraud", FRAUD_DATASET)
    assert (state.object_count, state.first_object_at, state.last_object_at) == (
        200, START, START + timedelta(seconds=5),
    )  # fmt: skip
    assert state.max_sequencer == sequencer_order(f"{200:018X}")
    assert list(requested_starts(ledger)) == [state.execution_arn.rsplit(":", 1)[-1]]
    assert workflows.started == {}
    assert ledger.kinds() == ["TrainingRequested"]


def test_an_object_twice_in_one_batch_counts_once_and_a_redelivered_batch_counts_again():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    parts = fraud_parts(0, 3)

    on_batch([*parts, parts[1]], CONFIG, ledger, workflows)
    assert ledger.get_dataset("fraud", FRAUD_DATASET).object_count == 3
    on_batch(parts, CONFIG, ledger, workflows)  # SQS delivered the messages again

    assert ledger.get_dataset("fraud", FRAUD_DATASET).object_count == 6  # "at least": never fewer than the objects
    assert len(requested_starts(ledger)) == 1


def test_each_dataset_of_a_batch_is_written_once_and_markers_as_before():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    batch = [
        *fraud_parts(0, 2, "2026-11-27"),
        created("datasets/churn/2026-11-27/part-0.parquet", event_id="c-0"),
        *fraud_parts(0, 3, "2026-11-28"),
        created("datasets/churn/2026-11-27/_SUCCESS", 0, event_id="c-1"),
        *fraud_parts(2, 1, "2026-11-27"),
    ]

    outcomes = on_batch(batch, CONFIG, ledger, workflows)

    assert [outcome.action for outcome in outcomes] == [
        "started", "waiting", "ignored", "started", "waiting", "waiting", "started", "waiting",
    ]  # fmt: skip
    assert ledger.dataset_writes == {("fraud", FRAUD_DATASET): 1, ("fraud", "s3://data/datasets/fraud/2026-11-28/"): 1}
    assert ledger.get_dataset("fraud", FRAUD_DATASET).object_count == 3
    assert len(workflows.started) == 1  # the marker's start; the two quiet-period starts go through the outbox
    assert len(requested_starts(ledger)) == 2


class FailingDatasetLedger(FakeLedger):
    """A ledger whose writes for one dataset fail (throttled, say)."""

    def __init__(self, failing_uri: str) -> None:
        super().__init__()
        self.failing_uri = failing_uri

    def record_arrivals(self, arrivals: DatasetArrivals) -> DatasetState:
        if arrivals.dataset_uri == self.failing_uri:
            raise TransientError(f"throttled writing {arrivals.dataset_uri}")
        return super().record_arrivals(arrivals)


def test_a_failed_dataset_write_fails_the_messages_of_that_dataset_only():
    ledger, workflows = FailingDatasetLedger(FRAUD_DATASET), FakeWorkflows()
    batch = [*fraud_parts(0, 2, "2026-11-27"), *fraud_parts(0, 2, "2026-11-28"), *fraud_parts(2, 1, "2026-11-27")]

    outcomes = on_batch(batch, CONFIG, ledger, workflows)

    failed = [index for index, outcome in enumerate(outcomes) if isinstance(outcome, Exception)]
    assert failed == [0, 1, 4]
    assert all("throttled writing" in str(outcomes[index]) for index in failed)
    assert [outcomes[2].action, outcomes[3].action] == ["started", "waiting"]
    assert ledger.get_dataset("fraud", FRAUD_DATASET) is None
    assert [request["dataset_uri"] for request in requested_starts(ledger).values()] == [
        "s3://data/datasets/fraud/2026-11-28/"
    ]


def test_a_failed_start_transaction_writes_nothing_and_the_retry_starts_the_dataset():
    class ThrottledOnce(FakeLedger):
        throttled = False

        def start_dataset(self, arrivals, request):
            if not self.throttled:
                self.throttled = True
                raise TransientError("TransactWriteItems throttled")
            return super().start_dataset(arrivals, request)

    ledger = ThrottledOnce()

    [outcome] = on_batch(fraud_parts(0, 1), CONFIG, ledger, FakeWorkflows())
    assert isinstance(outcome, TransientError)
    assert (ledger.get_dataset("fraud", FRAUD_DATASET), ledger.records) == (None, {})  # all or nothing
    [retried] = on_batch(fraud_parts(0, 1), CONFIG, ledger, FakeWorkflows())

    assert retried.action == "started"
    state = ledger.get_dataset("fraud", FRAUD_DATASET)
    assert (state.object_count, state.execution_arn) == (1, retried.execution_arn)
    assert ledger.kinds() == ["TrainingRequested"]


class RaceLosingLedger(FakeLedger):
    """Every start transaction is cancelled, as when a concurrent batch of the dataset got ahead."""

    def start_dataset(self, arrivals, request):
        return False


def test_a_start_transaction_that_loses_a_race_falls_back_to_arrivals_start_record_mark():
    ledger, workflows = RaceLosingLedger(), FakeWorkflows()

    [outcome] = on_batch(fraud_parts(0, 1), CONFIG, ledger, workflows)

    assert outcome.action == "started"
    assert list(workflows.started) == [outcome.execution_arn.rsplit(":", 1)[-1]]  # started by the ingress itself
    assert ledger.get_dataset("fraud", FRAUD_DATASET).execution_arn == outcome.execution_arn
    assert ledger.dataset_writes[("fraud", FRAUD_DATASET)] == 2  # the arrivals, then the mark after the request
    assert ledger.kinds() == ["TrainingRequested"]


def test_a_start_that_fails_after_the_arrivals_leaves_the_dataset_unmarked_for_the_retry():
    class FailingWorkflows(FakeWorkflows):
        def start_retrain(self, name, request):
            raise TransientError("StartExecution throttled")

    ledger = RaceLosingLedger()

    [outcome] = on_batch(fraud_parts(0, 1), CONFIG, ledger, FailingWorkflows())
    [retried] = on_batch(fraud_parts(0, 1), CONFIG, ledger, FakeWorkflows())

    assert isinstance(outcome, TransientError)
    assert retried.action == "started"
    state = ledger.get_dataset("fraud", FRAUD_DATASET)
    assert (state.object_count, state.execution_arn) == (2, retried.execution_arn)  # counted at least once
    assert ledger.kinds() == ["TrainingRequested"]


@pytest.mark.parametrize(
    ("sequencer", "order"),
    [
        ("0055AED6DCD90281E5", "0055AED6DCD90281E5" + "0" * 14),
        ("ff", "FF" + "0" * 30),
        (None, None),
        ("", None),
        ("not-hex", None),
    ],
)
def test_sequencers_are_kept_in_s3s_order_or_not_at_all(sequencer, order):
    assert sequencer_order(sequencer) == order


def test_sequencers_of_different_lengths_compare_as_s3_says():
    """S3 User Guide: right-pad the shorter with zeros, then compare lexicographically."""
    assert sequencer_order("0055AED6DCD90281E6") > sequencer_order("0055AED6DCD90281E5FF")
    assert sequencer_order("A") == sequencer_order("A000")
