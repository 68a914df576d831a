"""Data arrival decisions with in-memory fakes: one workflow per dataset, whatever the event stream."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from controlplane import clock
from controlplane.config import parse_config
from controlplane.ingress import on_object_created
from controlplane.models import DATASET_URI_MAX_BYTES, S3_KEY_MAX_BYTES, RetrainRequest, S3ObjectCreated
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


def created(key: str, size: int = 10, event_id: str = "e-1") -> S3ObjectCreated:
    return S3ObjectCreated.model_validate(
        {
            "id": event_id,
            "detail-type": "Object Created",
            "source": "aws.s3",
            "time": "2026-11-27T09:00:00Z",
            "detail": {"bucket": {"name": "data"}, "object": {"key": key, "size": size}, "reason": "PutObject"},
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
    ((request),) = workflows.started.values()
    assert request["wait_for_quiet_period"] is True
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
