"""Threats, end to end in the local cloud: forged drift signals, poisoned datasets and stolen, stale, repeated or
misdirected answers change nothing that serves, and each one that reaches the control plane is recorded with its
reason. (IAM is not enforced here: the bus policy and who may answer are checked in tests/unit/test_template_trust.py.)
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.config import load_config
from localcloud.cloud import LocalCloud
from localcloud.report import dead_letters, execution_outcomes, ledger_records, pipeline_executions
from localcloud.scenarios import (
    DECISION,
    DEPLOY,
    DRIFT,
    RETRAIN,
    answer_decision,
    put_drift_detected,
)
from tests.e2e.support import (
    DECISION_REJECTED,
    NO_DEAD_LETTERS,
    decision_item,
    deployment_model,
    drift_incident,
    failed_invocations,
    invocations,
    log_lines,
    marker_model,
    outcomes_of,
    records_of,
    sns_events,
    write_config,
)

StartCloud = Callable[[list[dict[str, Any]]], LocalCloud]
PROD = "churn-prod"
ATTACKER_DATASET = "s3://attacker-owned-bucket/poison/"


def trusted_models(**churn_drift: Any) -> list[dict[str, Any]]:
    """churn (staging, prod) trusts custom.evidently; fraud trusts custom.whylabs."""
    stages = [{"name": "staging", "endpoint_name": "churn-staging"}, {"name": "prod", "endpoint_name": PROD}]
    churn = {**deployment_model(stages), "drift": {"detectors": [{"source": "custom.evidently"}], **churn_drift}}
    fraud = {**marker_model("fraud"), "drift": {"detectors": [{"source": "custom.whylabs"}]}}
    return [churn, fraud]


@pytest.fixture
def trusted_cloud(tmp_path: Path) -> Iterator[LocalCloud]:
    """The two models, with the stack parameter DriftDetectorSources listing both detectors, and one churn dataset."""
    path = write_config(tmp_path, trusted_models())
    with LocalCloud(config_path=path, parameters={"DriftDetectorSources": "custom.evidently,custom.whylabs"}) as cloud:
        cloud.seed(load_config(path))
        cloud.put_object("datasets/churn/2026-11-27/_SUCCESS", b"")
        cloud.settle()
        yield cloud


def signal_detail(**changes: Any) -> dict[str, Any]:
    return {"model": "churn", "endpoint": PROD, "kind": "data_drift", **changes}


# -- forged signals -----------------------------------------------------------------------------------------


def test_a_forged_drift_event_from_an_unlisted_source_reaches_nothing(trusted_cloud: LocalCloud) -> None:
    cloud = trusted_cloud
    records = ledger_records(cloud)
    executions = execution_outcomes(cloud)

    put_drift_detected(cloud, signal_detail(kind="model_quality", dataset_uri=ATTACKER_DATASET), source="intern.laptop")
    cloud.settle()

    assert invocations(cloud, "DriftSignalsFunction") == []  # the rule matches only the configured detectors
    assert ledger_records(cloud) == records
    assert execution_outcomes(cloud) == executions
    assert drift_incident(cloud, "churn", PROD, "model_quality") is None
    assert dead_letters(cloud) == NO_DEAD_LETTERS


def test_a_listed_detector_speaking_for_another_model_is_recorded_and_changes_nothing(
    trusted_cloud: LocalCloud,
) -> None:
    cloud = trusted_cloud
    put_drift_detected(cloud, signal_detail(kind="model_quality"), source="custom.whylabs")
    cloud.settle()

    [response] = [entry.data["response"] for entry in invocations(cloud, "DriftSignalsFunction")]
    reason = "source 'custom.whylabs' is not a drift detector of model 'churn' (its drift.detectors: custom.evidently)"
    assert response["action"] == "ignored"
    assert response["reason"] == reason
    [ignored] = records_of(cloud, "DriftIgnored")
    assert (ignored["status"], ignored["reason"], ignored["details"]["detector"]) == (
        "Rejected",
        reason,
        "custom.whylabs",
    )
    assert sns_events(cloud)[-1] == "Drift Signal Rejected"
    assert drift_incident(cloud, "churn", PROD, "model_quality") is None
    assert outcomes_of(cloud, DRIFT) == {}


@pytest.mark.parametrize(
    "dataset",
    [ATTACKER_DATASET, "s3://mlops-local-databucket/datasets/fraud/2026-11-27/"],
    ids=["another-bucket", "another-models-prefix"],
)
def test_a_signal_naming_a_poisoned_dataset_is_recorded_and_starts_nothing(
    trusted_cloud: LocalCloud, dataset: str
) -> None:
    cloud = trusted_cloud
    pipelines = pipeline_executions(cloud)

    put_drift_detected(cloud, signal_detail(dataset_uri=dataset))
    cloud.settle()

    [ignored] = records_of(cloud, "DriftIgnored")
    assert ignored["status"] == "Rejected"
    assert ignored["reason"].startswith(f"Dataset '{dataset}' is not allowed for model 'churn': its datasets lie ")
    assert "under s3://mlops-local-databucket/datasets/churn/" in ignored["reason"]
    assert drift_incident(cloud, "churn", PROD, "data_drift") is None
    assert outcomes_of(cloud, DRIFT) == {}
    assert pipeline_executions(cloud) == pipelines


def test_a_forged_signal_started_by_hand_is_rejected(trusted_cloud: LocalCloud) -> None:
    cloud = trusted_cloud
    signal = {
        "source": "custom", "signal_id": "custom:forged", "endpoint": PROD, "kind": "data_drift", "state": "alarm",
        "reason": "trust me", "observed_at": "2026-11-27T09:00:00Z", "model": "churn", "detector": "intern.laptop",
    }  # fmt: skip
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.state_machine_arn(DRIFT), name="forged-1", input=json.dumps({"signal": signal})
    )
    cloud.settle()

    outcome = outcomes_of(cloud, DRIFT)["forged-1"]
    assert (outcome["status"], outcome["error"]) == ("FAILED", "InvalidRequest")
    assert outcome["cause"].startswith("Untrusted drift signal: source 'intern.laptop' is not a drift detector")
    [rejected] = records_of(cloud, "DriftRequestRejected")
    assert rejected["reason"] == outcome["cause"]
    assert len(outcomes_of(cloud, RETRAIN)) == 1  # only the dataset's own training


def test_a_monitoring_report_outside_the_allowed_buckets_is_not_read(trusted_cloud: LocalCloud) -> None:
    cloud = trusted_cloud
    cloud.client("s3").create_bucket(Bucket="someone-elses-reports")
    run = cloud.extensions.monitoring.emit_monitoring_run(
        PROD,
        "churn-prod-data-quality",
        violations=[{"feature_name": "age", "constraint_check_type": "baseline_drift_check", "description": "x"}],
        bucket="someone-elses-reports",
    )
    cloud.settle(fire_timers=False)

    [opened] = records_of(cloud, "DriftIncidentOpened")
    assert opened["details"]["endpoint"] == PROD
    assert drift_incident(cloud, "churn", PROD, "data_quality") is not None  # not data_drift: the report was unread
    [line] = log_lines(cloud, "DriftSignalsFunction", "Violation report not read")
    assert line["uri"] == run.report_uri.removesuffix("/constraint_violations.json")


# -- poisoned training requests -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "dataset",
    ["s3://attacker-owned-bucket/datasets/churn/2026-11-27/", "s3://mlops-local-databucket/datasets/fraud/2026-11-27/"],
    ids=["another-bucket", "another-models-prefix"],
)
def test_a_manual_retrain_on_a_poisoned_dataset_is_rejected_saying_what_is_allowed(
    trusted_cloud: LocalCloud, dataset: str
) -> None:
    cloud = trusted_cloud
    pipelines = pipeline_executions(cloud)
    request = {"model": "churn", "dataset_uri": dataset, "reason": "manual"}
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.state_machine_arn(RETRAIN), name="poisoned-1", input=json.dumps(request)
    )
    cloud.settle()

    outcome = outcomes_of(cloud, RETRAIN)["poisoned-1"]
    cause = (
        f"Dataset '{dataset}' is not allowed for model 'churn': its datasets lie under "
        "s3://mlops-local-databucket/datasets/churn/ (data_trigger.prefix in the stack's data bucket, or "
        "allowed_dataset_prefixes in the config)"
    )
    assert (outcome["status"], outcome["error"], outcome["cause"]) == ("FAILED", "InvalidRequest", cause)
    [rejected] = records_of(cloud, "RequestRejected")
    assert rejected["reason"] == cause
    assert pipeline_executions(cloud) == pipelines


# -- answers ------------------------------------------------------------------------------------------------


@pytest.fixture
def question(cloud_with_models: StartCloud) -> tuple[LocalCloud, str]:
    """A churn data-drift incident waiting for a human (require_approval, 30 min, default dismiss)."""
    models = trusted_models(require_approval=True, approval_timeout_minutes=30)
    cloud = cloud_with_models(models[:1])
    cloud.put_object("datasets/churn/2026-11-27/_SUCCESS", b"")
    cloud.settle()
    put_drift_detected(cloud, signal_detail())
    cloud.settle(fire_timers=False)
    [requested] = records_of(cloud, "DriftDecisionRequested")
    return cloud, requested["details"]["incident_id"]


def answer(incident_id: str, **changes: Any) -> dict[str, Any]:
    return {"incident_id": incident_id, "action": "retrain", "by": "alice", "reason": "confirmed", **changes}


def assert_rejected(cloud: LocalCloud, name: str, cause: str) -> None:
    outcome = outcomes_of(cloud, DECISION)[name]
    assert (outcome["status"], outcome["error"], outcome["states"]) == ("FAILED", "InvalidRequest", DECISION_REJECTED)
    assert outcome["cause"] == cause
    [record] = [r for r in records_of(cloud, "DecisionRejected") if r["execution_arn"].endswith(f":{name}")]
    assert record["reason"] == cause


def test_an_answer_naming_a_poisoned_dataset_is_rejected_and_the_question_stays_open(
    question: tuple[LocalCloud, str],
) -> None:
    cloud, incident_id = question
    answer_decision(cloud, "poisoned", answer(incident_id, dataset_uri=ATTACKER_DATASET))

    assert_rejected(
        cloud,
        "poisoned",
        f"Dataset '{ATTACKER_DATASET}' is not allowed for model 'churn': its datasets lie under "
        "s3://mlops-local-databucket/datasets/churn/ (data_trigger.prefix in the stack's data bucket, or "
        "allowed_dataset_prefixes in the config)",
    )
    assert decision_item(cloud, incident_id)["status"] == "waiting"
    assert records_of(cloud, "DriftResponseDecided") == []


def test_a_second_answer_is_rejected_as_already_answered(question: tuple[LocalCloud, str]) -> None:
    cloud, incident_id = question
    answer_decision(cloud, "first", answer(incident_id, action="dismiss"))
    answer_decision(cloud, "second", answer(incident_id, action="rollback", by="mallory"))

    first_arn = cloud.state_machine_arn(DECISION).replace(":stateMachine:", ":execution:") + ":first"
    assert_rejected(cloud, "second", f"The decision on incident '{incident_id}' is closed: the response was dismiss "
                    "(dismiss decided by alice: confirmed)")  # fmt: skip
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == ("dismiss", "dismiss decided by alice: confirmed")
    [answered] = records_of(cloud, "DecisionAnswered")
    assert (answered["execution_arn"], answered["details"]["by"]) == (first_arn, "alice")
    assert outcomes_of(cloud, DEPLOY) == {}


def test_an_answer_after_the_timeout_is_rejected_as_closed(question: tuple[LocalCloud, str]) -> None:
    cloud, incident_id = question
    cloud.settle()  # nobody answers within 30 minutes: the default (dismiss) applies
    answer_decision(cloud, "late", answer(incident_id))

    assert_rejected(cloud, "late", f"The decision on incident '{incident_id}' is closed: the response was dismiss "
                    "(no answer in time; default: dismiss)")  # fmt: skip
    assert len(outcomes_of(cloud, RETRAIN)) == 1  # only the dataset's own training


def test_an_answer_for_an_incident_nobody_asked_about_is_rejected(question: tuple[LocalCloud, str]) -> None:
    cloud, incident_id = question
    answer_decision(cloud, "wrong", answer("0123456789abcdef"))

    assert_rejected(
        cloud,
        "wrong",
        "No decision is waiting for incident '0123456789abcdef': use the incident_id of a Drift Decision Requested "
        "notification",
    )
    assert decision_item(cloud, incident_id)["status"] == "waiting"


def test_a_stolen_token_used_directly_cannot_answer(question: tuple[LocalCloud, str]) -> None:
    cloud, incident_id = question
    token = decision_item(cloud, incident_id)["task_token"]
    forged = answer(incident_id, action="rollback", by="alice", decision_execution_arn="arn:forged")
    cloud.client("stepfunctions").send_task_success(taskToken=token, output=json.dumps(forged))
    cloud.settle(fire_timers=False)

    [decided] = records_of(cloud, "DriftResponseDecided")
    assert decided["status"] == "dismiss"  # the default, as if nobody had answered
    assert decided["reason"] == (
        f"answer rejected (The answer for incident '{incident_id}' did not come through the decision workflow "
        "(stack output DecisionStateMachineArn), which alone may answer); default: dismiss"
    )
    assert outcomes_of(cloud, DEPLOY) == {}
    assert len(failed_invocations(cloud)) == 1  # the refused ApplyAnswer
