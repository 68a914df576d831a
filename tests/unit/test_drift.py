"""Drift signals, incidents and the response policy over fakes: one response per incident, never a storm."""

from datetime import UTC, datetime, timedelta

import pytest

from controlplane import clock, drift, drift_signals
from controlplane.config import load_config
from controlplane.drift_config import DriftPolicy
from controlplane.errors import InvalidRequest
from controlplane.events.monitoring import AlarmStateChange, DriftDetected, ProcessingJobStateChange
from controlplane.failures import StepFailure
from controlplane.ports import EndpointState, StageDeployment
from tests.fakes import FakeDriftLedger

CONFIG = load_config()
T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)
V1 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/1"
V2 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/2"
DATASET = "s3://data/datasets/churn/2026-11-27/"


@pytest.fixture(autouse=True)
def frozen_clock():
    moments = {"now": T0}
    clock.use(lambda: moments["now"])
    yield moments
    clock.use(None)


def alarm(name: str, value: str = "ALARM", at: str = "2026-11-27T09:00:00Z") -> AlarmStateChange:
    return AlarmStateChange.model_validate(
        {"id": f"a-{name}-{value}-{at}", "detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch",
         "time": at, "detail": {"alarmName": name, "state": {"value": value, "reason": "threshold crossed",
                                                                "timestamp": at}, "previousState": {"value": "OK"}}}
    )  # fmt: skip


def test_a_mapped_alarm_becomes_a_signal_about_the_production_endpoint():
    signal = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift"), CONFIG)

    assert signal is not None
    assert (signal.model, signal.endpoint, signal.kind, signal.state) == ("churn", "churn-prod", "data_drift", "alarm")
    assert drift_signals.signal_from_alarm(alarm("someone-elses-alarm"), CONFIG) is None
    assert drift_signals.signal_from_alarm(alarm("churn-prod-auc-drop", "OK"), CONFIG).state == "ok"


class FakeReports:
    def __init__(self, violations):
        self.asked: list[str] = []
        self._violations = violations

    def violations(self, output_uri: str):
        self.asked.append(output_uri)
        return self._violations


def monitoring_event(exit_message: str, monitoring_type: str = "DataQuality") -> ProcessingJobStateChange:
    return ProcessingJobStateChange.model_validate(
        {"id": "p", "detail-type": "SageMaker Processing Job State Change", "source": "aws.sagemaker",
         "time": "2026-11-27T10:00:00Z",
         "detail": {"ProcessingJobName": "model-monitoring-202611271000-abc", "ProcessingJobStatus": "Completed",
                    "ExitMessage": exit_message,
                    "Environment": {"sagemaker_endpoint_name": "churn-prod", "monitoring_type": monitoring_type},
                    "ProcessingOutputConfig": {"Outputs": [{"S3Output": {"S3Uri": "s3://reports/churn-prod/run1"}}]}}}
    )  # fmt: skip


def test_a_monitoring_run_with_violations_becomes_a_classified_signal():
    reports = FakeReports([{"feature_name": "age", "constraint_check_type": "baseline_drift_check"}])

    signal = drift_signals.signal_from_monitoring(monitoring_event("CompletedWithViolations: 1 violations."), reports)
    clean = drift_signals.signal_from_monitoring(monitoring_event("Completed: Job completed successfully."), reports)
    quality = drift_signals.signal_from_monitoring(
        monitoring_event("CompletedWithViolations: 1.", "ModelQuality"), reports
    )

    assert signal is not None
    assert (signal.endpoint, signal.kind, signal.features) == ("churn-prod", "data_drift", ["age"])
    assert signal.evidence_uri == "s3://reports/churn-prod/run1/constraint_violations.json"
    assert clean is None
    assert quality.kind == "model_quality"


def custom(endpoint: str = "churn-prod", kind: str = "data_drift", event_id: str = "c1") -> DriftDetected:
    return DriftDetected.model_validate(
        {"id": event_id, "detail-type": "Drift Detected", "source": "custom.evidently", "time": "2026-11-27T09:00:00Z",
         "detail": {"model": "churn", "endpoint": endpoint, "kind": kind, "evidence_uri": "s3://e/r.html"}}
    )  # fmt: skip


