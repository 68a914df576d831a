"""Deployment decisions over fakes: which version, which stage, when to refuse, when to roll back."""

from datetime import UTC, datetime, timedelta

import pytest

from controlplane import clock, deploy, deploy_triggers, naming
from controlplane.config import load_config, parse_config
from controlplane.deployment_config import DeploymentPolicy
from controlplane.errors import InvalidRequest
from controlplane.events.endpoints import EndpointStateChange
from controlplane.events.registry import ModelPackageStateChange
from controlplane.failures import StepFailure
from controlplane.ports import EndpointInfo, EndpointState
from tests.fakes import FakeAnnouncer, FakeDeploymentLedger, FakeEndpoints, FakeRegistry, FakeWorkflows

CONFIG = load_config()
REGION, ACCOUNT = "us-east-1", "123456789012"
T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)
EXEC = "arn:aws:states:us-east-1:123456789012:execution:deploy:run"


def package_arn(version: int, group: str = "churn-models", region: str = REGION) -> str:
    return f"arn:aws:sagemaker:{region}:{ACCOUNT}:model-package/{group}/{version}"


@pytest.fixture(autouse=True)
def frozen_clock():
    moments = {"now": T0}
    clock.use(lambda: moments["now"])
    yield moments
    clock.use(None)


@pytest.fixture
def world():
    return FakeDeploymentLedger(), FakeRegistry(), FakeEndpoints(), FakeWorkflows(), FakeAnnouncer()


def package_event(
    version: int,
    status: str = "Approved",
    updated: list[str] | None = None,
    group: str = "churn-models",
    changed_at: str | None = "2026-11-27T09:00:00Z",
    event_id: str = "e",
):
    detail = {
        "ModelPackageGroupName": group,
        "ModelPackageVersion": version,
        "ModelPackageArn": package_arn(version, group),
        "ModelApprovalStatus": status,
    }
    if updated is not None:
        detail["UpdatedModelPackageFields"] = updated
    if changed_at is not None:
        detail["LastModifiedTime"] = changed_at
    return ModelPackageStateChange.model_validate(
        {"id": event_id, "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
         "time": "2026-11-27T09:00:05Z", "detail": detail}
    )  # fmt: skip


def test_approval_deploys_that_exact_version_to_the_first_stage(world):
    ledger, _, _, workflows, _ = world

    outcome = deploy_triggers.on_model_package_change(
        package_event(7, updated=["ModelApprovalStatus"]), CONFIG, ledger, workflows
    )

    assert outcome.action == "deploy_started"
    ((name, request),) = workflows.deploys.items()
    assert name.startswith("deploy-staging-churn-v7-")
    assert request == {
        "model_package_arn": package_arn(7),
        "stage": "staging",
        "reason": "version 7 approved in the Model Registry",
    }


def test_duplicate_approval_events_start_one_deployment(world):
    ledger, _, _, workflows, _ = world
    first = deploy_triggers.on_model_package_change(package_event(7), CONFIG, ledger, workflows)
    second = deploy_triggers.on_model_package_change(package_event(7), CONFIG, ledger, workflows)

    assert first.execution_name == second.execution_name
    assert len(workflows.deploys) == 1


@pytest.mark.parametrize(
    ("event", "why"),
    [
        (package_event(7, updated=["CustomerMetadataProperties"]), "only CustomerMetadataProperties changed"),
        (package_event(7, status="PendingManualApproval"), "approval status PendingManualApproval"),
        (package_event(7, group="unknown-models"), "not under control"),
        (package_event(7, group="fraud-models"), "no deployment section"),
        (package_event(7, status="Rejected"), "serves no endpoint"),
    ],
)
def test_events_that_must_not_deploy(world, event, why):
    ledger, _, _, workflows, _ = world

    outcome = deploy_triggers.on_model_package_change(event, CONFIG, ledger, workflows)

    assert outcome.action == "ignored"
    assert why in outcome.reason
    assert workflows.deploys == {}


def test_rejecting_the_serving_version_rolls_its_endpoint_back(world):
    ledger, _, _, workflows, _ = world
    ledger.put_endpoint_state(
        EndpointState(
            "churn-staging", "churn", "staging", serving_package_arn=package_arn(7), previous_package_arn=package_arn(6)
        )
    )

    outcome = deploy_triggers.on_model_package_change(package_event(7, status="Rejected"), CONFIG, ledger, workflows)

    assert outcome.action == "rollback_started"
    ((request),) = workflows.deploys.values()
    assert request["endpoint"] == "churn-staging"
    assert request["to"] == package_arn(6)


