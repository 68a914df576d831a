"""The outbox and the order of writes: a decision recorded once has its effects exactly once, even when the call
after the write fails and the task is retried."""

from datetime import UTC, datetime, timedelta

import pytest

from controlplane import clock, deploy, drift, drift_signals, outbox, retrain
from controlplane.audit import announced
from controlplane.config import load_config
from controlplane.events.pipelines import PipelineExecutionStatusChange
from controlplane.failures import StepFailure
from controlplane.ports import AuditRecord, IncidentChange, WorkflowStart, WriteConflict
from tests.fakes import (
    FakeAnnouncer,
    FakeDeploymentLedger,
    FakeDescriber,
    FakeDriftLedger,
    FakeEndpoints,
    FakeLedger,
    FakeRegistry,
    FakeWorkflows,
)
from tests.unit.test_deploy import EXEC, plan_for
from tests.unit.test_drift import alarm

CONFIG = load_config()
T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)
PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-training/execution/abc123def456"
RETRAIN_EXEC = "arn:aws:states:us-east-1:123456789012:execution:retrain:run-churn"


@pytest.fixture(autouse=True)
def frozen_clock():
    moments = {"now": T0}
    clock.use(lambda: moments["now"])
    yield moments
    clock.use(None)


def decision_record(**fields) -> AuditRecord:
    record = AuditRecord(record_id="exec#Decided", kind="DriftResponseDecided", model="churn", reason="r", at=T0)
    start = WorkflowStart("retrain", "retrain-churn-x", {"model": "churn"})
    return announced(record._replace(start=start, **fields), "Drift Response Decided")


def test_effects_are_delivered_in_order_and_marked():
    ledger, announcer, workflows = FakeLedger(), FakeAnnouncer(), FakeWorkflows()
    ledger.record(decision_record())

    delivery = outbox.deliver("exec#Decided", ledger, announcer, workflows)

    assert delivery.delivered == ["sns", "bus", "start"]
    assert announcer.notified == announcer.published == [("Drift Response Decided", "exec#Decided")]
    assert workflows.started == {"retrain-churn-x": {"model": "churn"}}
    assert ledger.pending_effects("exec#Decided") == set()
    assert outbox.deliver("exec#Decided", ledger, announcer, workflows).outcome == "nothing_pending"


@pytest.mark.parametrize("failing", ["sns", "bus"])
def test_a_throttled_channel_is_retried_without_repeating_what_was_delivered(failing):
    ledger, announcer, workflows = FakeLedger(), FakeAnnouncer(), FakeWorkflows()
    ledger.record(decision_record())
    announcer.failing[failing] = 1

    with pytest.raises(RuntimeError, match="throttled"):
        outbox.deliver("exec#Decided", ledger, announcer, workflows)
    assert workflows.started == {}  # the start waits for the announcement before it
    retried = outbox.deliver("exec#Decided", ledger, announcer, workflows)

    assert len(announcer.notified) == len(announcer.published) == 1
    assert retried.delivered == (["sns", "bus", "start"] if failing == "sns" else ["bus", "start"])
    assert list(workflows.started) == ["retrain-churn-x"]


def test_a_failed_mark_is_tried_again_and_never_sends_twice(monkeypatch):
    ledger, announcer, workflows = FakeLedger(), FakeAnnouncer(), FakeWorkflows()
    ledger.record(decision_record())
    original, failures = ledger.mark_delivered, []

    def throttled_twice(record_id, effect):
        if len(failures) < outbox.MARK_ATTEMPTS - 1:
            failures.append(effect)
            raise RuntimeError("dynamodb throttled")
        original(record_id, effect)

    monkeypatch.setattr(ledger, "mark_delivered", throttled_twice)
    outbox.deliver("exec#Decided", ledger, announcer, workflows)

    assert announcer.notified == [("Drift Response Decided", "exec#Decided")]
    assert ledger.pending_effects("exec#Decided") == set()


def test_a_delivery_that_died_after_its_claim_is_taken_over_after_the_lease(frozen_clock, monkeypatch):
    ledger, announcer, workflows = FakeLedger(), FakeAnnouncer(), FakeWorkflows()
    ledger.record(decision_record())
    monkeypatch.setattr(ledger, "mark_delivered", lambda record_id, effect: (_ for _ in ()).throw(RuntimeError("down")))
    with pytest.raises(RuntimeError, match="down"):
        outbox.deliver("exec#Decided", ledger, announcer, workflows)
    monkeypatch.undo()

    with pytest.raises(outbox.EffectInFlight):  # the claim stands: a retry does not send SNS again
        outbox.deliver("exec#Decided", ledger, announcer, workflows)
    assert len(announcer.notified) == 1
    frozen_clock["now"] = T0 + outbox.CLAIM_LEASE + timedelta(seconds=1)  # nobody finished it: taken over
    outbox.deliver("exec#Decided", ledger, announcer, workflows)

    assert len(announcer.notified) == 2  # the one case an announcement repeats, with the same record_id
    assert ledger.pending_effects("exec#Decided") == set()


def test_a_record_without_effects_or_unknown_changes_nothing():
    ledger, announcer, workflows = FakeLedger(), FakeAnnouncer(), FakeWorkflows()
    ledger.record(AuditRecord(record_id="quiet", kind="DriftEvidence", model="churn", reason="r", at=T0))

    assert outbox.deliver("quiet", ledger, announcer, workflows).outcome == "nothing_pending"
    assert outbox.deliver("missing", ledger, announcer, workflows).outcome == "unknown_record"
    assert announcer.notified == []


