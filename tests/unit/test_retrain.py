"""The retrain workflow's decisions, each a pure function over fakes."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from controlplane import clock, retrain
from controlplane.config import load_config, parse_config
from controlplane.errors import InvalidRequest, UnknownModel
from controlplane.events.pipelines import PipelineExecutionStatusChange
from controlplane.failures import StepFailure
from controlplane.ports import DatasetArrivals
from tests.fakes import FakeDescriber, FakeLedger, FakeWorkflows

CONFIG = load_config()
START = datetime(2026, 11, 27, 9, tzinfo=UTC)
PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-training/execution/abc123def456"
EXECUTION_ARN = "arn:aws:states:us-east-1:123456789012:execution:retrain:run-1"


@pytest.fixture(autouse=True)
def frozen_clock():
    moments = {"now": START}
    clock.use(lambda: moments["now"])
    yield moments
    clock.use(None)


def plan(model: str = "churn", **overrides) -> retrain.RetrainPlan:
    request = {
        "model": model,
        "dataset_uri": f"s3://data/datasets/{model}/2026-11-27/",
        "reason": "test",
        **overrides,
    }
    return retrain.prepare(request, f"run-{model}", CONFIG, "data")


def test_prepare_fills_pipeline_parameters_and_deterministic_tokens():
    first, again = plan(), plan()

    assert first.pipeline_name == "churn-training"
    assert [(p.Name, p.Value) for p in first.pipeline_parameters] == [
        ("InputDataUri", "s3://data/datasets/churn/2026-11-27/"),
        ("DatasetId", "2026-11-27"),
    ]
    assert first.request_token == again.request_token
    assert len(first.request_token) >= 32
    assert plan(run_key="again").request_token != first.request_token


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"model": "nope", "dataset_uri": "s3://data/x/", "reason": "r"}, "Model 'nope' is not configured"),
        ({"model": "churn", "dataset_uri": "http://data/x/", "reason": "r"}, "dataset_uri"),
        ({"model": "churn", "dataset_uri": "s3://data/x/"}, "reason"),
        ({"model": "churn", "dataset_uri": "s3://data/x/", "reason": "r", "force": True}, "force: unknown field"),
        (["churn"], "expected a JSON object"),
    ],
)
def test_prepare_rejects_bad_requests_with_what_to_fix(payload, message):
    with pytest.raises(InvalidRequest, match=message):
        retrain.prepare(payload, "run", CONFIG, "data")


def test_prepare_accepts_a_dataset_with_spaces_and_keeps_it_verbatim():
    prepared = plan(dataset_uri="s3://data/datasets/churn/2026-12-04 rerun/")

    assert [(p.Name, p.Value) for p in prepared.pipeline_parameters] == [
        ("InputDataUri", "s3://data/datasets/churn/2026-12-04 rerun/"),
        ("DatasetId", "2026-12-04 rerun"),
    ]
    assert prepared.display_name.startswith("churn-datasets-churn-2026-12-04-rerun-")


def test_pipeline_parameter_longer_than_sagemaker_takes_is_an_invalid_request():
    config = parse_config(
        """
version: 1
models:
  - name: churn
    model_package_group: churn-models
    data_trigger: {prefix: datasets/churn/}
    pipeline: {name: churn-training, parameters: {Both: "{dataset_uri},{dataset_uri}"}}
