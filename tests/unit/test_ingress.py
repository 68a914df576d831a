"""Data arrival decisions with in-memory fakes: one workflow per dataset, whatever the event stream."""

from datetime import UTC, datetime, timedelta

import pytest

from controlplane import clock
from controlplane.config import parse_config
from controlplane.ingress import on_object_created
from controlplane.models import S3ObjectCreated
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