def test_repeated_signals_make_one_incident_and_one_workflow(frozen_clock):
    ledger = FakeDriftLedger()

    outcomes = []
    for minute in range(4):
        frozen_clock["now"] = T0 + timedelta(minutes=minute)
        signal = drift_signals.signal_from_custom(custom(event_id=f"c{minute}"))
        outcomes.append(drift_signals.on_signal(signal, CONFIG, ledger, "data").action)

    assert outcomes == ["incident_opened", "evidence_added", "evidence_added", "evidence_added"]
    assert len(ledger.starts("drift")) == 1
    assert ledger.get_incident("churn", "churn-prod", "data_drift").signal_count == 4


def test_a_flapping_alarm_stays_one_incident_but_a_later_one_is_new(frozen_clock):
    ledger = FakeDriftLedger()
    sequence = [(0, "ALARM"), (5, "OK"), (10, "ALARM"), (15, "OK")]
    for minute, value in sequence:
        frozen_clock["now"] = T0 + timedelta(minutes=minute)
        stamp = (T0 + timedelta(minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")
        signal = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift", value, stamp), CONFIG)
        drift_signals.on_signal(signal, CONFIG, ledger, "data")
    assert len(ledger.starts("drift")) == 1
    assert [kind for kind, _ in ledger.announcements()] == ["Drift Resolved", "Drift Resolved"]

    frozen_clock["now"] = T0 + timedelta(minutes=15 + 31)
    later = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift", "ALARM", "2026-11-27T09:46:00Z"), CONFIG)
    assert drift_signals.on_signal(later, CONFIG, ledger, "data").action == "incident_opened"
    assert len(ledger.starts("drift")) == 2


def test_signals_for_endpoints_not_under_control_are_recorded_not_acted_on():
    ledger = FakeDriftLedger()

    outcome = drift_signals.on_signal(
        drift_signals.signal_from_custom(custom(endpoint="someone-else")), CONFIG, ledger, "data"
    )

    assert outcome.action == "ignored"
    assert ledger.starts("drift") == []
    assert ledger.kinds() == ["DriftIgnored"]


def context_for(kind: str, **extra) -> drift.DriftContext:
    signal = drift_signals.signal_from_custom(custom(kind=kind))
    return drift.prepare(
        {"incident_id": "inc-1", "signal": signal.model_dump(mode="json"), **extra}, "drift-run", CONFIG, "data"
    )


def serving(ledger: FakeDriftLedger, deployed_at: datetime, previous: str | None = V1) -> None:
    ledger.put_endpoint_state(
        EndpointState(
            "churn-prod", "churn", "prod", serving_package_arn=V2, previous_package_arn=previous, updated_at=deployed_at
        )
    )
    ledger.record_stage_deployment(StageDeployment(V2, "prod", "churn-prod", "cfg-v2", "Deployed", deployed_at))
    if previous:
        ledger.record_stage_deployment(StageDeployment(previous, "prod", "churn-prod", "cfg-v1", "Deployed", T0))


POLICY = CONFIG.model("churn").drift


def test_quality_drop_right_after_a_deployment_rolls_back_to_the_previous_version():
    ledger = FakeDriftLedger()
    serving(ledger, T0 - timedelta(hours=2))

    decision = drift.decide_response(context_for("model_quality"), POLICY, ledger)

    assert decision.action == "rollback"
    assert decision.start_input == {
        "endpoint": "churn-prod",
        "to": V1,
        "reason": "drift: model_quality reported by custom.evidently",
    }
    assert decision.start_execution.startswith("rollback-churn-prod-")


def test_quality_drop_long_after_the_deployment_asks_a_human():
    ledger = FakeDriftLedger()
    serving(ledger, T0 - timedelta(days=3))

    decision = drift.decide_response(context_for("model_quality"), POLICY, ledger)

    assert (decision.action, decision.wait_for_human) == ("notify", True)
    assert "no deployment in the rollback window" in decision.reason
    assert decision.default_action == "dismiss"


def test_data_drift_retrains_on_the_newest_dataset_within_cooldown_and_budget(frozen_clock):
    ledger = FakeDriftLedger()
    ledger.datasets_seen["churn"] = DATASET

    first = drift.decide_response(context_for("data_drift"), POLICY, ledger)
    ledger.note_retrain("churn", T0)
    frozen_clock["now"] = T0 + timedelta(hours=1)
    in_cooldown = drift.decide_response(context_for("data_drift"), POLICY, ledger)
    ledger.note_retrain("churn", T0 + timedelta(hours=13))
    frozen_clock["now"] = T0 + timedelta(hours=23, minutes=59)
    ledger.retrains["churn"] = {}
    ledger.note_retrain("churn", T0 + timedelta(hours=1))
    ledger.note_retrain("churn", T0 + timedelta(hours=2), "other")
    frozen_clock["now"] = T0 + timedelta(hours=15)
    over_budget = drift.decide_response(context_for("data_drift"), POLICY, ledger)

    assert first.action == "retrain"
    assert first.start_input["dataset_uri"] == DATASET
    assert first.start_input["run_key"] == "drift-inc-1"
    assert (in_cooldown.action, in_cooldown.wait_for_human) == ("notify", True)
    assert "cooldown" in in_cooldown.reason
    assert "budget of 2 a day is spent" in over_budget.reason


def test_require_approval_turns_every_action_into_a_question():
    ledger = FakeDriftLedger()
    ledger.datasets_seen["churn"] = DATASET
    policy = POLICY.model_copy(update={"require_approval": True, "default_action": "retrain"})

    decision = drift.decide_response(context_for("data_drift"), policy, ledger)

    assert (decision.action, decision.proposed_action, decision.wait_for_human) == ("notify", "retrain", True)
    assert decision.timeout_seconds == policy.approval_timeout_minutes * 60


DECISION_ARN = "arn:aws:states:us-east-1:123456789012:stateMachine:stack-decision"


def asked(ledger: FakeDriftLedger, context: drift.DriftContext, question: drift.Decision) -> None:
    drift.ask_human("token-1", context, question, "arn:drift-run", DECISION_ARN, ledger)


def answered(ledger: FakeDriftLedger, answer: dict, execution: str = "arn:decision:answer-1") -> dict:
    """What the decision workflow resumes the drift workflow with, after claiming the question in the ledger."""
    assert ledger.claim_decision(answer["incident_id"], execution, answer["by"], answer["action"]) is not None
    return {**answer, "decision_execution_arn": execution}


def test_a_human_answer_or_the_timeout_default_becomes_the_action():
    ledger = FakeDriftLedger()
    ledger.datasets_seen["churn"] = DATASET
    context = context_for("bias")
    question = drift.decide_response(context, POLICY, ledger)
    asked(ledger, context, question)

    answer = answered(ledger, {"incident_id": "inc-1", "action": "retrain", "by": "alice", "reason": "confirmed"})
    approved = drift.apply_answer(context, question, answer, CONFIG, ledger)
    timed_out = drift.apply_answer(context, question, None, CONFIG, ledger)

    assert (approved.action, approved.reason) == ("retrain", "retrain decided by alice: confirmed")
    assert approved.start_input["dataset_uri"] == DATASET
    assert (timed_out.action, timed_out.reason) == ("dismiss", "no answer in time; default: dismiss")
    assert approved.asked_human
    assert timed_out.asked_human
    with pytest.raises(InvalidRequest, match="action"):
        drift.apply_answer(context, question, {**answer, "action": "panic"}, CONFIG, ledger)


def test_a_human_may_choose_the_dataset_of_a_retrain():
    ledger = FakeDriftLedger()
    context = context_for("bias")
    question = drift.decide_response(context, POLICY, ledger)
    asked(ledger, context, question)
    chosen = "s3://data/datasets/churn/2026-11-01/"

    answer = answered(
        ledger, {"incident_id": "inc-1", "action": "retrain", "by": "alice", "reason": "r", "dataset_uri": chosen}
    )
    decided = drift.apply_answer(context, question, answer, CONFIG, ledger)

    assert (decided.action, decided.start_input["dataset_uri"]) == ("retrain", chosen)


def test_the_question_keeps_the_token_in_the_ledger_and_the_announcement_says_how_to_answer():
    ledger = FakeDriftLedger()
    context = context_for("bias")
    question = drift.decide_response(context, POLICY, ledger)

    asked(ledger, context, question)

    [(detail_type, detail)] = ledger.announcements()
    assert detail_type == "Drift Decision Requested"
    assert "token-1" not in str(detail)
    assert detail["incident_id"] == "inc-1"
    assert detail["answer_with"] == (
        f"aws stepfunctions start-execution --state-machine-arn {DECISION_ARN} --input "
        '\'{"incident_id": "inc-1", "action": "retrain|rollback|dismiss", "by": "<your name>", "reason": "<why>"}\''
    )
    waiting = ledger.get_decision("inc-1")
    assert (waiting.status, waiting.task_token, waiting.drift_execution_arn) == ("waiting", "token-1", "arn:drift-run")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"incident_id": "inc-2"}, "An answer about incident 'inc-2' reached the workflow of incident 'inc-1'"),
        ({"decision_execution_arn": "arn:forged"}, "did not come through the decision workflow"),
    ],
)
def test_an_answer_that_did_not_come_through_the_decision_workflow_is_refused(change, message):
    ledger = FakeDriftLedger()
    context = context_for("bias")
    question = drift.decide_response(context, POLICY, ledger)
    asked(ledger, context, question)
    answer = answered(ledger, {"incident_id": "inc-1", "action": "rollback", "by": "mallory", "reason": "r"})

    with pytest.raises(InvalidRequest, match=message):
        drift.apply_answer(context, question, {**answer, **change}, CONFIG, ledger)