def test_rejecting_a_first_version_has_nothing_to_return_to(world):
    ledger, _, _, workflows, _ = world
    ledger.put_endpoint_state(EndpointState("churn-staging", "churn", "staging", serving_package_arn=package_arn(1)))

    outcome = deploy_triggers.on_model_package_change(package_event(1, status="Rejected"), CONFIG, ledger, workflows)

    assert outcome.action == "ignored"
    assert workflows.deploys == {}


def serving(ledger: FakeDeploymentLedger, version: int, previous: int) -> None:
    ledger.put_endpoint_state(
        EndpointState(
            "churn-staging", "churn", "staging",
            serving_package_arn=package_arn(version), previous_package_arn=package_arn(previous),
        )
    )  # fmt: skip


def registry_history(world, *changes: tuple[str, str]) -> list[deploy_triggers.IngressOutcome]:
    """Deliver one event per (status, LastModifiedTime) of version 7, which serves churn-staging after v6."""
    ledger, _, _, workflows, _ = world
    outcomes = []
    for index, (status, changed_at) in enumerate(changes):
        event = package_event(7, status, ["ModelApprovalStatus"], changed_at=changed_at, event_id=f"e-{index}")
        outcomes.append(deploy_triggers.on_model_package_change(event, CONFIG, ledger, workflows))
        if outcomes[-1].action == "deploy_started":
            serving(ledger, 7, previous=6)
    return outcomes


def test_approved_rejected_approved_again_deploys_again_and_rolls_back_between(world):
    outcomes = registry_history(
        world, ("Approved", "2026-11-27T09:00:00Z"), ("Rejected", "2026-11-28T10:00:00Z"),
        ("Approved", "2026-11-29T11:00:00Z"), ("Rejected", "2026-11-30T12:00:00Z"),
    )  # fmt: skip

    actions = [outcome.action for outcome in outcomes]
    assert actions == ["deploy_started", "rollback_started", "deploy_started", "rollback_started"]
    names = [outcome.execution_name for outcome in outcomes]
    assert len(set(names)) == 4  # each change is its own execution: Step Functions never reuses a name
    assert names[0] == naming.approval_deploy_execution_name("staging", "churn", package_arn(7), T0)
    assert names[1] == naming.rejection_rollback_execution_name(
        "churn-staging", package_arn(7), T0 + timedelta(1, 3600)
    )
    assert len(world[3].deploys) == 4


def test_copies_of_one_approval_change_start_one_deployment_whatever_their_event_ids(world):
    ledger, _, _, workflows, _ = world
    outcomes = [
        deploy_triggers.on_model_package_change(package_event(7, event_id=f"copy-{copy}"), CONFIG, ledger, workflows)
        for copy in range(3)
    ]

    # StartExecution answers a repeat of an open execution (same name, same input) like a start.
    assert len({outcome.execution_name for outcome in outcomes}) == 1
    assert len(workflows.deploys) == 1


def test_a_retried_event_after_a_failed_start_starts_its_deployment(world):
    ledger, _, _, workflows, _ = world
    ledger.note_approval_change(package_arn(7), "Approved", datetime(2026, 11, 27, 9, tzinfo=UTC))  # then it failed

    outcome = deploy_triggers.on_model_package_change(package_event(7), CONFIG, ledger, workflows)

    assert outcome.action == "deploy_started"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        pytest.param(
            [("Approved", "2026-11-27T09:00:00Z"), ("Approved", "2026-11-27T10:00:00Z")],
            "version 7 stays Approved: no new change",
            id="later-event-same-status",
        ),
        pytest.param(
            [("Approved", "2026-11-27T09:00:00Z"), ("Rejected", "2026-11-28T09:00:00Z"),
             ("Approved", "2026-11-27T09:00:00Z")],
            "older than the latest approval change of version 7 (Rejected)",
            id="redelivered-old-approval",
        ),
        pytest.param(
            [("Approved", "2026-11-27T09:00:00Z"), ("Approved", "2026-11-29T09:00:00Z"),
             ("Rejected", "2026-11-28T09:00:00Z")],
            "older than the latest approval change of version 7 (Approved)",
            id="rejection-overtaken-by-a-later-approved-event",
        ),
    ],
)  # fmt: skip
def test_events_that_are_no_new_approval_change_do_nothing(world, changes, why):
    *earlier, last = registry_history(world, *changes)

    assert last.action == "ignored"
    assert last.reason == why
    assert len(world[3].deploys) == len([outcome for outcome in earlier if outcome.execution_name])


