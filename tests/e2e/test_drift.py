"""Drift response end to end: CloudWatch alarms, Model Monitor runs and custom "Drift Detected" events become
incidents, and each incident gets exactly one decided, recorded and announced response (retrain, rollback, or a
human's decision), carried out by the real retrain and deploy workflows. Everything runs the real drift.asl.json
through the template's wiring on the virtual clock.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from controlplane.drift_signals import drift_execution_name
from controlplane.naming import pipeline_display_name, retrain_execution_name, rollback_execution_name
from localcloud.cloud import LocalCloud
from localcloud.report import dead_letters, execution_outcomes, ledger_records, pipeline_executions
from localcloud.scenarios import (
    DECISION,
    DEPLOY,
    DRIFT,
    RETRAIN,
    answer_decision,
    create_auc_drop_alarm,
    create_feature_drift_alarm,
    deploy_new_version,
    put_drift_detected,
    run_execution,
    train_dataset,
)
from tests.e2e.support import (
    DECISION_REJECTED,
    NO_DEAD_LETTERS,
    SUCCEEDED_STATES,
    bus_detail_types,
    decision_item,
    deployment_model,
    drift_incident,
    endpoint_state,
    entries,
    execution_arn,
    execution_input,
    failed_invocations,
    invocations,
    ledger_kinds,
    ledger_time,
    log_lines,
    outcomes_of,
    records_of,
    sns_events,
    sns_messages,
)

StartCloud = Callable[[list[dict[str, Any]]], LocalCloud]

PROD = "churn-prod"
STAGING = "churn-staging"
FEATURE_DRIFT = "churn-prod-feature-drift"
AUC_DROP = "churn-prod-auc-drop"

_UNTIL_DECIDED = ["ReceiveRequest", "Prepare", "Decide", "HumanNeeded?"]
# The decision record carries the start of the rollback or retrain, which the outbox makes.
RETRAIN_RESPONSE = ROLLBACK_RESPONSE = NOTHING_STARTED = [*_UNTIL_DECIDED, "RecordDecision", "Done"]
WAITING_FOR_HUMAN = [*_UNTIL_DECIDED, "AskHuman"]
TIMED_OUT = [*WAITING_FOR_HUMAN, "ApplyDefault"]
ANSWERED = [*WAITING_FOR_HUMAN, "ApplyAnswer"]
REJECTED = ["ReceiveRequest", "Prepare", "RecordRejection", "Rejected"]
# The deploy workflow putting an endpoint back on a version it served: no gate, the recorded config.
DEPLOY_ROLLBACK_STATES = [
    "ReceiveRequest", "Prepare", "ApprovalNeeded?", "AcquireLock", "LockAcquired?", "GateNeeded?", "CreateResources",
    "CreateOrUpdate?", "UpdateEndpoint", "WaitForEndpoint", "Verify", "Verified?", "SmokeTest",
    "SmokeTestPassed?", "RecordDeployed", "DocumentModel", "AutoPromote?", "Deployed",
]  # fmt: skip


# -- the world ----------------------------------------------------------------------------------------------


def two_versions_in_prod(cloud: LocalCloud) -> tuple[str, str, str]:
    """v1 deployed to staging and promoted to prod after its bake, then v2 the same way: v2 serves in prod.
    Returns (v1, v2, v1's prod endpoint config)."""
    v1 = deploy_new_version(cloud, auc=0.9)
    cloud.advance(31 * 60)
    run_execution(cloud, DEPLOY, "promote-v1", {"model_package_arn": v1, "stage": "prod", "requested_by": "alice"})
    v1_prod_config = describe_endpoint(cloud, PROD)["EndpointConfigName"]
    v2 = deploy_new_version(cloud, auc=0.91)
    cloud.advance(31 * 60)
    run_execution(cloud, DEPLOY, "promote-v2", {"model_package_arn": v2, "stage": "prod", "requested_by": "alice"})
    state = endpoint_state(cloud, PROD)
    assert state is not None
    assert (state["serving_package_arn"], state["previous_package_arn"]) == (v2, v1)
    return v1, v2, v1_prod_config


def drift_model(**policy: Any) -> dict[str, Any]:
    """The churn model (staging, then prod) with this `drift:` section, its two alarms and the Evidently detector."""
    stages = [{"name": "staging", "endpoint_name": STAGING}, {"name": "prod", "endpoint_name": PROD}]
    alarms = [{"alarm_name": FEATURE_DRIFT, "kind": "data_drift"}, {"alarm_name": AUC_DROP, "kind": "model_quality"}]
    detectors = [{"source": "custom.evidently"}]
    return {**deployment_model(stages), "drift": {"alarms": alarms, "detectors": detectors, **policy}}


# -- reading the cloud --------------------------------------------------------------------------------------


def describe_endpoint(cloud: LocalCloud, name: str) -> dict[str, Any]:
    return dict(cloud.client("sagemaker").describe_endpoint(EndpointName=name))


def signal_responses(cloud: LocalCloud, since: int = 0) -> list[dict[str, Any]]:
    """What the drift-signals function answered to each event it received, in order."""
    return [entry.data["response"] for entry in invocations(cloud, "DriftSignalsFunction", since)]


def decision_requests(cloud: LocalCloud) -> list[dict[str, Any]]:
    return [message for message in sns_messages(cloud) if message["event"] == "Drift Decision Requested"]


def drift_records(cloud: LocalCloud) -> list[dict[str, Any]]:
    return [record for record in ledger_records(cloud) if record["kind"].startswith("Drift")]


def alarm_events(cloud: LocalCloud) -> list[dict[str, Any]]:
    """The exact "CloudWatch Alarm State Change" events the alarm-state rule matched, in order."""
    return [
        entry.data["event"]
        for entry in entries(cloud, "rule")
        if entry.data["event"].get("detail-type") == "CloudWatch Alarm State Change"
    ]


# -- 1. alarm -> incident -> retrain ------------------------------------------------------------------------


def test_feature_drift_alarm_retrains_the_newest_dataset_once(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-26/")
    newest = train_dataset(cloud, "datasets/churn/2026-11-27/")
    create_feature_drift_alarm(cloud)
    assert cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM", datapoints=[0.41])
    cloud.settle(fire_timers=False)  # the response is decided; the retraining it started is under way
    decided_at = cloud.clock.now()

    [response] = signal_responses(cloud)
    assert response["action"] == "incident_opened"
    incident_id = response["incident_id"]
    drift_name = drift_execution_name(PROD, incident_id)
    assert response["execution_name"] == drift_name
    run_key = f"drift-{incident_id[:12]}"
    retrain_name = retrain_execution_name("churn", newest, run_key)

    drift = outcomes_of(cloud, DRIFT)
    assert list(drift) == [drift_name]
    assert (drift[drift_name]["status"], drift[drift_name]["states"]) == ("SUCCEEDED", RETRAIN_RESPONSE)
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == ("retrain", "data_drift on churn-prod")
    assert decided["execution_arn"].endswith(f":execution:{cloud.physical[DRIFT]['Name']}:{drift_name}")
    assert decided["details"] == {
        "incident_id": incident_id,
        "endpoint": PROD,
        "signal_kind": "data_drift",
        "started_execution": retrain_name,  # the lineage from the alarm to the retraining
    }
    assert ledger_time(decided) == decided_at
    request = execution_input(cloud, RETRAIN, retrain_name)
    alarm_reason = "alarm churn-prod-feature-drift is ALARM: Threshold Crossed: 1 out of the last 1 datapoints [0.41 "
    assert request["reason"].startswith(f"drift incident {incident_id[:12]}: {alarm_reason}")
    assert request == {
        "model": "churn",
        "dataset_uri": newest,
        "reason": request["reason"],
        "run_key": run_key,  # trains the dataset again, once per incident
        "wait_for_quiet_period": False,
    }

    cloud.settle()
    retrain = outcomes_of(cloud, RETRAIN)[retrain_name]
    assert (retrain["status"], retrain["states"]) == ("SUCCEEDED", SUCCEEDED_STATES)
    runs = pipeline_executions(cloud)
    assert len(runs) == 3  # two datasets, then the drift retraining of the newest
    [run] = [run for run in runs if run["display_name"] == pipeline_display_name("churn", newest, run_key)]
    assert run["status"] == "Succeeded"
    parameters = cloud.client("sagemaker").list_pipeline_parameters_for_execution(PipelineExecutionArn=run["arn"])
    assert parameters["PipelineParameters"] == [
        {"Name": "InputDataUri", "Value": newest},
        {"Name": "DatasetId", "Value": "2026-11-27"},
    ]
    [started] = [record for record in records_of(cloud, "TrainingStarted") if retrain_name in record["execution_arn"]]
    assert (started["dataset_uri"], started["pipeline_execution_arn"]) == (newest, run["arn"])
    assert started["reason"] == request["reason"]

    assert sns_events(cloud)[-3:] == ["Drift Response Decided", "Training Started", "Training Succeeded"]
    [announced] = [message for message in sns_messages(cloud) if message["event"] == "Drift Response Decided"]
    assert announced == {
        "event": "Drift Response Decided",
        "model": "churn",
        "endpoint": PROD,
        "action": "retrain",
        "reason": "data_drift on churn-prod",
        "incident_id": incident_id,
        "started_execution": retrain_name,
        "record_id": f"{drift_name}#DriftResponseDecided",
        "owner": "churn-team",  # the bundled config's owner of churn
    }
    assert "Drift Response Decided" in bus_detail_types(cloud)
    assert ledger_kinds(cloud)["DriftResponseDecided"] == 1
    assert [record["kind"] for record in drift_records(cloud)] == ["DriftIncidentOpened", "DriftResponseDecided"]
    assert dead_letters(cloud) == NO_DEAD_LETTERS
    assert failed_invocations(cloud) == []


# -- 2. quality drop: rollback right after a deployment, a human otherwise ------------------------------------


def test_quality_drop_right_after_a_promotion_rolls_prod_back_to_the_previous_version(cloud: LocalCloud) -> None:
    v1, v2, v1_prod_config = two_versions_in_prod(cloud)
    create_auc_drop_alarm(cloud)
    cloud.advance(3600)  # an hour after v2 reached prod
    assert cloud.extensions.monitoring.raise_alarm(AUC_DROP, "ALARM", datapoints=[0.61])
    cloud.settle()

    [response] = signal_responses(cloud)
    incident_id = response["incident_id"]
    drift_name = drift_execution_name(PROD, incident_id)
    rollback_name = rollback_execution_name(PROD, f"incident:{incident_id}")
    drift = outcomes_of(cloud, DRIFT)
    assert list(drift) == [drift_name]
    assert (drift[drift_name]["status"], drift[drift_name]["states"]) == ("SUCCEEDED", ROLLBACK_RESPONSE)
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == ("rollback", "model_quality right after a deployment")
    assert decided["details"] == {
        "incident_id": incident_id,
        "endpoint": PROD,
        "signal_kind": "model_quality",
        "started_execution": rollback_name,
    }

    request = execution_input(cloud, DEPLOY, rollback_name)
    assert request["reason"].startswith("drift: alarm churn-prod-auc-drop is ALARM: Threshold Crossed:")
    assert request == {"endpoint": PROD, "to": v1, "reason": request["reason"]}
    rollback = outcomes_of(cloud, DEPLOY)[rollback_name]
    assert (rollback["status"], rollback["states"]) == ("SUCCEEDED", DEPLOY_ROLLBACK_STATES)
    described = describe_endpoint(cloud, PROD)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", v1_prod_config)
    state = endpoint_state(cloud, PROD)
    assert state is not None
    assert (state["serving_package_arn"], state["serving_config"], state["status"]) == (
        v1,
        v1_prod_config,
        "RolledBack",
    )
    assert state["previous_package_arn"] == v2
    [rolled_back] = records_of(cloud, "RollbackSucceeded")
    assert rolled_back["execution_arn"].endswith(f":{rollback_name}")
    assert (rolled_back["reason"], rolled_back["details"]["model_package_arn"]) == (request["reason"], v1)
    assert sns_events(cloud)[-2:] == ["Drift Response Decided", "Rollback Succeeded"]
    assert failed_invocations(cloud) == []


def test_quality_drop_long_after_the_last_deployment_asks_a_human_then_dismisses(cloud: LocalCloud) -> None:
    two_versions_in_prod(cloud)
    v2_prod_config = describe_endpoint(cloud, PROD)["EndpointConfigName"]
    deploy_executions = set(outcomes_of(cloud, DEPLOY))
    create_auc_drop_alarm(cloud)
    cloud.advance(25 * 3600)  # v2 has served for longer than the rollback window of a day
    cloud.extensions.monitoring.raise_alarm(AUC_DROP, "ALARM", datapoints=[0.61])
    cloud.settle(fire_timers=False)
    asked_at = cloud.clock.now()

    [drift_name] = outcomes_of(cloud, DRIFT)
    parked = outcomes_of(cloud, DRIFT)[drift_name]
    assert (parked["status"], parked["states"]) == ("RUNNING", WAITING_FOR_HUMAN)
    [asked] = decision_requests(cloud)
    assert asked["reason"] == "model_quality, but no deployment in the rollback window"
    assert (asked["proposed_action"], asked["default_action"], asked["timeout_seconds"]) == (None, "dismiss", 3600)
    assert "task_token" not in asked
    assert records_of(cloud, "DriftResponseDecided") == []

    cloud.settle()  # nobody answers
    outcome = outcomes_of(cloud, DRIFT)[drift_name]
    assert (outcome["status"], outcome["states"]) == ("SUCCEEDED", [*TIMED_OUT, "RecordDecision", "Done"])
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == ("dismiss", "no answer in time; default: dismiss")
    assert "started_execution" not in decided["details"]
    assert ledger_time(decided) == asked_at + timedelta(minutes=60)
    assert set(outcomes_of(cloud, DEPLOY)) == deploy_executions  # no rollback
    assert describe_endpoint(cloud, PROD)["EndpointConfigName"] == v2_prod_config
    assert sns_events(cloud)[-2:] == ["Drift Decision Requested", "Drift Response Decided"]


def test_quality_drop_after_a_drift_rollback_never_rolls_forward_to_the_bad_version(cloud: LocalCloud) -> None:
    v1, v2, v1_prod_config = two_versions_in_prod(cloud)
    create_auc_drop_alarm(cloud)
    cloud.advance(3600)
    cloud.extensions.monitoring.raise_alarm(AUC_DROP, "ALARM")
    cloud.settle()  # rolled back to v1
    cloud.extensions.monitoring.raise_alarm(AUC_DROP, "OK")
    cloud.advance(3600)  # recovered, grace passed: the next drop is a new incident
    cloud.extensions.monitoring.raise_alarm(AUC_DROP, "ALARM")
    cloud.settle(fire_timers=False)

    assert len(outcomes_of(cloud, DRIFT)) == 2
    rollback_targets = [
        execution_input(cloud, DEPLOY, name)["to"]
        for name in outcomes_of(cloud, DEPLOY)
        if name.startswith("rollback-")
    ]
    assert v2 not in rollback_targets  # never back to the version rolled back for its quality
    assert rollback_targets == [v1]
    assert len(decision_requests(cloud)) == 1  # nothing safe to roll back to: a human decides
    assert describe_endpoint(cloud, PROD)["EndpointConfigName"] == v1_prod_config


def test_quality_drop_is_not_absorbed_by_an_open_data_drift_incident(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    put_drift_detected(cloud, {"model": "churn", "endpoint": PROD, "kind": "data_drift"})
    cloud.settle(fire_timers=False)
    put_drift_detected(cloud, {"model": "churn", "endpoint": PROD, "kind": "model_quality"})
    cloud.settle(fire_timers=False)

    assert [response["action"] for response in signal_responses(cloud)] == ["incident_opened", "incident_opened"]
    assert len(outcomes_of(cloud, DRIFT)) == 2
    [retrained] = records_of(cloud, "DriftResponseDecided")
    assert (retrained["status"], retrained["details"]["signal_kind"]) == ("retrain", "data_drift")
    [asked] = decision_requests(cloud)  # nothing was deployed, so nothing to roll back: a human decides
    assert asked["reason"] == "model_quality, but no deployment in the rollback window"


# -- 3. flapping alarms -------------------------------------------------------------------------------------


def test_flapping_alarm_is_one_incident_with_one_response(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    create_feature_drift_alarm(cloud)
    for state in ("ALARM", "OK", "ALARM", "OK"):
        assert cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, state)
        cloud.advance(3 * 60)

    responses = signal_responses(cloud)
    assert [response["action"] for response in responses] == [
        "incident_opened",
        "recovered",
        "evidence_added",
        "recovered",
    ]
    incident_id = responses[0]["incident_id"]
    assert {response["incident_id"] for response in responses} == {incident_id}
    drift = outcomes_of(cloud, DRIFT)
    assert list(drift) == [drift_execution_name(PROD, incident_id)]
    assert [record["kind"] for record in drift_records(cloud)] == [
        "DriftIncidentOpened",
        "DriftResponseDecided",
        "DriftRecovered",
        "DriftEvidence",
        "DriftRecovered",
    ]
    assert {record["details"]["incident_id"] for record in drift_records(cloud)} == {incident_id}
    [evidence] = records_of(cloud, "DriftEvidence")
    assert evidence["reason"].startswith("alarm churn-prod-feature-drift is ALARM")
    assert evidence["details"]["source"] == "alarm"
    assert sns_events(cloud).count("Drift Response Decided") == 1
    incident = drift_incident(cloud, "churn", PROD, "data_drift")
    assert incident is not None
    assert (incident["incident_id"], incident["status"], incident["signal_count"]) == (incident_id, "recovering", 2)

    cloud.advance(31 * 60)  # 34 minutes after the last OK: past the 30-minute recovery grace
    since = len(cloud.timeline)
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle(fire_timers=False)
    [second] = signal_responses(cloud, since)
    assert second["action"] == "incident_opened"
    assert second["incident_id"] != incident_id
    assert set(outcomes_of(cloud, DRIFT)) == {
        drift_execution_name(PROD, incident_id),
        drift_execution_name(PROD, second["incident_id"]),
    }


def test_recovery_and_evidence_records_carry_the_incident_status_they_lead_to(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    create_feature_drift_alarm(cloud)
    for state in ("ALARM", "OK", "ALARM"):
        cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, state)
        cloud.advance(3 * 60)

    [recovered] = records_of(cloud, "DriftRecovered")
    [evidence] = records_of(cloud, "DriftEvidence")
    assert (recovered["status"], evidence["status"]) == ("recovering", "open")


# -- 4. cooldown and budget ---------------------------------------------------------------------------------


def test_second_data_drift_incident_within_the_cooldown_asks_a_human(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    create_feature_drift_alarm(cloud)
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle()
    [first] = records_of(cloud, "DriftResponseDecided")
    assert first["status"] == "retrain"
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "OK")
    cloud.advance(31 * 60)  # grace passed, well within the 12-hour cooldown
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle(fire_timers=False)
    asked_at = cloud.clock.now()

    assert len(outcomes_of(cloud, DRIFT)) == 2
    [asked] = decision_requests(cloud)
    assert asked["reason"] == f"retrain cooldown: the last drift retrain was at {ledger_time(first):%H:%M}Z"
    assert (asked["proposed_action"], asked["default_action"]) == (None, "dismiss")

    cloud.settle()
    [_, second] = records_of(cloud, "DriftResponseDecided")
    assert (second["status"], second["reason"]) == ("dismiss", "no answer in time; default: dismiss")
    assert ledger_time(second) == asked_at + timedelta(minutes=60)
    assert len(outcomes_of(cloud, RETRAIN)) == 2  # the dataset's training and the first incident's, no third


def test_retrain_budget_spent_asks_a_human_until_a_day_has_passed(cloud_with_models: StartCloud) -> None:
    cloud = cloud_with_models(
        [drift_model(recovery_grace_minutes=5, retrain_cooldown_minutes=1, max_retrains_per_day=1)]
    )
    dataset = train_dataset(cloud, "datasets/churn/2026-11-27/")
    create_feature_drift_alarm(cloud)
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle()
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "OK")
    cloud.advance(10 * 60)  # past the grace and the cooldown
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle()

    first, second = records_of(cloud, "DriftResponseDecided")
    assert first["status"] == "retrain"
    [asked] = decision_requests(cloud)
    assert asked["reason"] == "retrain budget of 1 a day is spent"
    assert (second["status"], second["reason"]) == ("dismiss", "no answer in time; default: dismiss")

    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "OK")
    cloud.advance(24 * 3600)  # the first retrain is more than a day old
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle(fire_timers=False)
    third = records_of(cloud, "DriftResponseDecided")[-1]
    assert (third["status"], third["reason"]) == ("retrain", "data_drift on churn-prod")
    assert third["details"]["started_execution"] == retrain_execution_name(
        "churn", dataset, f"drift-{third['details']['incident_id'][:12]}"
    )
    assert len(decision_requests(cloud)) == 1


# -- 5. require_approval ------------------------------------------------------------------------------------

# Each case: the operator's answer through the decision workflow (None: nobody answers), the path after AskHuman,
# the action carried out, the reason recorded, and how long after the question the decision was made.
APPROVAL_CASES: dict[str, tuple[dict[str, str] | None, list[str], str, str, int]] = {
    "retrain": (
        {"action": "retrain", "by": "alice", "reason": "drift confirmed"},
        ANSWERED,
        "retrain",
        "retrain decided by alice: drift confirmed",
        5,
    ),
    "dismiss": (
        {"action": "dismiss", "by": "bob", "reason": "seasonal, expected"},
        ANSWERED,
        "dismiss",
        "dismiss decided by bob: seasonal, expected",
        5,
    ),
    "no-answer": (None, TIMED_OUT, "retrain", "no answer in time; default: retrain", 30),
}


def require_approval_question(cloud_with_models: StartCloud, **detail: Any) -> tuple[LocalCloud, str, str, str]:
    """A churn data-drift signal under require_approval (30 min, default retrain), parked on its question.
    Returns the cloud, the dataset trained, the incident id and the drift execution's name."""
    cloud = cloud_with_models(
        [drift_model(require_approval=True, approval_timeout_minutes=30, default_action="retrain")]
    )
    dataset = train_dataset(cloud, "datasets/churn/2026-11-27/")
    put_drift_detected(cloud, {"model": "churn", "endpoint": PROD, "kind": "data_drift", **detail})
    cloud.settle(fire_timers=False)
    [asked] = decision_requests(cloud)
    [drift_name] = outcomes_of(cloud, DRIFT)
    return cloud, dataset, asked["incident_id"], drift_name


@pytest.mark.parametrize("case", list(APPROVAL_CASES))
def test_required_approval_waits_for_a_human_answer(cloud_with_models: StartCloud, case: str) -> None:
    answer, path, action, reason, minutes = APPROVAL_CASES[case]
    evidence = "s3://mlops-local-databucket/evidently/churn-prod/2026-11-27/report.html"
    cloud, dataset, incident_id, drift_name = require_approval_question(
        cloud_with_models, evidence_uri=evidence, features=["age"]
    )
    asked_at = cloud.clock.now()

    parked = outcomes_of(cloud, DRIFT)[drift_name]
    assert (parked["status"], parked["states"]) == ("RUNNING", WAITING_FOR_HUMAN)
    [asked] = decision_requests(cloud)
    assert drift_name == drift_execution_name(PROD, incident_id)
    assert (asked["model"], asked["endpoint"], asked["reason"]) == (
        "churn",
        PROD,
        "data_drift on churn-prod; approval required",
    )
    assert (asked["proposed_action"], asked["default_action"], asked["timeout_seconds"]) == ("retrain", "retrain", 1800)
    decision_arn = cloud.state_machine_arn(DECISION)
    assert asked["answer_with"] == (
        f"aws stepfunctions start-execution --state-machine-arn {decision_arn} --input "
        f'\'{{"incident_id": "{incident_id}", "action": "retrain", "by": "<your name>", "reason": "<why>"}}\''
    )
    assert "task_token" not in asked
    waiting = decision_item(cloud, incident_id)
    assert waiting is not None
    assert (waiting["status"], waiting["drift_execution_arn"]) == ("waiting", execution_arn(cloud, DRIFT, drift_name))
    announced = json.dumps(sns_messages(cloud) + [entry.data for entry in entries(cloud, "bus")])
    assert waiting["task_token"] not in announced
    assert records_of(cloud, "DriftResponseDecided") == []
    assert len(outcomes_of(cloud, RETRAIN)) == 1  # only the dataset's own training

    if answer is not None:
        cloud.advance(minutes * 60)
        answer_decision(cloud, "answer-1", {"incident_id": incident_id, **answer})
    cloud.settle(fire_timers=answer is None)

    outcome = outcomes_of(cloud, DRIFT)[drift_name]
    assert (outcome["status"], outcome["states"]) == ("SUCCEEDED", [*path, "RecordDecision", "Done"])
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == (action, reason)
    assert ledger_time(decided) == asked_at + timedelta(minutes=minutes)
    retrain_name = retrain_execution_name("churn", dataset, f"drift-{incident_id[:12]}")
    expected_details: dict[str, Any] = {
        "incident_id": incident_id,
        "endpoint": PROD,
        "signal_kind": "data_drift",
        "evidence_uri": evidence,
        "features": ["age"],
    }
    if action == "retrain":
        expected_details["started_execution"] = retrain_name
        assert set(outcomes_of(cloud, RETRAIN)) == {retrain_execution_name("churn", dataset), retrain_name}
    else:
        assert len(outcomes_of(cloud, RETRAIN)) == 1
    assert decided["details"] == expected_details
    assert sns_events(cloud).count("Drift Response Decided") == 1
    closed = decision_item(cloud, incident_id)
    assert closed is not None
    assert (closed["status"], closed["action"], "task_token" in closed) == ("closed", action, False)
    if answer is not None:
        [answered] = records_of(cloud, "DecisionAnswered")
        assert answered["execution_arn"] == execution_arn(cloud, DECISION, "answer-1")  # CloudTrail: who started it
        assert (answered["details"]["by"], answered["status"]) == (answer["by"], action)
        assert outcomes_of(cloud, DECISION)["answer-1"]["status"] == "SUCCEEDED"
    assert failed_invocations(cloud) == []


def test_a_malformed_answer_is_rejected_and_leaves_the_question_open(cloud_with_models: StartCloud) -> None:
    cloud, _, incident_id, drift_name = require_approval_question(cloud_with_models)
    answer_decision(cloud, "panic-1", {"incident_id": incident_id, "action": "panic", "by": "carol", "reason": "r"})

    rejected = outcomes_of(cloud, DECISION)["panic-1"]
    cause = (
        "Invalid decision: action: Input should be 'rollback', 'retrain' or 'dismiss' (got 'panic'); "
        "fix: use one of the allowed values"
    )
    assert (rejected["status"], rejected["error"], rejected["cause"]) == ("FAILED", "InvalidRequest", cause)
    assert rejected["states"] == DECISION_REJECTED
    [record] = records_of(cloud, "DecisionRejected")
    assert (record["reason"], record["model"]) == (cause, "churn")
    assert outcomes_of(cloud, DRIFT)[drift_name]["status"] == "RUNNING"  # still waiting for a usable answer

    answer_decision(cloud, "answer-2", {"incident_id": incident_id, "action": "dismiss", "by": "carol", "reason": "ok"})
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == ("dismiss", "dismiss decided by carol: ok")


# -- 6. Model Monitor runs ----------------------------------------------------------------------------------


def test_model_monitor_drift_violation_retrains_with_the_report_as_evidence(cloud: LocalCloud) -> None:
    dataset = train_dataset(cloud, "datasets/churn/2026-11-27/")
    run = cloud.extensions.monitoring.emit_monitoring_run(
        PROD,
        "churn-prod-data-quality",
        violations=[
            {
                "feature_name": "age",
                "constraint_check_type": "baseline_drift_check",
                "description": "Baseline drift distance: 0.41 exceeds threshold: 0.1",
            }
        ],
        bucket=cloud.data_bucket,
    )
    cloud.settle(fire_timers=False)

    [response] = signal_responses(cloud)
    assert response["action"] == "incident_opened"
    incident_id = response["incident_id"]
    retrain_name = retrain_execution_name("churn", dataset, f"drift-{incident_id[:12]}")
    drift = outcomes_of(cloud, DRIFT)[drift_execution_name(PROD, incident_id)]
    assert (drift["status"], drift["states"]) == ("SUCCEEDED", RETRAIN_RESPONSE)
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == ("retrain", "data_drift on churn-prod")
    assert decided["details"] == {
        "incident_id": incident_id,
        "endpoint": PROD,
        "signal_kind": "data_drift",
        "evidence_uri": run.report_uri,
        "features": ["age"],
        "started_execution": retrain_name,
    }
    request = execution_input(cloud, RETRAIN, retrain_name)
    assert request["reason"] == (
        f"drift incident {incident_id[:12]}: "
        "CompletedWithViolations: Job completed successfully with 1 violations. (baseline_drift_check)"
    )
    assert request["dataset_uri"] == dataset
    cloud.settle()
    assert outcomes_of(cloud, RETRAIN)[retrain_name]["status"] == "SUCCEEDED"
    assert failed_invocations(cloud) == []


def test_model_monitor_run_without_violations_changes_nothing(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    records_before = ledger_records(cloud)
    run = cloud.extensions.monitoring.emit_monitoring_run(
        PROD, "churn-prod-data-quality", violations=[], bucket=cloud.data_bucket
    )
    cloud.settle()

    assert run.exit_message.startswith("Completed: ")
    assert invocations(cloud, "DriftSignalsFunction") == []
    assert outcomes_of(cloud, DRIFT) == {}
    assert ledger_records(cloud) == records_before
    assert dead_letters(cloud) == NO_DEAD_LETTERS


# -- 7. custom "Drift Detected" events ----------------------------------------------------------------------


def test_custom_drift_event_retrains_on_the_dataset_it_names(cloud: LocalCloud) -> None:
    newest = train_dataset(cloud, "datasets/churn/2026-11-27/")
    chosen = f"s3://{cloud.data_bucket}/datasets/churn/2026-11-20/"
    evidence = f"s3://{cloud.data_bucket}/evidently/churn-prod/2026-11-27/report.html"
    put_drift_detected(
        cloud,
        {
            "model": "churn",
            "endpoint": PROD,
            "kind": "data_drift",
            "severity": "critical",
            "evidence_uri": evidence,
            "features": ["age", "tenure"],
            "dataset_uri": chosen,
            "description": "PSI 0.41 on age, 0.27 on tenure",
        },
    )
    cloud.settle()

    [response] = signal_responses(cloud)
    incident_id = response["incident_id"]
    retrain_name = retrain_execution_name("churn", chosen, f"drift-{incident_id[:12]}")
    assert chosen != newest
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == ("retrain", "data_drift on churn-prod")
    assert decided["details"] == {
        "incident_id": incident_id,
        "endpoint": PROD,
        "signal_kind": "data_drift",
        "evidence_uri": evidence,
        "features": ["age", "tenure"],
        "started_execution": retrain_name,
    }
    request = execution_input(cloud, RETRAIN, retrain_name)
    assert request["reason"] == f"drift incident {incident_id[:12]}: PSI 0.41 on age, 0.27 on tenure"
    assert request["dataset_uri"] == chosen
    retrain = outcomes_of(cloud, RETRAIN)[retrain_name]
    assert (retrain["status"], retrain["states"]) == ("SUCCEEDED", SUCCEEDED_STATES)
    assert dead_letters(cloud) == NO_DEAD_LETTERS
    assert failed_invocations(cloud) == []


INVALID_CUSTOM_EVENTS = {
    "weird-kind": (
        {"model": "churn", "endpoint": PROD, "kind": "weird"},
        "Invalid Drift Detected event: detail.kind: Input should be 'data_drift', ",
    ),
    "missing-endpoint": (
        {"model": "churn", "kind": "data_drift"},
        "Invalid Drift Detected event: detail.endpoint: Field required",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_CUSTOM_EVENTS))
def test_invalid_custom_drift_event_is_retried_by_lambda_then_sent_to_the_on_failure_destination(
    cloud: LocalCloud, case: str
) -> None:
    detail, message = INVALID_CUSTOM_EVENTS[case]
    put_drift_detected(cloud, detail)
    started = cloud.clock.now()
    cloud.settle()

    attempts = invocations(cloud, "DriftSignalsFunction")
    assert len(attempts) == 3  # the invocation and Lambda's two retries, a minute then two minutes apart
    assert [(entry.at - started).total_seconds() for entry in attempts] == [0, 60, 180]
    assert {entry.data["error"]["errorType"] for entry in attempts} == {"InvalidRequest"}
    rejected = log_lines(cloud, "DriftSignalsFunction", "Event rejected")
    assert [line["message"] for line in rejected] == ["Event rejected: retried, then dead-lettered"] * 3
    assert all(line["reason"].startswith(message) for line in rejected)
    assert dead_letters(cloud) == {**NO_DEAD_LETTERS, "FailedInvocationsQueue": 1}
    queue = cloud.physical["FailedInvocationsQueue"]["QueueUrl"]
    [letter] = cloud.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    record = json.loads(letter["Body"])
    assert record["requestContext"]["functionArn"] == cloud.functions["DriftSignalsFunction"].arn + ":$LATEST"
    assert (record["requestContext"]["condition"], record["requestContext"]["approximateInvokeCount"]) == (
        "RetriesExhausted",
        3,
    )
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "InvalidRequest"
    event = record["requestPayload"]
    assert (event["detail-type"], event["source"], event["detail"]) == ("Drift Detected", "custom.evidently", detail)
    assert outcomes_of(cloud, DRIFT) == {}
    assert drift_records(cloud) == []


def test_custom_drift_event_with_a_non_s3_dataset_uri_is_rejected_at_the_edge(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    put_drift_detected(
        cloud, {"model": "churn", "endpoint": PROD, "kind": "data_drift", "dataset_uri": "http://example.com/x/"}
    )
    cloud.settle()

    assert outcomes_of(cloud, DRIFT) == {}
    assert dead_letters(cloud) == {**NO_DEAD_LETTERS, "FailedInvocationsQueue": 1}
    assert all(
        entry.data["error"]["errorType"] == "InvalidRequest" for entry in invocations(cloud, "DriftSignalsFunction")
    )


# -- 8. signals about what is not under control -------------------------------------------------------------


def test_signals_about_endpoints_not_under_control_start_nothing(cloud: LocalCloud) -> None:
    put_drift_detected(cloud, {"model": "churn", "endpoint": "someone-else", "kind": "data_drift"})
    cloud.extensions.monitoring.emit_monitoring_run(
        "someone-else",
        "someone-else-data-quality",
        violations=[{"feature_name": "x", "constraint_check_type": "baseline_drift_check", "description": "drift"}],
        bucket=cloud.data_bucket,
    )
    cloud.client("cloudwatch").put_metric_alarm(
        AlarmName="payments-api-5xx",
        Namespace="AWS/ApiGateway",
        MetricName="5XXError",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    cloud.extensions.monitoring.raise_alarm("payments-api-5xx", "ALARM")
    cloud.settle()

    assert signal_responses(cloud) == [
        {"action": "ignored", "reason": "no model under control serves endpoint 'someone-else'", "incident_id": None,
         "execution_name": None},
        {"action": "ignored", "reason": "no model under control serves endpoint 'someone-else'", "incident_id": None,
         "execution_name": None},
        {"action": "ignored", "reason": "not about a model under control"},
    ]  # fmt: skip
    ignored = records_of(cloud, "DriftIgnored")
    assert [(record["details"]["source"], record["details"]["endpoint"]) for record in ignored] == [
        ("custom", "someone-else"),
        ("monitoring", "someone-else"),
    ]
    assert ignored[0]["reason"] == (
        "no model under control serves endpoint 'someone-else': data_drift reported by custom.evidently"
    )
    assert [record["kind"] for record in drift_records(cloud)] == ["DriftIgnored", "DriftIgnored"]
    assert outcomes_of(cloud, DRIFT) == {}
    assert sns_messages(cloud) == []
    assert dead_letters(cloud) == NO_DEAD_LETTERS


# -- 9. manual use ------------------------------------------------------------------------------------------


def test_operator_decides_a_retrain_for_an_endpoint(cloud: LocalCloud) -> None:
    dataset = train_dataset(cloud, "datasets/churn/2026-11-27/")
    reason = "seasonal shift confirmed by the team"
    run_execution(cloud, DRIFT, "churn-prod-manual-1", {"endpoint": PROD, "action": "retrain", "reason": reason})

    outcome = outcomes_of(cloud, DRIFT)["churn-prod-manual-1"]
    assert (outcome["status"], outcome["states"]) == ("SUCCEEDED", RETRAIN_RESPONSE)
    [decided] = records_of(cloud, "DriftResponseDecided")
    assert (decided["status"], decided["reason"]) == ("retrain", f"decided by an operator: {reason}")
    incident_id = decided["details"]["incident_id"]
    retrain_name = retrain_execution_name("churn", dataset, f"drift-{incident_id[:12]}")
    assert decided["details"] == {
        "incident_id": incident_id,
        "endpoint": PROD,
        "signal_kind": "manual",
        "started_execution": retrain_name,
    }
    retrain = outcomes_of(cloud, RETRAIN)[retrain_name]
    assert (retrain["status"], retrain["states"]) == ("SUCCEEDED", SUCCEEDED_STATES)
    assert execution_input(cloud, RETRAIN, retrain_name)["reason"] == f"drift incident {incident_id[:12]}: {reason}"

    run_execution(
        cloud, DRIFT, "churn-staging-manual-1", {"endpoint": STAGING, "action": "dismiss", "reason": "false alarm"}
    )
    dismissed = outcomes_of(cloud, DRIFT)["churn-staging-manual-1"]
    assert (dismissed["status"], dismissed["states"]) == ("SUCCEEDED", NOTHING_STARTED)
    assert records_of(cloud, "DriftResponseDecided")[-1]["status"] == "dismiss"
    assert len(outcomes_of(cloud, RETRAIN)) == 2


INVALID_MANUAL_REQUESTS: dict[str, tuple[Any, str]] = {
    "unknown-endpoint": (
        {"endpoint": "nope", "action": "retrain", "reason": "ops"},
        "Endpoint 'nope' is not a stage of any configured model",
    ),
    "unknown-action": (
        {"endpoint": PROD, "action": "panic", "reason": "ops"},
        "Invalid drift request: action: Input should be 'retrain', 'rollback' or 'dismiss' (got 'panic'); "
        "fix: use one of the allowed values",
    ),
    "missing-reason": (
        {"endpoint": PROD, "action": "retrain"},
        "Invalid drift request: reason: Field required; fix: add it",
    ),
    "list": (
        [PROD, "retrain"],
        'Invalid drift request: expected a JSON object like {"endpoint": ..., "action": ...}',
    ),
}


@pytest.mark.parametrize("case", list(INVALID_MANUAL_REQUESTS))
def test_invalid_manual_request_is_rejected_with_what_to_fix(cloud: LocalCloud, case: str) -> None:
    request, cause = INVALID_MANUAL_REQUESTS[case]
    run_execution(cloud, DRIFT, f"manual-{case}", request)

    outcome = outcomes_of(cloud, DRIFT)[f"manual-{case}"]
    assert (outcome["status"], outcome["error"], outcome["states"]) == ("FAILED", "InvalidRequest", REJECTED)
    assert outcome["cause"] == cause
    [rejected] = records_of(cloud, "DriftRequestRejected")
    assert (rejected["reason"], rejected["status"]) == (cause, "Rejected")
    assert rejected["execution_arn"].endswith(f":manual-{case}")
    assert json.loads(rejected["details"]["request"]) == request
    assert sns_events(cloud) == ["Drift Request Rejected"]
    assert records_of(cloud, "DriftResponseDecided") == []
    assert outcomes_of(cloud, RETRAIN) == {}
    assert outcomes_of(cloud, DEPLOY) == {}


# -- 10. repeat safety --------------------------------------------------------------------------------------


def test_replayed_alarm_event_starts_no_second_response(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    create_feature_drift_alarm(cloud)
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle()
    executions = execution_outcomes(cloud)
    notifications = sns_messages(cloud)
    [event] = alarm_events(cloud)

    assert cloud.put_event(event) == 1
    cloud.settle()

    assert execution_outcomes(cloud) == executions
    assert sns_messages(cloud) == notifications
    assert len(records_of(cloud, "DriftResponseDecided")) == 1
    assert failed_invocations(cloud) == []


def test_replayed_alarm_event_changes_nothing(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    create_feature_drift_alarm(cloud)
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle()
    records = ledger_records(cloud)
    incident = drift_incident(cloud, "churn", PROD, "data_drift")
    [event] = alarm_events(cloud)

    cloud.put_event(event)
    cloud.settle()

    assert drift_incident(cloud, "churn", PROD, "data_drift") == incident
    assert ledger_records(cloud) == records


def test_replayed_alarm_after_recovery_does_not_swallow_the_next_incident(cloud: LocalCloud) -> None:
    train_dataset(cloud, "datasets/churn/2026-11-27/")
    create_feature_drift_alarm(cloud)
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")
    cloud.settle()
    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "OK")
    cloud.advance(5 * 60)
    [alarm, _] = alarm_events(cloud)
    cloud.put_event(alarm)  # an at-least-once redelivery of the ALARM, within the recovery grace
    cloud.advance(2 * 3600)  # the alarm stays OK for two hours
    since = len(cloud.timeline)

    cloud.extensions.monitoring.raise_alarm(FEATURE_DRIFT, "ALARM")  # a genuinely new drift
    cloud.settle(fire_timers=False)

    [response] = signal_responses(cloud, since)
    assert response["action"] == "incident_opened"
    assert len(outcomes_of(cloud, DRIFT)) == 2