def test_an_answer_sent_with_the_token_alone_is_refused():
    ledger = FakeDriftLedger()
    context = context_for("bias")
    question = drift.decide_response(context, POLICY, ledger)
    asked(ledger, context, question)  # nobody claimed the question through the decision workflow
    forged = {"incident_id": "inc-1", "action": "rollback", "by": "alice", "reason": "r", "decision_execution_arn": "x"}

    with pytest.raises(InvalidRequest, match="did not come through the decision workflow"):
        drift.apply_answer(context, question, forged, CONFIG, ledger)


def test_recording_the_response_closes_the_question():
    ledger = FakeDriftLedger()
    context = context_for("bias")
    question = drift.decide_response(context, POLICY, ledger)
    asked(ledger, context, question)
    decided = drift.apply_answer(context, question, None, CONFIG, ledger)

    drift.record_decision(context, decided, POLICY, "arn:drift-run", ledger)

    closed = ledger.get_decision("inc-1")
    assert (closed.status, closed.task_token, closed.action) == ("closed", None, "dismiss")
    assert closed.reason == "no answer in time; default: dismiss"


def test_manual_requests_are_validated_and_forced():
    ledger = FakeDriftLedger()
    serving(ledger, T0 - timedelta(days=30))
    context = drift.prepare(
        {"endpoint": "churn-prod", "action": "rollback", "reason": "bad week"}, "manual-1", CONFIG, "data"
    )

    decision = drift.decide_response(context, POLICY, ledger)

    assert decision.action == "rollback"
    assert decision.reason == "decided by an operator: bad week"
    for bad, message in [
        ({"endpoint": "nope", "action": "rollback", "reason": "r"}, "not a stage of any configured model"),
        ({"endpoint": "churn-prod", "action": "panic", "reason": "r"}, "action"),
        ({"endpoint": "churn-prod", "action": "retrain"}, "reason"),
        (["churn-prod"], "expected a JSON object"),
    ]:
        with pytest.raises(InvalidRequest, match=message):
            drift.prepare(bad, "manual-2", CONFIG, "data")


