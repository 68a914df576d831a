"""Answers to a drift incident's question, over fakes: the token stays in the ledger, each question takes one answer
through the decision workflow, and a stale, repeated, misdirected or poisoned answer is refused with the reason."""

from datetime import UTC, datetime

import pytest

from controlplane import clock, decisions, drift, drift_signals
from controlplane.config import load_config
from controlplane.errors import InvalidRequest
from controlplane.events.monitoring import DriftDetected
from controlplane.failures import StepFailure
from tests.fakes import FakeDriftLedger, FakeWorkflows

CONFIG = load_config()
T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)
DECISION = "arn:aws:states:us-east-1:123456789012:execution:stack-decision"
FIRST, SECOND = f"{DECISION}:answer-1", f"{DECISION}:answer-2"


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.use(lambda: T0)
    yield
    clock.use(None)


@pytest.fixture
def ledger() -> FakeDriftLedger:
    """A drift workflow of incident inc-1 (churn-prod, bias) waits for a human, with task token token-1."""
    fake = FakeDriftLedger()
    event = DriftDetected.model_validate(
        {"id": "c1", "detail-type": "Drift Detected", "source": "custom.evidently", "time": "2026-11-27T09:00:00Z",
         "detail": {"model": "churn", "endpoint": "churn-prod", "kind": "bias"}}
    )  # fmt: skip
    signal = drift_signals.signal_from_custom(event)
    context = drift.prepare({"incident_id": "inc-1", "signal": signal.model_dump(mode="json")}, "run", CONFIG, "data")
    question = drift.decide_response(context, CONFIG.model("churn").drift, fake)
    drift.ask_human("token-1", context, question, "arn:drift:run", "arn:decision", fake)
    return fake


def answer_of(**fields: str) -> dict[str, str]:
    return {"incident_id": "inc-1", "action": "rollback", "by": "alice", "reason": "quality dropped", **fields}


def test_an_answer_resumes_the_waiting_workflow_once_and_records_who_claimed_to_answer(ledger):
    workflows = FakeWorkflows()

    outcome = decisions.answer(answer_of(), FIRST, CONFIG, "data", ledger, workflows)

    assert outcome.model_dump() == {
        "outcome": "answered",
        "incident_id": "inc-1",
        "action": "rollback",
        "drift_execution_arn": "arn:drift:run",
    }
    assert workflows.resumed == [("token-1", {**answer_of(), "decision_execution_arn": FIRST})]
    record = ledger.records["answer-1#DecisionAnswered"]
    assert (record.kind, record.status, record.execution_arn) == ("DecisionAnswered", "rollback", FIRST)
    assert record.details == {
        "incident_id": "inc-1",
        "endpoint": "churn-prod",
        "by": "alice",
        "drift_execution_arn": "arn:drift:run",
    }
    assert ledger.announcements()[-1][0] == "Drift Decision Answered"


def test_a_retried_answer_task_counts_as_answered_but_another_answer_is_refused(ledger):
    workflows = FakeWorkflows()
    decisions.answer(answer_of(), FIRST, CONFIG, "data", ledger, workflows)
    decisions.answer(answer_of(), FIRST, CONFIG, "data", ledger, workflows)  # Step Functions' retry of the task

    with pytest.raises(InvalidRequest) as refused:
        decisions.answer(answer_of(action="dismiss", by="bob"), SECOND, CONFIG, "data", ledger, workflows)

    assert str(refused.value) == (
        f"Incident 'inc-1' was already answered by alice (rollback, execution {FIRST}); a decision is taken once"
    )
    assert [output["decision_execution_arn"] for _, output in workflows.resumed] == [FIRST]  # a token resumes once
    assert ledger.kinds().count("DecisionAnswered") == 1