def test_copies_of_changes_made_in_the_same_second_act_once_each(world):
    same_second = "2026-11-27T09:00:00Z"
    outcomes = registry_history(world, ("Approved", same_second), ("Rejected", same_second), ("Approved", same_second))

    # The order of same-second changes is unknown, so each counts; its time-keyed name keeps copies from acting twice.
    assert outcomes[2].execution_name == outcomes[0].execution_name
    assert len(world[3].deploys) == 2


def test_approval_after_pending_review_deploys_again(world):
    outcomes = registry_history(
        world, ("Approved", "2026-11-27T09:00:00Z"), ("PendingManualApproval", "2026-11-28T09:00:00Z"),
        ("Approved", "2026-11-29T09:00:00Z"),
    )  # fmt: skip

    assert [outcome.action for outcome in outcomes] == ["deploy_started", "ignored", "deploy_started"]


def test_event_without_last_modified_time_is_identified_by_its_time(world):
    ledger, _, _, workflows, _ = world
    event = package_event(7, changed_at=None)

    first = deploy_triggers.on_model_package_change(event, CONFIG, ledger, workflows)
    again = deploy_triggers.on_model_package_change(event, CONFIG, ledger, workflows)

    assert event.changed_at == datetime(2026, 11, 27, 9, 0, 5, tzinfo=UTC)
    assert first.execution_name == again.execution_name
    assert len(workflows.deploys) == 1


def plan_for(world, version: int = 7, stage: str | None = None, **registry_args) -> deploy.DeployPlan:
    ledger, registry, *_ = world
    if package_arn(version) not in registry.packages:
        registry.add(package_arn(version), **registry_args)
    request = {"model_package_arn": package_arn(version)} | ({"stage": stage} if stage else {})
    return deploy.prepare(request, f"run-{version}-{stage}", CONFIG, ledger, registry, REGION, ACCOUNT)


def test_plan_names_resources_deterministically_and_carries_the_canary_config(world):
    plan = plan_for(world)

    assert plan.endpoint_name == "churn-staging"
    assert plan.model_name.startswith("churn-v7-")
    assert plan.endpoint_config_name.startswith("churn-staging-v7-")
    assert plan.approved_by == "alice"
    assert plan.deployment_config == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {
                "Type": "CANARY",
                "WaitIntervalInSeconds": 300,
                "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            },
            "TerminationWaitInSeconds": 120,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {
            "Alarms": [{"AlarmName": "churn-staging-5xx-errors"}, {"AlarmName": "churn-staging-model-latency"}]
        },
    }
    assert plan.wait_timeout_seconds == 3600 + deploy.WAIT_MARGIN_SECONDS


def test_rolling_policy_becomes_a_rolling_update():
    policy = DeploymentPolicy.model_validate(
        {"rolling": {"maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": 25}, "wait_interval_seconds": 60}}
    )

    assert deploy.deployment_config(policy, []) == {
        "RollingUpdatePolicy": {
            "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
            "WaitIntervalInSeconds": 60,
            "MaximumExecutionTimeoutInSeconds": 3600,
        }
    }


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"model_package_arn": package_arn(7, "unknown-models")}, "group 'unknown-models' is not configured"),
        ({"model_package_arn": package_arn(7, region="eu-west-1")}, "not in this control plane's"),
        ({"model_package_arn": package_arn(7), "stage": "qa"}, "Stage 'qa' is not configured"),
        ({"model_package_arn": "arn:aws:s3:::bucket/key"}, "model_package_arn"),
        ({"model_package_arn": package_arn(7), "force": True}, "force: unknown field"),
        ({"endpoint": "nope", "reason": "r"}, "not a stage of any configured model"),
        ({"endpoint": "churn-staging", "reason": "r"}, "no last known good"),
    ],
)
def test_hostile_or_malformed_requests_are_refused(world, request_, message):
    ledger, registry, *_ = world
    registry.add(package_arn(7))

    with pytest.raises(InvalidRequest, match=message):
        deploy.prepare(request_, "run", CONFIG, ledger, registry, REGION, ACCOUNT)


def test_unapproved_package_is_refused(world):
    with pytest.raises(deploy.NotApproved, match="PendingManualApproval, not Approved"):
        plan_for(world, status="PendingManualApproval")