def test_decision_is_recorded_once_with_its_evidence():
    ledger = FakeDriftLedger()
    context = context_for("data_drift")
    decision = drift.Decision(action="retrain", reason="data_drift on churn-prod", start_execution="retrain-x")

    drift.record_decision(context, decision, POLICY, "arn:exec", ledger)
    drift.record_decision(context, decision, POLICY, "arn:exec", ledger)

    (record,) = [r for r in ledger.records.values() if r.kind == "DriftResponseDecided"]
    assert record.details["evidence_uri"] == "s3://e/r.html"
    assert record.details["started_execution"] == "retrain-x"
    assert [kind for kind, _ in ledger.announcements()] == ["Drift Response Decided"]
    assert len(ledger.retrains["churn"]) == 1
    note = ledger.retrain_notes[0]  # kept only as long as the cooldown or the daily budget counts it
    assert note.counts_until - note.at == POLICY.retrain_lookback == timedelta(hours=24)


@pytest.mark.parametrize(("cooldown_minutes", "lookback"), [(60, timedelta(days=1)), (3 * 1440, timedelta(days=3))])
def test_a_retrain_counts_for_the_cooldown_or_the_budgets_day_whichever_is_longer(cooldown_minutes, lookback):
    assert DriftPolicy(retrain_cooldown_minutes=cooldown_minutes).retrain_lookback == lookback


def test_conflicting_policy_kinds_are_rejected():
    with pytest.raises(ValueError, match="in both rollback_on and retrain_on"):
        DriftPolicy(rollback_on=("data_drift",), retrain_on=("data_drift",))


def test_a_redelivered_signal_changes_nothing():
    ledger = FakeDriftLedger()
    signal = drift_signals.signal_from_alarm(alarm("churn-prod-feature-drift"), CONFIG)

    first = drift_signals.on_signal(signal, CONFIG, ledger, "data")
    again = drift_signals.on_signal(signal, CONFIG, ledger, "data")

    assert (first.action, again.action) == ("incident_opened", "ignored")
    assert ledger.get_incident("churn", "churn-prod", "data_drift").signal_count == 1
    assert ledger.kinds() == ["DriftIncidentOpened"]