def test_an_answer_after_the_workflow_stopped_waiting_is_refused_and_the_question_expires(ledger):
    workflows = FakeWorkflows()
    workflows.stale_tokens.add("token-1")  # SendTaskSuccess: TaskTimedOut

    with pytest.raises(InvalidRequest, match=r"no longer waits for an answer \(it timed out or ended"):
        decisions.answer(answer_of(), FIRST, CONFIG, "data", ledger, workflows)
    with pytest.raises(InvalidRequest, match="no longer waits for an answer"):
        decisions.answer(answer_of(by="bob"), SECOND, CONFIG, "data", ledger, workflows)

    assert ledger.get_decision("inc-1").status == "expired"
    assert "DecisionAnswered" not in ledger.kinds()


def test_an_answer_to_a_closed_question_says_what_was_decided(ledger):
    context = drift.DriftContext(
        incident_id="inc-1", model="churn", endpoint="churn-prod", kind="bias", reason="r", execution_name="run"
    )
    decided = drift.Decision(action="dismiss", reason="no answer in time; default: dismiss", asked_human=True)
    drift.record_decision(context, decided, CONFIG.model("churn").effective_drift_policy(), "arn:drift:run", ledger)

    with pytest.raises(InvalidRequest) as refused:
        decisions.answer(answer_of(), FIRST, CONFIG, "data", ledger, FakeWorkflows())

    assert str(refused.value) == (
        "The decision on incident 'inc-1' is closed: the response was dismiss (no answer in time; default: dismiss)"
    )


def test_an_answer_for_an_incident_nobody_asked_about_is_refused(ledger):
    workflows = FakeWorkflows()

    with pytest.raises(InvalidRequest, match="No decision is waiting for incident 'inc-9'"):
        decisions.answer(answer_of(incident_id="inc-9"), FIRST, CONFIG, "data", ledger, workflows)

    assert workflows.resumed == []
    assert ledger.get_decision("inc-1").status == "waiting"


@pytest.mark.parametrize(
    ("dataset_uri", "message"),
    [
        ("s3://attacker-bucket/poison/", "its datasets lie under s3://data/datasets/churn/"),
        ("s3://data/datasets/fraud/2026/11/27/", "is not allowed for model 'churn'"),
        ("s3://data/datasets/churn/../fraud/", "remove its '.' and '..' segments"),
    ],
)
def test_an_answer_naming_a_dataset_outside_the_models_data_is_refused(ledger, dataset_uri, message):
    workflows = FakeWorkflows()

    with pytest.raises(InvalidRequest, match=message):
        decisions.answer(answer_of(action="retrain", dataset_uri=dataset_uri), FIRST, CONFIG, "data", ledger, workflows)

    assert workflows.resumed == []
    assert ledger.get_decision("inc-1").status == "waiting"  # the question stays open for a good answer


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (answer_of(action="panic"), "action: Input should be 'rollback', 'retrain' or 'dismiss'"),
        (answer_of(dataset_uri="s3://data/datasets/churn/x/"), "dataset_uri applies only to action 'retrain'"),
        ({"incident_id": "inc-1", "action": "dismiss", "reason": "r"}, "by: Field required"),
        ({**answer_of(), "task_token": "token-1"}, "task_token: unknown field"),
    ],
)
def test_a_malformed_answer_is_refused_with_what_to_fix(ledger, payload, message):
    with pytest.raises(InvalidRequest, match=message):
        decisions.answer(payload, FIRST, CONFIG, "data", ledger, FakeWorkflows())


def test_a_refused_answer_is_recorded_with_the_claimed_identity_and_the_reason(ledger):
    failure = StepFailure(error="InvalidRequest", cause='{"errorMessage": "Incident \'inc-1\' was already answered"}')

    result = decisions.record_rejected(answer_of(by="mallory"), failure, "answer-2", SECOND, ledger)

    assert result == {"message": "Incident 'inc-1' was already answered"}
    record = ledger.records["answer-2#DecisionRejected"]
    assert (record.kind, record.model, record.execution_arn) == ("DecisionRejected", "churn", SECOND)
    assert '"by": "mallory"' in record.details["request"]
    assert ledger.announcements()[-1][0] == "Drift Decision Rejected"