def test_record_deployed_retried_after_its_write_keeps_the_previous_version():
    ledger, registry = FakeDeploymentLedger(), FakeRegistry()
    world = (ledger, registry, FakeEndpoints(), FakeWorkflows(), FakeAnnouncer())
    v6, v7 = plan_for(world, 6), plan_for(world, 7)
    deploy.record_deployed(v6, EXEC, CONFIG, ledger)

    deploy.record_deployed(v7, EXEC + "7", CONFIG, ledger)
    deploy.record_deployed(v7, EXEC + "7", CONFIG, ledger)  # the task's retry after a later failure

    state = ledger.get_endpoint_state("churn-staging")
    assert (state.serving_version, state.previous_package_arn) == (7, v6.package_arn)
    assert [kind for kind, _ in ledger.announcements()] == ["Deployment Succeeded", "Deployment Succeeded"]


def test_a_new_incident_and_its_workflow_start_are_one_write(frozen_clock):
    ledger = FakeDriftLedger()
    signal = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift"), CONFIG)

    outcome = drift_signals.on_signal(signal, CONFIG, ledger, "data")

    (start,) = ledger.starts("drift")
    assert start.name == outcome.execution_name
    assert ledger.pending_effects(f"{signal.signal_id}#signal") == {"start"}
    assert ledger.get_incident("churn", "churn-prod", "data_drift").incident_id == outcome.incident_id


def test_a_signal_racing_another_for_the_incident_becomes_its_evidence(frozen_clock, monkeypatch):
    ledger = FakeDriftLedger()
    first = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift"), CONFIG)
    second = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift", at="2026-11-27T09:01:00Z"), CONFIG)
    original = ledger.record
    raced = {"done": False}

    def record_after_the_other(record, *also):
        if also and not raced["done"]:  # the other signal opens the incident between our read and our write
            raced["done"] = True
            assert drift_signals.on_signal(first, CONFIG, ledger, "data").action == "incident_opened"
        return original(record, *also)

    monkeypatch.setattr(ledger, "record", record_after_the_other)
    outcome = drift_signals.on_signal(second, CONFIG, ledger, "data")

    assert outcome.action == "evidence_added"
    assert len(ledger.starts("drift")) == 1
    assert ledger.get_incident("churn", "churn-prod", "data_drift").signal_count == 2


def test_a_conflict_writes_nothing():
    ledger = FakeDriftLedger()
    signal = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift"), CONFIG)
    drift_signals.on_signal(signal, CONFIG, ledger, "data")
    incident = ledger.get_incident("churn", "churn-prod", "data_drift")

    record = AuditRecord(record_id="late", kind="DriftEvidence", model="churn", reason="r", at=T0)
    with pytest.raises(WriteConflict):
        ledger.record(record, IncidentChange(incident, expected_id="someone-else"))
    assert not ledger.has_record("late")


def test_a_retried_retrain_decision_counts_once_against_the_budget():
    ledger = FakeDriftLedger()
    ledger.datasets_seen["churn"] = "s3://data/datasets/churn/2026-11-27/"
    signal = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift"), CONFIG)
    context = drift.prepare({"incident_id": "inc-1", "signal": signal.model_dump(mode="json")}, "exec", CONFIG, "data")
    policy = CONFIG.model("churn").drift
    decision = drift.decide_response(context, policy.model_copy(update={"require_approval": False}), ledger)
    assert decision.action == "retrain"

    drift.record_decision(context, decision, policy, "arn:exec", ledger)
    drift.record_decision(context, decision, policy, "arn:exec", ledger)

    assert len(ledger.retrain_times("churn", since=T0 - timedelta(days=1))) == 1
    assert [start.name for start in ledger.starts("retrain")] == [decision.start_execution]


def _retrain_plan() -> retrain.RetrainPlan:
    request = {"model": "churn", "dataset_uri": "s3://data/datasets/churn/2026-11-27/", "reason": "t"}
    return retrain.prepare(request, "run-churn", CONFIG, "data")


def test_a_workflow_that_fails_while_its_pipeline_runs_keeps_the_slot_until_the_pipeline_ends():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    plan = _retrain_plan()
    assert retrain.acquire_slot(plan, ledger).decision == "start"
    retrain.record_started(plan, PIPELINE_ARN, RETRAIN_EXEC, ledger)

    failure = StepFailure(error="Lambda.TooManyRequestsException", cause="throttled")
    assert retrain.record_outcome(plan, PIPELINE_ARN, None, failure, RETRAIN_EXEC, ledger).status == "Failed"
    assert "churn" in ledger.slots  # the pipeline still runs: the next dataset must keep waiting

    detail = {
        "pipelineExecutionArn": PIPELINE_ARN,
        "currentPipelineExecutionStatus": "Succeeded",
        "previousPipelineExecutionStatus": "Executing",
        "pipelineArn": PIPELINE_ARN.rsplit("/execution", 1)[0],
    }
    event = PipelineExecutionStatusChange.model_validate(
        {"id": "e1", "source": "aws.sagemaker", "account": "123456789012", "region": "us-east-1", "resources": [],
         "time": "2026-11-27T10:00:00Z", "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
         "detail": detail}
    )  # fmt: skip
    outcome = retrain.on_pipeline_status(event, ledger, workflows, FakeDescriber())

    assert outcome.action == "recorded"
    assert ledger.slots == {}
    assert "TrainingSucceeded" in ledger.kinds()