def test_a_rejected_answer_is_recorded_as_such():
    ledger = FakeDriftLedger()
    context = context_for("bias")
    question = drift.decide_response(context, POLICY, ledger)
    problem = StepFailure(
        error="InvalidRequest", cause='{"errorMessage": "Invalid decision: action: Input should be ..."}'
    )

    decided = drift.apply_answer(context, question, None, CONFIG, ledger, problem)

    assert decided.reason == "answer rejected (Invalid decision: action: Input should be ...); default: dismiss"


def test_a_cooldown_longer_than_a_day_still_applies(frozen_clock):
    ledger = FakeDriftLedger()
    ledger.datasets_seen["churn"] = DATASET
    ledger.note_retrain("churn", T0)
    policy = POLICY.model_copy(update={"retrain_cooldown_minutes": 3 * 24 * 60})
    frozen_clock["now"] = T0 + timedelta(days=2)

    decision = drift.decide_response(context_for("data_drift"), policy, ledger)

    assert "cooldown" in decision.reason


def custom_from(source: str, **detail) -> DriftDetected:
    return DriftDetected.model_validate(
        {"id": f"{source}-1", "detail-type": "Drift Detected", "source": source, "time": "2026-11-27T09:00:00Z",
         "detail": {"model": "churn", "endpoint": "churn-prod", "kind": "model_quality", **detail}}
    )  # fmt: skip


def test_a_signal_from_a_detector_the_model_does_not_list_is_recorded_and_changes_nothing():
    ledger = FakeDriftLedger()
    serving(ledger, T0 - timedelta(hours=2))  # a quality signal would roll prod back

    outcome = drift_signals.on_signal(
        drift_signals.signal_from_custom(custom_from("intern.laptop")), CONFIG, ledger, "data"
    )

    reason = "source 'intern.laptop' is not a drift detector of model 'churn' (its drift.detectors: custom.evidently)"
    assert (outcome.action, outcome.reason) == ("ignored", reason)
    assert ledger.starts("drift") == []
    assert ledger.incidents == {}
    [record] = ledger.records.values()
    assert (record.kind, record.status, record.reason) == ("DriftIgnored", "Rejected", reason)
    assert record.details["detector"] == "intern.laptop"
    assert [kind for kind, _ in ledger.announcements()] == ["Drift Signal Rejected"]


@pytest.mark.parametrize(
    ("dataset_uri", "message"),
    [
        ("s3://attacker-owned-bucket/poison/", "its datasets lie under s3://data/datasets/churn/"),
        ("s3://data/datasets/fraud/2026/11/27/", "Dataset 's3://data/datasets/fraud/2026/11/27/' is not allowed"),
    ],
)
def test_a_signal_naming_a_dataset_outside_the_models_data_is_recorded_and_changes_nothing(dataset_uri, message):
    ledger = FakeDriftLedger()
    signal = drift_signals.signal_from_custom(
        custom_from("custom.evidently", kind="data_drift", dataset_uri=dataset_uri)
    )

    outcome = drift_signals.on_signal(signal, CONFIG, ledger, "data")

    assert outcome.action == "ignored"
    assert message in outcome.reason
    assert ledger.starts("drift") == []
    assert ledger.incidents == {}
    assert [(record.kind, record.details["dataset_uri"]) for record in ledger.records.values()] == [
        ("DriftIgnored", dataset_uri)
    ]
    with pytest.raises(InvalidRequest, match=f"Untrusted drift signal: .*{message}"):  # started by hand: refused too
        drift.prepare({"signal": signal.model_dump(mode="json")}, "forged-run", CONFIG, "data")


def test_an_allowlisted_dataset_of_a_listed_detector_opens_the_incident():
    config = CONFIG.model_copy(
        update={
            "models": tuple(
                model.model_copy(update={"allowed_dataset_prefixes": ("s3://shared-features/churn/",)})
                if model.name == "churn"
                else model
                for model in CONFIG.models
            )
        }
    )
    signal = drift_signals.signal_from_custom(
        custom_from("custom.evidently", kind="data_drift", dataset_uri="s3://shared-features/churn/2026-11-27/")
    )

    assert drift_signals.on_signal(signal, config, FakeDriftLedger(), "data").action == "incident_opened"