def test_promotion_requires_the_version_healthy_and_baked_in_the_previous_stage(world, frozen_clock):
    ledger, _, endpoints, _, _ = world
    with pytest.raises(deploy.PromotionRefused, match="not deployed in 'staging'"):
        plan_for(world, stage="prod")

    staging = plan_for(world)
    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", "InService", staging.endpoint_config_name)
    deploy.record_deployed(staging, EXEC, CONFIG, ledger)
    with pytest.raises(deploy.PromotionRefused, match="must bake 30 min"):
        plan_for(world, stage="prod")

    frozen_clock["now"] = T0 + timedelta(minutes=31)
    assert plan_for(world, stage="prod").endpoint_name == "churn-prod"

    ledger.put_endpoint_state(EndpointState("churn-staging", "churn", "staging", serving_package_arn=package_arn(6)))
    with pytest.raises(deploy.PromotionRefused, match="no longer serves"):
        plan_for(world, stage="prod")


def test_lock_serializes_and_supersedes_older_versions(world):
    ledger = world[0]
    v7, v8 = plan_for(world, 7), plan_for(world, 8)

    assert deploy.acquire_lock(v7, ledger).decision == "acquired"
    assert deploy.acquire_lock(v8, ledger).decision == "wait"
    ledger.release_endpoint_lock(v7.endpoint_name, v7.execution_name)
    assert deploy.acquire_lock(v8, ledger).decision == "acquired"
    assert deploy.acquire_lock(plan_for(world, 6), ledger).decision == "superseded"


def test_gate_compares_with_thresholds_and_champion(world):
    ledger, registry, *_ = world
    ledger.put_endpoint_state(EndpointState("churn-staging", "churn", "staging", serving_package_arn=package_arn(6)))
    registry.add(package_arn(6), auc=0.90)

    good = deploy.evaluate_gate(plan_for(world, 7, auc=0.895), CONFIG, ledger, registry)
    worse = deploy.evaluate_gate(plan_for(world, 8, auc=0.85), CONFIG, ledger, registry)
    low = deploy.evaluate_gate(plan_for(world, 9, auc=0.70), CONFIG, ledger, registry)
    missing = deploy.evaluate_gate(plan_for(world, 10, auc=None), CONFIG, ledger, registry)

    assert good.passed
    assert good.champion_metrics == {"binary_classification_metrics.auc.value": 0.9}
    assert not worse.passed
    assert worse.failures == ["binary_classification_metrics.auc.value = 0.85 is worse than the champion's 0.9"]
    assert "below the minimum 0.75" in low.failures[0]
    assert "registers no ModelQuality statistics" in missing.failures[0]


def test_create_resources_refuses_a_busy_endpoint_and_skips_what_is_done(world):
    _, _, endpoints, _, _ = world
    plan = plan_for(world)

    assert deploy.create_resources(plan, endpoints).action == "create"
    assert plan.model_name in endpoints.models
    assert endpoints.alarms == ["churn-staging-5xx-errors", "churn-staging-model-latency"]
    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", "Updating", "old")
    with pytest.raises(deploy.EndpointBusy):
        deploy.create_resources(plan, endpoints)
    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", "InService", "old")
    assert deploy.create_resources(plan, endpoints).action == "update"
    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", "InService", plan.endpoint_config_name)
    assert deploy.create_resources(plan, endpoints).action == "none"


@pytest.mark.parametrize(
    ("status", "config", "reason", "outcome", "text"),
    [
        ("InService", "NEW", None, "verified", "ok"),
        ("Updating", "OLD", None, "pending", "settling"),
        ("InService", "OLD", None, "failed", "silent rollback"),
        ("InService", "OLD", "Alarm churn-staging-5xx-errors", "failed", "Alarm churn-staging-5xx-errors"),
        ("Failed", "NEW", "container crashed", "failed", "container crashed"),
    ],
)
def test_verify_detects_silent_rollbacks(world, status, config, reason, outcome, text):
    _, _, endpoints, _, _ = world
    plan = plan_for(world)
    name = plan.endpoint_config_name if config == "NEW" else "churn-staging-v6-old"
    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", status, name, reason)

    result = deploy.verify(plan, endpoints)

    assert result.outcome == outcome
    assert text in result.reason


def test_endpoint_event_resumes_the_waiter_once(world):
    ledger, _, endpoints, workflows, _ = world
    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", "Updating", "old")
    deploy.await_endpoint("token", "churn-staging", ledger, endpoints, workflows)
    event = EndpointStateChange.model_validate(
        {"id": "e", "detail-type": "SageMaker Endpoint State Change", "source": "aws.sagemaker",
         "time": "1764234000000", "detail": {"EndpointName": "churn-staging", "EndpointStatus": "IN_SERVICE"}}
    )  # fmt: skip

    first = deploy_triggers.on_endpoint_status(event, ledger, workflows)
    again = deploy_triggers.on_endpoint_status(event, ledger, workflows)

    assert (first.action, again.action) == ("resumed", "ignored")
    assert workflows.resumed == [("token", {"status": "InService", "endpoint_config": None})]


