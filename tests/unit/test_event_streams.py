"""Property tests: duplicated, reordered and delayed event streams on the data, approval and drift paths.

Each path is driven over fakes with the events hypothesis draws, every distinct event delivered one to three times
in any order (at least once, as EventBridge and SQS deliver), with time passing in between.
"""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from controlplane import clock, deploy_triggers, drift_signals, outbox
from controlplane.config import load_config
from controlplane.drift_config import DriftSignal
from controlplane.errors import TransientError
from controlplane.events.monitoring import AlarmStateChange
from controlplane.events.registry import ModelPackageStateChange
from controlplane.events.s3 import S3ObjectCreated
from controlplane.ingress import on_batch, on_object_created
from controlplane.naming import retrain_execution_name
from controlplane.ports import DatasetArrivals, DatasetState
from tests.fakes import FakeAnnouncer, FakeDeploymentLedger, FakeDriftLedger, FakeLedger, FakeWorkflows
from tests.unit.test_ingress import CONFIG as INGRESS_CONFIG

CONFIG = load_config()
T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)


def at_least_once(events: list, data: st.DataObject) -> list:
    """Every event delivered one to three times, the whole stream in any order."""
    copies = [event for event in events for _ in range(data.draw(st.integers(1, 3)))]
    return data.draw(st.permutations(copies))


def run_at(moments: list[timedelta], index: int, action):
    clock.use(lambda: T0 + sum(moments[: index + 1], timedelta()))
    try:
        return action()
    finally:
        clock.use(None)


def s3_event(key: str, event_id: str, size: int = 10) -> S3ObjectCreated:
    return S3ObjectCreated.model_validate(
        {"id": event_id, "detail-type": "Object Created", "source": "aws.s3", "time": "2026-11-27T09:00:00Z",
         "detail": {"bucket": {"name": "data"}, "object": {"key": key, "size": size}, "reason": "PutObject"}}
    )  # fmt: skip


datasets = st.lists(
    st.tuples(st.sampled_from(["churn", "fraud"]), st.integers(0, 4), st.booleans()), min_size=1, max_size=4
)


def dataset_events(drawn: list) -> tuple[list[S3ObjectCreated], set[str], dict[tuple[str, str], int]]:
    """The drawn datasets' events; the executions they must start; each quiet-period dataset's object count."""
    events, expected, objects = [], set(), {}
    for index, (model, files, marker) in enumerate(drawn):
        prefix = f"datasets/{model}/d{index}/"
        keys = [f"{prefix}part-{n}.parquet" for n in range(files)] + ([f"{prefix}_SUCCESS"] if marker else [])
        events += [s3_event(key, f"e-{index}-{n}") for n, key in enumerate(keys)]
        if keys and (model == "fraud" or marker):
            expected.add(retrain_execution_name(model, f"s3://data/{prefix}"))
        if keys and model == "fraud":
            objects[(model, f"s3://data/{prefix}")] = len(keys)
    return events, expected, objects


def deliver_outbox(ledger: FakeLedger, workflows: FakeWorkflows) -> None:
    """What the ledger's stream does after the writes: each record's effects (a quiet-period dataset's start)."""
    for record_id in list(ledger.records):
        outbox.deliver(record_id, ledger, FakeAnnouncer(), workflows)


@given(datasets, st.data())
def test_each_complete_dataset_starts_exactly_one_training(drawn, data):
    """Marker mode (churn) trains a dataset once its marker arrived; quiet-period mode (fraud) once per dataset."""
    events, expected, _ = dataset_events(drawn)
    stream = at_least_once(events, data)
    delays = data.draw(st.lists(st.integers(0, 600).map(lambda s: timedelta(seconds=s)), min_size=len(stream)))
    ledger, workflows = FakeLedger(), FakeWorkflows()

    outcomes = [
        run_at(delays, i, lambda e=event: on_object_created(e, INGRESS_CONFIG, ledger, workflows).action)
        for i, event in enumerate(stream)
    ]
    deliver_outbox(ledger, workflows)

    assert set(workflows.started) == expected
    assert outcomes.count("started") == len(expected)
    assert sorted(record.execution_arn.rsplit(":", 1)[-1] for record in ledger.records.values()) == sorted(expected)


class FlakyLedger(FakeLedger):
    """Dataset writes fail when the drawn plan says so (a throttled UpdateItem), until the plan runs out."""

    def __init__(self, failures: list[bool]) -> None:
        super().__init__()
        self.failures = failures

    def record_arrivals(self, arrivals: DatasetArrivals) -> DatasetState:
        if self.failures and self.failures.pop():
            raise TransientError(f"throttled writing {arrivals.dataset_uri}")
        return super().record_arrivals(arrivals)