"""
    )
    uri = "s3://data/datasets/churn/" + "x" * 600 + "/"

    with pytest.raises(InvalidRequest, match=r"parameter 'Both' would be 1253 characters .* at most 1024"):
        retrain.prepare({"model": "churn", "dataset_uri": uri, "reason": "r"}, "run", config, "data")


def test_unknown_model_is_an_invalid_request():
    with pytest.raises(UnknownModel, match="known models: churn, fraud"):
        retrain.prepare({"model": "x", "dataset_uri": "s3://data/x/", "reason": "r"}, "run", CONFIG, "data")


def test_quiet_period_waits_for_the_rest_of_the_period(frozen_clock):
    ledger = FakeLedger()
    fraud = plan("fraud", wait_for_quiet_period=True)
    ledger.record_arrivals(DatasetArrivals("fraud", fraud.dataset_uri, 1, START))

    frozen_clock["now"] = START + timedelta(seconds=120)
    early = retrain.check_quiet_period(fraud, ledger)
    frozen_clock["now"] = START + timedelta(seconds=300)
    settled = retrain.check_quiet_period(fraud, ledger)

    assert (early.settled, early.wait_seconds, early.object_count) == (False, 180, 1)
    assert (settled.settled, settled.wait_seconds) == (True, 0)


def test_quiet_period_without_recorded_objects_is_settled():
    assert retrain.check_quiet_period(plan("fraud"), FakeLedger()).settled


@pytest.mark.parametrize(("policy", "decision"), [("queue", "wait"), ("skip", "skip"), ("allow", "start")])
def test_concurrency_policy_while_another_training_runs(policy, decision):
    ledger = FakeLedger()
    first = plan().model_copy(update={"concurrency": policy, "execution_name": "first"})
    second = first.model_copy(update={"execution_name": "second"})

    assert retrain.acquire_slot(first, ledger).decision == "start"
    result = retrain.acquire_slot(second, ledger)

    assert result.decision == decision
    if decision == "wait":
        assert result.wait_seconds == first.queue_poll_seconds
        assert result.held_by == "first"


def test_an_expired_slot_lease_is_taken_over(frozen_clock):
    ledger = FakeLedger()
    first = plan().model_copy(update={"execution_name": "first"})
    retrain.acquire_slot(first, ledger)
    frozen_clock["now"] = START + timedelta(seconds=first.timeout_seconds + retrain.SLOT_LEASE_MARGIN_SECONDS + 1)

    assert retrain.acquire_slot(first.model_copy(update={"execution_name": "second"}), ledger).decision == "start"


def status_event(status: str, arn: str = PIPELINE_ARN) -> PipelineExecutionStatusChange:
    return PipelineExecutionStatusChange.model_validate(
        {
            "id": "p-1",
            "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
            "source": "aws.sagemaker",
            "time": "2026-11-27T09:10:00Z",
            "detail": {
                "pipelineArn": arn.split("/execution/", maxsplit=1)[0],
                "pipelineExecutionArn": arn,
                "currentPipelineExecutionStatus": status,
                "previousPipelineExecutionStatus": "Executing",
            },
        }
    )


def started_run(ledger: FakeLedger) -> retrain.RetrainPlan:
    churn = plan()
    retrain.record_started(churn, PIPELINE_ARN, EXECUTION_ARN, ledger)
    return churn


def test_status_event_resumes_the_waiting_workflow_once():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    started_run(ledger)
    retrain.await_pipeline("token-1", PIPELINE_ARN, ledger, workflows)

    first = retrain.on_pipeline_status(status_event("Succeeded"), ledger, workflows, FakeDescriber())
    duplicate = retrain.on_pipeline_status(status_event("Succeeded"), ledger, workflows, FakeDescriber())

    assert (first.action, duplicate.action) == ("resumed", "ignored")
    assert workflows.resumed == [("token-1", {"status": "Succeeded", "failure_reason": None})]


def test_status_seen_before_the_workflow_waits_resumes_it_when_it_does():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    started_run(ledger)

    early = retrain.on_pipeline_status(status_event("Failed"), ledger, workflows, FakeDescriber("OOM"))
    retrain.await_pipeline("token-1", PIPELINE_ARN, ledger, workflows)

    assert early.action == "recorded"
    assert workflows.resumed == [("token-1", {"status": "Failed", "failure_reason": "OOM"})]


def test_non_terminal_and_foreign_pipeline_events_are_ignored():
    ledger, workflows = FakeLedger(), FakeWorkflows()
    foreign = PIPELINE_ARN.replace("abc123def456", "zzzzzzzzzzzz")

    executing = retrain.on_pipeline_status(status_event("Executing"), ledger, workflows, FakeDescriber())
    unknown = retrain.on_pipeline_status(status_event("Succeeded", foreign), ledger, workflows, FakeDescriber())

    assert (executing.action, unknown.action) == ("ignored", "ignored")
    assert "not started by the control plane" in unknown.reason
    assert workflows.resumed == []


@pytest.mark.parametrize(
    ("reported", "failure", "started", "status", "reason"),
    [
        ({"status": "Succeeded"}, None, True, "Succeeded", "succeeded"),
        ({"status": "Failed", "failure_reason": "OOM"}, None, True, "Failed", "OOM"),
        (None, {"Error": "States.Timeout", "Cause": ""}, True, "TimedOut", "in time"),
        (None, {"Error": "SageMaker.ResourceNotFound", "Cause": "Pipeline churn-training does not exist"}, False,
         "StartFailed", "does not exist"),
        (None, {"Error": "Lambda.Unknown", "Cause": '{"errorMessage": "boom"}'}, True, "Failed", "boom"),
        (None, None, True, "Failed", "without a pipeline outcome"),
    ],
)  # fmt: skip
def test_conclude_names_the_outcome_and_its_reason(reported, failure, started, status, reason):
    outcome = retrain.conclude(
        retrain.PipelineOutcome.model_validate(reported) if reported else None,
        StepFailure.model_validate(failure) if failure else None,
        pipeline_started=started,
    )

    assert outcome.status == status
    assert outcome.succeeded == (status == "Succeeded")
    assert reason in outcome.reason


def test_record_outcome_writes_once_announces_once_and_frees_the_slot():
    ledger = FakeLedger()
    churn = plan()
    retrain.acquire_slot(churn, ledger)
    succeeded = retrain.PipelineOutcome(status="Succeeded")

    retrain.record_outcome(churn, PIPELINE_ARN, succeeded, None, EXECUTION_ARN, ledger)
    retrain.record_outcome(churn, PIPELINE_ARN, succeeded, None, EXECUTION_ARN, ledger)

    assert ledger.kinds().count("TrainingSucceeded") == 1
    assert [detail_type for detail_type, _ in ledger.announcements()] == ["Training Succeeded"]
    assert ledger.slots == {}


def test_rejection_is_recorded_with_the_message_an_operator_needs():
    ledger = FakeLedger()
    cause = '{"errorMessage": "Model \'x\' is not configured", "errorType": "X"}'

    rejection = retrain.record_rejected(
        {"model": "x"}, StepFailure(error="InvalidRequest", cause=cause), "run", EXECUTION_ARN, ledger
    )

    assert rejection.message == "Model 'x' is not configured"
    assert ledger.kinds() == ["RequestRejected"]
    assert ledger.announcements()[0][0] == "Training Request Rejected"


@pytest.mark.parametrize(
    ("dataset_uri", "message"),
    [
        (
            "s3://attacker-owned-bucket/datasets/churn/2026-11-27/",
            "Dataset 's3://attacker-owned-bucket/datasets/churn/2026-11-27/' is not allowed for model 'churn': its "
            "datasets lie under s3://data/datasets/churn/ (data_trigger.prefix in the stack's data bucket, or "
            "allowed_dataset_prefixes in the config)",
        ),
        ("s3://data/datasets/fraud/2026/11/27/", "is not allowed for model 'churn': its datasets lie under"),
        ("s3://data/datasets/churn/../fraud/2026/11/27/", "remove its '.' and '..' segments"),
    ],
)
def test_a_dataset_outside_the_models_data_is_refused_saying_what_is_allowed(dataset_uri, message):
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        plan(dataset_uri=dataset_uri)


def test_an_allowlisted_location_may_be_trained_on():
    config = parse_config(
        """
version: 1
models:
  - name: churn
    model_package_group: churn-models
    data_trigger: {prefix: datasets/churn/}
    pipeline: {name: churn-training}
    allowed_dataset_prefixes: ["s3://shared-features/churn/"]
"""
    )
    request = {"model": "churn", "dataset_uri": "s3://shared-features/churn/2026-11-27/", "reason": "r"}

    assert retrain.prepare(request, "run", config, "data").dataset_uri == request["dataset_uri"]
    with pytest.raises(InvalidRequest, match="under s3://data/datasets/churn/ or s3://shared-features/churn/"):
        retrain.prepare({**request, "dataset_uri": "s3://shared-features/fraud/x/"}, "run", config, "data")