def test_await_resumes_at_once_when_the_endpoint_already_settled(world):
    ledger, _, endpoints, workflows, _ = world
    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", "InService", "cfg")

    deploy.await_endpoint("token", "churn-staging", ledger, endpoints, workflows)

    assert workflows.resumed == [("token", {"status": "InService", "endpoint_config": "cfg"})]
    assert ledger.waiters == {}


def test_failure_rolls_back_to_last_known_good_unless_already_there(world):
    ledger, _, endpoints, _, _ = world
    v6 = plan_for(world, 6)
    deploy.record_deployed(v6, EXEC, CONFIG, ledger)
    v7 = plan_for(world, 7)

    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", "InService", v7.endpoint_config_name)
    rollback = deploy.decide_rollback(v7, ledger, endpoints)
    assert (rollback.rollback, rollback.deployment_config) == (True, deploy.ROLLBACK_DEPLOYMENT_CONFIG)
    endpoints.endpoints["churn-staging"] = EndpointInfo("churn-staging", "InService", v6.endpoint_config_name)
    decision = deploy.decide_rollback(v7, ledger, endpoints)
    assert not decision.rollback
    assert "last known good" in decision.reason

    failure = StepFailure(error="VerificationFailed", cause="SageMaker rolled back")
    outcome = deploy.record_failed(v7, failure, EXEC, ledger, endpoints)
    assert (outcome.status, outcome.reason) == ("RolledBack", "SageMaker rolled back")
    assert ledger.get_stage_deployment(v7.package_arn, "staging").status == "RolledBack"
    assert ledger.get_endpoint_state("churn-staging").last_known_good_package_arn == v6.package_arn
    assert ledger.announcements()[-1][0] == "Deployment Failed"
    assert ledger.locks == {}


def test_gate_failure_is_recorded_with_the_numbers(world):
    ledger, _, endpoints, _, _ = world
    plan = plan_for(world, 7, auc=0.5)
    gate = deploy.evaluate_gate(plan, CONFIG, ledger, world[1])

    failure = StepFailure(error="GateFailed", cause=gate.reason)
    outcome = deploy.record_failed(plan, failure, EXEC, ledger, endpoints, gate=gate.model_dump())

    assert outcome.status == "GateFailed"
    record = ledger.records[f"{plan.execution_name}#DeploymentGateFailed"]
    assert record.details["metrics"] == {"binary_classification_metrics.auc.value": 0.5}
    assert "below the minimum" in record.reason


def test_record_deployed_tracks_previous_and_last_known_good(world):
    ledger, _, _, _, _ = world
    v6, v7 = plan_for(world, 6), plan_for(world, 7)
    deploy.record_deployed(v6, EXEC, CONFIG, ledger)

    promotion = deploy.record_deployed(v7, EXEC + "7", CONFIG, ledger)

    state = ledger.get_endpoint_state("churn-staging")
    assert (state.serving_version, state.previous_package_arn) == (7, v6.package_arn)
    assert state.last_known_good_config == v7.endpoint_config_name
    assert promotion.promote is False  # auto_promote is off by default
    assert [kind for kind, _ in ledger.announcements()] == ["Deployment Succeeded", "Deployment Succeeded"]


def test_each_deployment_promotes_under_a_name_of_its_own(world):
    ledger, _, _, _, _ = world
    config = parse_config(
        """
version: 1
models:
  - {name: churn, model_package_group: churn-models, pipeline: {name: churn-training},
     data_trigger: {prefix: datasets/churn/},
     deployment: {stages: [{name: staging, endpoint_name: churn-staging, auto_promote: true},
                           {name: prod, endpoint_name: churn-prod}]}}
"""
    )
    plan = plan_for(world)
    reapproved = plan.model_copy(update={"execution_name": "deploy-staging-churn-v7-approved-again"})

    first = deploy.record_deployed(plan, EXEC, config, ledger)
    second = deploy.record_deployed(reapproved, EXEC + "-again", config, ledger)

    assert (first.promote, second.promote) == (True, True)
    assert first.execution_name == naming.deploy_execution_name("prod", "churn", plan.package_arn, plan.execution_name)
    assert first.execution_name != second.execution_name