@given(datasets, st.data())
def test_batches_with_failed_dataset_writes_start_each_complete_dataset_once(drawn, data):
    """The stream in SQS batches of 1 to 10; a failed dataset write fails that dataset's messages, which SQS
    delivers again later. Each dataset is written at most once per batch, also in the batch that starts it, and
    its count is at least its number of objects."""
    events, expected, objects = dataset_events(drawn)
    queue = at_least_once(events, data)
    ledger, workflows = FlakyLedger(data.draw(st.lists(st.booleans(), max_size=6))), FakeWorkflows()
    outcomes, moment = [], 0

    while queue:
        size = data.draw(st.integers(1, 10))
        batch, queue = queue[:size], queue[size:]
        moment += 1
        before = dict(ledger.dataset_writes)
        results = run_at(
            [timedelta(seconds=30)] * moment, moment - 1, lambda b=batch: on_batch(b, INGRESS_CONFIG, ledger, workflows)
        )
        queue += [event for event, result in zip(batch, results, strict=True) if isinstance(result, Exception)]
        outcomes += [result.action for result in results if not isinstance(result, Exception)]
        for key, writes in ledger.dataset_writes.items():
            assert writes - before.get(key, 0) <= 1
    deliver_outbox(ledger, workflows)

    assert set(workflows.started) == expected
    assert outcomes.count("started") == len(expected)
    assert sorted(record.execution_arn.rsplit(":", 1)[-1] for record in ledger.records.values()) == sorted(expected)
    for key, count in objects.items():
        assert ledger.datasets[key].object_count >= count
        assert ledger.datasets[key].execution_arn is not None


def package_event(version: int, status: str, edit: bool, event_id: str) -> ModelPackageStateChange:
    group = "churn-models"
    return ModelPackageStateChange.model_validate(
        {"id": event_id, "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
         "time": "2026-11-27T09:00:00Z",
         "detail": {"ModelPackageGroupName": group, "ModelPackageVersion": version,
                    "ModelPackageArn": f"arn:aws:sagemaker:us-east-1:123456789012:model-package/{group}/{version}",
                    "ModelApprovalStatus": status,
                    "UpdatedModelPackageFields": ["CustomerMetadataProperties"] if edit else ["ModelApprovalStatus"]}}
    )  # fmt: skip


approvals = st.lists(
    st.tuples(st.integers(1, 4), st.sampled_from(["Approved", "Rejected"]), st.booleans()), min_size=1, max_size=6
)


@given(approvals, st.data())
def test_duplicated_and_reordered_approvals_start_what_each_distinct_event_starts_once(drawn, data):
    distinct = [package_event(v, status, edit, f"e-{i}") for i, (v, status, edit) in enumerate(dict.fromkeys(drawn))]
    once_ledger, once = FakeDeploymentLedger(), FakeWorkflows()
    for event in distinct:
        deploy_triggers.on_model_package_change(event, CONFIG, once_ledger, once)

    ledger, workflows = FakeDeploymentLedger(), FakeWorkflows()
    for event in at_least_once(distinct, data):
        redelivered = event.model_copy(update={"id": f"{event.id}-{data.draw(st.integers(0, 2))}"})
        deploy_triggers.on_model_package_change(redelivered, CONFIG, ledger, workflows)

    assert workflows.deploys == once.deploys
    approved = {f"/{v}" for v, status, edit in drawn if status == "Approved" and not edit}
    assert {request["model_package_arn"][-2:] for request in workflows.deploys.values()} == approved


signals = st.lists(st.tuples(st.sampled_from(["ALARM", "OK"]), st.integers(0, 240)), min_size=1, max_size=8)


def alarm_signal(value: str, minute: int) -> DriftSignal:
    stamp = (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return drift_signals.signal_from_alarm(
        AlarmStateChange.model_validate(
            {"id": f"a-{value}-{stamp}", "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
             "time": stamp, "detail": {"alarmName": "churn-prod-feature-drift",
                                       "state": {"value": value, "reason": "threshold", "timestamp": stamp},
                                       "previousState": {"value": "OK"}}}
        ),
        CONFIG,
    )  # fmt: skip


@given(signals, st.data())
def test_drift_signals_make_one_record_each_and_one_workflow_per_incident(drawn, data):
    distinct = [alarm_signal(value, minute) for value, minute in dict.fromkeys(drawn)]
    stream = at_least_once(distinct, data)
    delays = data.draw(st.lists(st.integers(0, 120).map(lambda m: timedelta(minutes=m)), min_size=len(stream)))
    ledger = FakeDriftLedger()

    outcomes = [
        run_at(delays, i, lambda s=signal: drift_signals.on_signal(s, CONFIG, ledger, "data"))
        for i, signal in enumerate(stream)
    ]

    opened = [outcome for outcome in outcomes if outcome.action == "incident_opened"]
    assert len(ledger.starts("drift")) == len(opened) == ledger.kinds().count("DriftIncidentOpened")
    assert len(ledger.records) <= len(distinct)  # a redelivered signal records nothing
    assert all(ledger.records[f"{signal.signal_id}#signal"] for signal in distinct if signal.state == "alarm")
    again = [
        run_at(delays, 0, lambda s=signal: drift_signals.on_signal(s, CONFIG, ledger, "data").action)
        for signal in distinct
    ]
    assert set(again) == {"ignored"}
