"""Deployments end to end: a Model Registry approval deploys that exact version with SageMaker's guardrails, and
every way it can go wrong (gate, SageMaker rollbacks, smoke test, throttling, duplicates, bursts, bad requests)
ends in a precise, recorded and announced outcome. Everything runs the real deploy.asl.json on the virtual clock.
"""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.config import Config

from controlplane.naming import deploy_execution_name, rejection_rollback_execution_name
from localcloud.cloud import ACCOUNT_ID, REGION, ROOT, LocalCloud
from localcloud.emulations.sagemaker_endpoints import EndpointOutcome
from localcloud.report import dead_letters, ledger_records
from localcloud.scenarios import (
    DEPLOY,
    approve,
    deploy_new_version,
    register_model_package,
    run_execution,
    set_approval,
)
from tests.e2e.support import (
    approval_changed_at,
    approval_deploy_name,
    bus_detail_types,
    deploy_outcomes,
    deployment_model,
    endpoint_state,
    entries,
    failed_invocations,
    invocations,
    ledger_kinds,
    ledger_time,
    records_of,
    registry_ingress_actions,
    sdk_calls,
    sns_events,
    sns_messages,
    stage_deployment,
)

StartCloud = Callable[[list[dict[str, Any]]], LocalCloud]

STAGING = "churn-staging"
PROD = "churn-prod"
AUC = "binary_classification_metrics.auc.value"

_UNTIL_RESOURCES = ["ReceiveRequest", "Prepare", "ApprovalNeeded?", "AcquireLock", "LockAcquired?", "GateNeeded?"]
_GATE = ["EvaluateGate", "GatePassed?", "CreateResources", "CreateOrUpdate?"]
_VERIFIED = ["WaitForEndpoint", "Verify", "Verified?", "SmokeTest", "SmokeTestPassed?"]
_RECORDED = ["RecordDeployed", "DocumentModel", "AutoPromote?", "Deployed"]
_FAILED = ["RecordFailed", "NewerVersionRequested?", "DeploymentFailed"]
CREATE_STATES = [*_UNTIL_RESOURCES, *_GATE, "CreateEndpoint", *_VERIFIED, *_RECORDED]
UPDATE_STATES = [*_UNTIL_RESOURCES, *_GATE, "UpdateEndpoint", *_VERIFIED, *_RECORDED]
GATE_FAILED_STATES = [*_UNTIL_RESOURCES, "EvaluateGate", "GatePassed?", "NoteGateFailure", *_FAILED]
# SageMaker ended the update on the old config itself: nothing left for the workflow to roll back.
SAGEMAKER_ROLLED_BACK_STATES = [
    *_UNTIL_RESOURCES, *_GATE, "UpdateEndpoint", "WaitForEndpoint", "Verify", "Verified?", "NoteVerificationFailure",
    "DecideRollback", "RollbackNeeded?", *_FAILED,
]  # fmt: skip
ROLLBACK_STATES = [*_UNTIL_RESOURCES, "CreateResources", "CreateOrUpdate?", "UpdateEndpoint", *_VERIFIED, *_RECORDED]
REJECTED_STATES = ["ReceiveRequest", "Prepare", "RecordRejection", "Rejected"]

# The bundled controlplane.yaml: staging is a 25% canary, prod a linear 25% rollout; both watch the default alarms.
STAGING_DEPLOYMENT_CONFIG = {
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
PROD_DEPLOYMENT_CONFIG = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {
            "Type": "LINEAR",
            "WaitIntervalInSeconds": 600,
            "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        },
        "TerminationWaitInSeconds": 600,
        "MaximumExecutionTimeoutInSeconds": 7200,
    },
    "AutoRollbackConfiguration": {
        "Alarms": [{"AlarmName": "churn-prod-5xx-errors"}, {"AlarmName": "churn-prod-model-latency"}]
    },
}
# What the workflow itself uses to put an endpoint back: everything at once, no alarms to wait on.
ROLLBACK_DEPLOYMENT_CONFIG = {
    "BlueGreenUpdatePolicy": {
        "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
        "MaximumExecutionTimeoutInSeconds": 1800,
    }
}
DEFAULT_ALARMS = [{"AlarmName": "churn-staging-5xx-errors"}, {"AlarmName": "churn-staging-model-latency"}]


# -- reading the cloud --------------------------------------------------------------------------------------


def describe_endpoint(cloud: LocalCloud, name: str = STAGING) -> dict[str, Any]:
    return dict(cloud.client("sagemaker").describe_endpoint(EndpointName=name))


def endpoint_names(cloud: LocalCloud) -> list[str]:
    return sorted(endpoint["EndpointName"] for endpoint in cloud.client("sagemaker").list_endpoints()["Endpoints"])


def planned_config(cloud: LocalCloud, package_arn: str, stage: str = "staging") -> str:
    """The endpoint config the workflow planned for this version and stage (every deployment record names it)."""
    return next(
        str(record["details"]["endpoint_config"])
        for record in ledger_records(cloud)
        if record["kind"].startswith("Deployment")
        and record["details"].get("model_package_arn") == package_arn
        and record["details"].get("stage") == stage
    )


def floats(metrics: dict[str, Any]) -> dict[str, float]:
    """DynamoDB hands numbers back as Decimal."""
    return {name: float(value) for name, value in metrics.items()}


def assert_serving(cloud: LocalCloud, package_arn: str, config_name: str, endpoint: str = STAGING) -> None:
    """SageMaker runs `config_name` InService, and the ledger agrees about what serves there."""
    described = describe_endpoint(cloud, endpoint)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", config_name)
    state = endpoint_state(cloud, endpoint)
    assert state is not None
    assert (state["serving_package_arn"], state["serving_config"]) == (package_arn, config_name)


def retry_errors(state: str) -> list[str]:
    """The errors the deploy state machine retries for one of its states."""
    definition = json.loads((ROOT / "statemachines" / "deploy.asl.json").read_text(encoding="utf-8"))
    return [error for retrier in definition["States"][state]["Retry"] for error in retrier["ErrorEquals"]]


def approval_event(group: str, package_arn: str, **detail: Any) -> dict[str, Any]:
    """A hand-written "SageMaker Model Package State Change" event (for events SageMaker itself would not send)."""
    return {
        "version": "0",
        "id": "5b3c9e0a-7c2d-4bb5-9c56-1d9b0f0e6a01",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": ACCOUNT_ID,
        "time": "2026-11-27T09:00:00Z",
        "region": REGION,
        "resources": [package_arn],
        "detail": {
            "ModelPackageGroupName": group,
            "ModelPackageVersion": 1,
            "ModelPackageArn": package_arn,
            "ModelApprovalStatus": "Approved",
            "ModelPackageStatus": "Completed",
            **detail,
        },
    }


def assert_staging_resources_of(cloud: LocalCloud, package_arn: str, config_name: str) -> None:
    """The staging endpoint was created on `config_name`, which runs a model of that exact version, and is watched
    by its two auto-rollback alarms."""
    sagemaker = cloud.client("sagemaker")
    endpoint = describe_endpoint(cloud)
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == config_name
    assert "LastDeploymentConfig" not in endpoint  # created, never updated
    [variant] = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    assert (variant["VariantName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "AllTraffic",
        "ml.m5.large",
        2,
    )
    model = sagemaker.describe_model(ModelName=variant["ModelName"])
    assert model["PrimaryContainer"]["ModelPackageName"] == package_arn  # that exact version, not "the latest approved"
    alarms = {alarm["AlarmName"]: alarm for alarm in cloud.client("cloudwatch").describe_alarms()["MetricAlarms"]}
    assert sorted(alarms) == ["churn-staging-5xx-errors", "churn-staging-model-latency"]
    dimensions = [{"Name": "EndpointName", "Value": STAGING}, {"Name": "VariantName", "Value": "AllTraffic"}]
    errors, latency = alarms["churn-staging-5xx-errors"], alarms["churn-staging-model-latency"]
    assert (errors["Namespace"], errors["MetricName"], errors["Dimensions"]) == (
        "AWS/SageMaker",
        "Invocation5XXErrors",
        dimensions,
    )
    assert (latency["MetricName"], latency["Threshold"], latency["Dimensions"]) == (
        "ModelLatency",
        1_000_000.0,  # model_latency_p99_ms 1000, in microseconds
        dimensions,
    )


# -- 1. first deployment --------------------------------------------------------------------------------------


def test_first_approval_creates_the_staging_endpoint_on_the_planned_config(cloud: LocalCloud) -> None:
    sagemaker = cloud.client("sagemaker")
    v1 = register_model_package(cloud, auc=0.9)
    cloud.settle()
    assert deploy_outcomes(cloud) == {}  # registering is not approving
    approve(cloud, v1)

    name = approval_deploy_name(cloud, v1)
    outcomes = deploy_outcomes(cloud)
    assert list(outcomes) == [name]
    assert outcomes[name]["status"] == "SUCCEEDED"
    assert outcomes[name]["states"] == CREATE_STATES
    [record] = ledger_records(cloud)
    assert record["kind"] == "DeploymentSucceeded"
    assert record["status"] == "Succeeded"
    assert record["model"] == "churn"
    assert record["reason"] == "version 1 approved in the Model Registry"
    assert record["execution_arn"].endswith(f":{name}")
    details = record["details"]
    config_name = details["endpoint_config"]
    assert config_name.startswith("churn-staging-v1-")
    approver = sagemaker.describe_model_package(ModelPackageName=v1)["LastModifiedBy"]["UserProfileName"]
    gate_numbers = {key: floats(details[key]) for key in ("metrics", "bias_metrics")}
    assert {**details, **gate_numbers} == {
        "stage": "staging",
        "endpoint": STAGING,
        "model_package_arn": v1,
        "model_package_version": 1,
        "endpoint_config": config_name,
        "approved_by": approver,
        "duration_seconds": 300,  # the endpoint's creation took 5 virtual minutes
        "metrics": {AUC: 0.9},  # what the gate measured
        "bias_metrics": {"post_training gender=F DPPL": 0.02, "post_training gender=F DI": 1.0},
    }

    assert_staging_resources_of(cloud, v1, config_name)
    state = endpoint_state(cloud, STAGING)
    assert state is not None
    assert state["serving_package_arn"] == state["last_known_good_package_arn"] == v1
    assert state["serving_config"] == state["last_known_good_config"] == config_name
    assert state["serving_version"] == 1
    assert state["status"] == "Deployed"
    assert "previous_package_arn" not in state
    deployed = stage_deployment(cloud, v1, "staging")
    assert deployed is not None
    assert (deployed["status"], deployed["endpoint_config"]) == ("Deployed", config_name)
    [message] = sns_messages(cloud)
    assert message["event"] == "Deployment Succeeded"
    assert (message["model_package_arn"], message["endpoint_config"], message["status"]) == (
        v1,
        config_name,
        "Succeeded",
    )
    assert bus_detail_types(cloud) == ["Deployment Succeeded"]
    assert failed_invocations(cloud) == []
    assert not any(dead_letters(cloud).values())


def test_failed_endpoint_creation_is_recorded_as_failed(cloud: LocalCloud) -> None:
    cloud.extensions.endpoints.set_endpoint_creation(
        STAGING, "fail", failure_reason="CannotStartContainerError: exec format"
    )
    v1 = deploy_new_version(cloud, auc=0.9)

    outcome = deploy_outcomes(cloud)[approval_deploy_name(cloud, v1)]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "DeploymentFailed"
    assert outcome["cause"] == "the endpoint is Failed: CannotStartContainerError: exec format"
    assert outcome["states"] == [
        *_UNTIL_RESOURCES, *_GATE, "CreateEndpoint", "WaitForEndpoint", "Verify", "Verified?",
        "NoteVerificationFailure", "DecideRollback", "RollbackNeeded?", *_FAILED,
    ]  # fmt: skip
    [record] = ledger_records(cloud)
    assert (record["kind"], record["status"], record["reason"]) == ("DeploymentFailed", "Failed", outcome["cause"])
    assert describe_endpoint(cloud)["EndpointStatus"] == "Failed"
    assert endpoint_state(cloud, STAGING) is None  # nothing ever served there
    failed = stage_deployment(cloud, v1, "staging")
    assert failed is not None
    assert failed["status"] == "Failed"
    assert sns_events(cloud) == bus_detail_types(cloud) == ["Deployment Failed"]


# -- 2. updates with each stage policy --------------------------------------------------------------------------

# Each case: the staging stage's extra settings, the DeploymentConfig SageMaker must receive, the alarms created.
POLICIES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str]]] = {
    "all-at-once": (
        {
            "policy": {
                "blue_green": {
                    "traffic_routing": {"type": "ALL_AT_ONCE", "wait_interval_seconds": 0},
                    "termination_wait_seconds": 60,
                    "maximum_execution_timeout_seconds": 900,
                }
            }
        },
        {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
                "TerminationWaitInSeconds": 60,
                "MaximumExecutionTimeoutInSeconds": 900,
            },
            "AutoRollbackConfiguration": {"Alarms": DEFAULT_ALARMS},
        },
        ["churn-staging-5xx-errors", "churn-staging-model-latency"],
    ),
    "canary-one-instance": (
        {
            "initial_instance_count": 4,
            "policy": {
                "blue_green": {
                    "traffic_routing": {
                        "type": "CANARY",
                        "canary_size": {"type": "INSTANCE_COUNT", "value": 1},
                        "wait_interval_seconds": 600,
                    },
                    "termination_wait_seconds": 300,
                },
                "auto_rollback": {"alarm_names": ["churn-business-kpi"], "model_latency_p99_ms": 250},
            },
        },
        {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "CANARY",
                    "WaitIntervalInSeconds": 600,
                    "CanarySize": {"Type": "INSTANCE_COUNT", "Value": 1},
                },
                "TerminationWaitInSeconds": 300,
                "MaximumExecutionTimeoutInSeconds": 3600,
            },
            "AutoRollbackConfiguration": {"Alarms": [*DEFAULT_ALARMS, {"AlarmName": "churn-business-kpi"}]},
        },
        ["churn-staging-5xx-errors", "churn-staging-model-latency"],
    ),
    "linear-half": (
        {
            "policy": {
                "blue_green": {
                    "traffic_routing": {
                        "type": "LINEAR",
                        "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 50},
                        "wait_interval_seconds": 120,
                    }
                }
            }
        },
        {
            "BlueGreenUpdatePolicy": {
                "TrafficRoutingConfiguration": {
                    "Type": "LINEAR",
                    "WaitIntervalInSeconds": 120,
                    "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
                },
                "TerminationWaitInSeconds": 0,
                "MaximumExecutionTimeoutInSeconds": 3600,
            },
            "AutoRollbackConfiguration": {"Alarms": DEFAULT_ALARMS},
        },
        ["churn-staging-5xx-errors", "churn-staging-model-latency"],
    ),
    "rolling-own-alarms": (
        {
            "initial_instance_count": 4,
            "policy": {
                "rolling": {
                    "maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": 25},
                    "wait_interval_seconds": 120,
                    "maximum_execution_timeout_seconds": 1800,
                    "rollback_maximum_batch_size": {"type": "CAPACITY_PERCENT", "value": 50},
                },
                "auto_rollback": {"default_alarms": False, "alarm_names": ["churn-errors-custom"]},
            },
        },
        {
            "RollingUpdatePolicy": {
                "MaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
                "WaitIntervalInSeconds": 120,
                "MaximumExecutionTimeoutInSeconds": 1800,
                "RollbackMaximumBatchSize": {"Type": "CAPACITY_PERCENT", "Value": 50},
            },
            "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "churn-errors-custom"}]},
        },
        [],  # default_alarms: false creates none
    ),
}


@pytest.mark.parametrize("case", list(POLICIES))
def test_update_reaches_sagemaker_with_the_stage_policy(cloud_with_models: StartCloud, case: str) -> None:
    stage_settings, expected_config, expected_alarms = POLICIES[case]
    cloud = cloud_with_models([deployment_model([{"name": "staging", "endpoint_name": STAGING, **stage_settings}])])
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    v2 = deploy_new_version(cloud, auc=0.9)
    v2_config = planned_config(cloud, v2)

    [create] = sdk_calls(cloud, "createEndpoint")
    assert create["parameters"] == {"EndpointName": STAGING, "EndpointConfigName": v1_config}
    [update] = sdk_calls(cloud, "updateEndpoint")
    assert update["execution"] == approval_deploy_name(cloud, v2)
    assert update["parameters"] == {
        "EndpointName": STAGING,
        "EndpointConfigName": v2_config,
        "DeploymentConfig": expected_config,
    }
    assert update["error"] is None
    assert describe_endpoint(cloud)["LastDeploymentConfig"] == expected_config  # what SageMaker accepted
    outcome = deploy_outcomes(cloud)[update["execution"]]
    assert (outcome["status"], outcome["states"]) == ("SUCCEEDED", UPDATE_STATES)
    assert_serving(cloud, v2, v2_config)
    state = endpoint_state(cloud, STAGING)
    assert state is not None
    assert (state["previous_package_arn"], state["previous_config"]) == (v1, v1_config)
    assert (state["last_known_good_package_arn"], state["last_known_good_config"]) == (v2, v2_config)
    succeeded = records_of(cloud, "DeploymentSucceeded")
    assert [record["details"]["model_package_arn"] for record in succeeded] == [v1, v2]
    assert succeeded[1]["details"]["previous_model_package_arn"] == v1
    alarms = cloud.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert sorted(alarm["AlarmName"] for alarm in alarms) == expected_alarms
    assert sns_events(cloud) == ["Deployment Succeeded", "Deployment Succeeded"]
    assert failed_invocations(cloud) == []


# -- 3. the promotion gate --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate_auc", "failures"),
    [
        pytest.param(
            0.7,
            [f"{AUC} = 0.7 is below the minimum 0.75", f"{AUC} = 0.7 is worse than the champion's 0.9"],
            id="below-threshold",
        ),
        pytest.param(0.85, [f"{AUC} = 0.85 is worse than the champion's 0.9"], id="worse-than-champion"),
    ],
)
def test_gate_failure_leaves_the_serving_version_untouched(
    cloud: LocalCloud, candidate_auc: float, failures: list[str]
) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    configs_before = cloud.client("sagemaker").list_endpoint_configs()["EndpointConfigs"]
    v2 = deploy_new_version(cloud, auc=candidate_auc)

    outcome = deploy_outcomes(cloud)[approval_deploy_name(cloud, v2)]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "DeploymentFailed"
    assert outcome["cause"] == "; ".join(failures)
    assert outcome["states"] == GATE_FAILED_STATES
    [gate_failed] = records_of(cloud, "DeploymentGateFailed")
    assert gate_failed["status"] == "GateFailed"
    assert gate_failed["reason"] == outcome["cause"]
    assert gate_failed["details"]["model_package_arn"] == v2
    assert floats(gate_failed["details"]["metrics"]) == {AUC: candidate_auc}
    assert floats(gate_failed["details"]["champion_metrics"]) == {AUC: 0.9}
    assert sdk_calls(cloud, "updateEndpoint") == []
    assert cloud.client("sagemaker").list_endpoint_configs()["EndpointConfigs"] == configs_before  # nothing built
    assert_serving(cloud, v1, v1_config)
    state = endpoint_state(cloud, STAGING)
    assert state is not None
    assert state["status"] == "Deployed"
    assert stage_deployment(cloud, v2, "staging") is None
    assert sns_events(cloud) == ["Deployment Succeeded", "Deployment Failed"]
    assert bus_detail_types(cloud) == ["Deployment Succeeded", "Deployment Failed"]
    [failed] = [message for message in sns_messages(cloud) if message["event"] == "Deployment Failed"]
    assert (failed["status"], failed["reason"]) == ("GateFailed", outcome["cause"])


# -- 4 and 5. failed updates and rollbacks ----------------------------------------------------------------------


def test_silent_sagemaker_rollback_is_detected_and_reported(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    cloud.extensions.endpoints.set_endpoint_outcome(STAGING, "silent_rollback")
    v2 = deploy_new_version(cloud, auc=0.91)
    v2_config = planned_config(cloud, v2)

    outcome = deploy_outcomes(cloud)[approval_deploy_name(cloud, v2)]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "DeploymentFailed"
    assert outcome["cause"] == (
        f"SageMaker rolled back: the endpoint serves {v1_config}, not {v2_config}; no reason given (silent rollback)"
    )
    assert outcome["states"] == SAGEMAKER_ROLLED_BACK_STATES
    [update] = sdk_calls(cloud, "updateEndpoint")  # the workflow did not add an update of its own
    assert update["parameters"]["EndpointConfigName"] == v2_config
    [rolled_back] = records_of(cloud, "DeploymentRolledBack")
    assert (rolled_back["status"], rolled_back["reason"]) == ("RolledBack", outcome["cause"])
    assert (rolled_back["details"]["model_package_arn"], rolled_back["details"]["endpoint_config"]) == (v2, v2_config)
    assert "FailureReason" not in describe_endpoint(cloud)  # SageMaker said nothing
    assert_serving(cloud, v1, v1_config)
    state = endpoint_state(cloud, STAGING)
    assert state is not None
    assert (state["last_known_good_package_arn"], state["last_known_good_config"]) == (v1, v1_config)
    assert state["status"] == "RolledBack"
    failed = stage_deployment(cloud, v2, "staging")
    assert failed is not None
    assert failed["status"] == "RolledBack"
    assert ledger_kinds(cloud) == {"DeploymentSucceeded": 1, "DeploymentRolledBack": 1}
    assert sns_events(cloud) == ["Deployment Succeeded", "Deployment Failed"]


@pytest.mark.parametrize("sagemaker_outcome", ["fail", "rollback"])
def test_update_that_sagemaker_rolls_back_is_reported_with_its_reason(
    cloud: LocalCloud, sagemaker_outcome: EndpointOutcome
) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    cloud.extensions.endpoints.set_endpoint_outcome(STAGING, sagemaker_outcome)
    v2 = deploy_new_version(cloud, auc=0.91)
    v2_config = planned_config(cloud, v2)

    failure_reason = describe_endpoint(cloud)["FailureReason"]
    if sagemaker_outcome == "rollback":
        assert "churn-staging-5xx-errors went into ALARM" in failure_reason  # the first AutoRollbackConfiguration alarm
    outcome = deploy_outcomes(cloud)[approval_deploy_name(cloud, v2)]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "DeploymentFailed"
    assert outcome["cause"] == (
        f"SageMaker rolled back: the endpoint serves {v1_config}, not {v2_config}; {failure_reason}"
    )
    assert outcome["states"] == SAGEMAKER_ROLLED_BACK_STATES
    assert len(sdk_calls(cloud, "updateEndpoint")) == 1
    [rolled_back] = records_of(cloud, "DeploymentRolledBack")
    assert rolled_back["reason"] == outcome["cause"]
    assert_serving(cloud, v1, v1_config)
    state = endpoint_state(cloud, STAGING)
    assert state is not None
    assert (state["last_known_good_package_arn"], state["status"]) == (v1, "RolledBack")
    assert sns_events(cloud) == ["Deployment Succeeded", "Deployment Failed"]


def test_smoke_test_failure_makes_the_workflow_roll_the_endpoint_back(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    cloud.extensions.endpoints.set_endpoint_response(STAGING, b"model crashed", status=500)
    v2 = deploy_new_version(cloud, auc=0.91)
    v2_config = planned_config(cloud, v2)

    outcome = deploy_outcomes(cloud)[approval_deploy_name(cloud, v2)]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "DeploymentFailed"
    assert outcome["cause"].startswith("smoke test invocation failed: ModelError: Received server error (500)")
    assert "model crashed" in outcome["cause"]
    assert outcome["states"] == [
        *_UNTIL_RESOURCES, *_GATE, "UpdateEndpoint", *_VERIFIED, "NoteSmokeTestFailure",
        "DecideRollback", "RollbackNeeded?", "RollbackEndpoint", "WaitForRollback", *_FAILED,
    ]  # fmt: skip
    deploy_update, rollback_update = sdk_calls(cloud, "updateEndpoint")
    assert (deploy_update["state"], deploy_update["parameters"]) == (
        "UpdateEndpoint",
        {"EndpointName": STAGING, "EndpointConfigName": v2_config, "DeploymentConfig": STAGING_DEPLOYMENT_CONFIG},
    )
    assert (rollback_update["state"], rollback_update["parameters"]) == (
        "RollbackEndpoint",
        {"EndpointName": STAGING, "EndpointConfigName": v1_config, "DeploymentConfig": ROLLBACK_DEPLOYMENT_CONFIG},
    )
    assert describe_endpoint(cloud)["LastDeploymentConfig"] == ROLLBACK_DEPLOYMENT_CONFIG
    assert_serving(cloud, v1, v1_config)
    [rolled_back] = records_of(cloud, "DeploymentRolledBack")
    assert rolled_back["reason"] == outcome["cause"]
    assert rolled_back["details"]["model_package_arn"] == v2
    state = endpoint_state(cloud, STAGING)
    assert state is not None
    assert (state["last_known_good_package_arn"], state["status"]) == (v1, "RolledBack")
    failed = stage_deployment(cloud, v2, "staging")
    assert failed is not None
    assert failed["status"] == "RolledBack"
    assert sns_events(cloud) == ["Deployment Succeeded", "Deployment Failed"]


def test_update_rollback_failed_is_healed_by_returning_to_the_last_known_good_config(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    cloud.extensions.endpoints.set_endpoint_outcome(STAGING, "update_rollback_failed")
    v2 = deploy_new_version(cloud, auc=0.91)

    outcome = deploy_outcomes(cloud)[approval_deploy_name(cloud, v2)]
    assert (outcome["status"], outcome["error"]) == ("FAILED", "DeploymentFailed")
    assert outcome["cause"].startswith("the endpoint is UpdateRollbackFailed: ")
    assert "RollbackEndpoint" in outcome["states"]
    assert_serving(cloud, v1, planned_config(cloud, v1))
    [rolled_back] = records_of(cloud, "DeploymentRolledBack")
    assert rolled_back["details"]["model_package_arn"] == v2


# -- 6. throttling ------------------------------------------------------------------------------------------


def test_throttled_sagemaker_calls_are_retried_until_the_deployment_succeeds(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v2 = register_model_package(cloud, auc=0.91)
    cloud.settle()
    cloud.extensions.endpoints.inject_sagemaker_throttling("UpdateEndpoint", 2)
    cloud.extensions.endpoints.inject_sagemaker_throttling("DescribeModelPackage", 2)
    since = len(cloud.timeline)
    approve(cloud, v2)

    name = approval_deploy_name(cloud, v2)
    outcome = deploy_outcomes(cloud)[name]
    assert (outcome["status"], outcome["states"]) == ("SUCCEEDED", UPDATE_STATES)
    # UpdateEndpoint: two throttled attempts, retried by the state's Retry, then accepted.
    attempts = sdk_calls(cloud, "updateEndpoint")
    assert [attempt["execution"] for attempt in attempts] == [name] * 3
    for throttled in attempts[:2]:
        assert throttled["error"] in retry_errors("UpdateEndpoint")
        assert "Rate exceeded" in throttled["cause"]
    assert attempts[2]["error"] is None
    # The backoff (5 s, then 10 s, full jitter) passed on the virtual clock, between the two tasks around it.
    tasks = {entry.text.rsplit(" ", 1)[-1]: entry.at for entry in invocations(cloud, "DeployTasksFunction", since)}
    backoff = tasks["await_endpoint"] - tasks["create_resources"]
    assert timedelta(0) < backoff <= timedelta(seconds=15)
    # DescribeModelPackage: botocore's retries inside the Prepare task absorbed both throttles.
    prepares = [entry for entry in invocations(cloud, "DeployTasksFunction", since) if entry.text.endswith("prepare")]
    assert len(prepares) == 1
    assert prepares[0].data["error"] is None
    impatient = boto3.client("sagemaker", region_name=REGION, config=Config(retries={"total_max_attempts": 1}))
    impatient.describe_model_package(ModelPackageName=v2)  # no throttle left over: the workflow consumed both
    assert_serving(cloud, v2, planned_config(cloud, v2))
    assert [record["details"]["model_package_arn"] for record in records_of(cloud, "DeploymentSucceeded")] == [v1, v2]


# -- 7. duplicate and irrelevant registry events --------------------------------------------------------------


def test_duplicate_approval_events_start_one_deployment(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v2 = register_model_package(cloud, auc=0.91)
    cloud.settle()
    cloud.extensions.endpoints.set_duplicate_model_package_events(3)
    since = len(cloud.timeline)
    approve(cloud, v2)

    name = approval_deploy_name(cloud, v2)
    actions = registry_ingress_actions(cloud, since)
    # StartExecution is idempotent for the same name and input while the execution runs: each copy of the event
    # gets the one execution back (deterministic name), so none starts a second deployment.
    assert [(action["action"], action["execution_name"]) for action in actions] == [("deploy_started", name)] * 3
    outcomes = deploy_outcomes(cloud)
    assert sorted(outcomes) == sorted([approval_deploy_name(cloud, v1), name])
    assert (outcomes[name]["status"], outcomes[name]["states"]) == ("SUCCEEDED", UPDATE_STATES)
    [update] = sdk_calls(cloud, "updateEndpoint")
    assert update["execution"] == name
    assert ledger_kinds(cloud) == {"DeploymentSucceeded": 2}
    assert sns_events(cloud) == ["Deployment Succeeded", "Deployment Succeeded"]
    assert failed_invocations(cloud) == []


def test_metadata_only_change_of_an_approved_version_deploys_nothing(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    cloud.extensions.endpoints.set_duplicate_model_package_events(2)
    records_before = ledger_records(cloud)
    since = len(cloud.timeline)
    sagemaker = cloud.client("sagemaker")
    sagemaker.update_model_package(ModelPackageArn=v1, CustomerMetadataProperties={"reviewed-by": "bob"})
    sagemaker.update_model_package(ModelPackageArn=v1, ApprovalDescription="looks good")
    cloud.settle()

    actions = registry_ingress_actions(cloud, since)
    assert [action["action"] for action in actions] == ["ignored"] * 4
    assert [action["reason"] for action in actions] == [
        "only CustomerMetadataProperties changed, not the approval status",
        "only CustomerMetadataProperties changed, not the approval status",
        "only ApprovalDescription changed, not the approval status",
        "only ApprovalDescription changed, not the approval status",
    ]
    assert list(deploy_outcomes(cloud)) == [approval_deploy_name(cloud, v1)]
    assert sdk_calls(cloud, "updateEndpoint") == []
    assert ledger_records(cloud) == records_before
    assert_serving(cloud, v1, v1_config)
    assert sns_events(cloud) == ["Deployment Succeeded"]


# -- 8. rejections ----------------------------------------------------------------------------------------


def test_rejecting_the_serving_version_rolls_the_endpoint_back(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    v2 = deploy_new_version(cloud, auc=0.91)
    since = len(cloud.timeline)
    set_approval(cloud, v2, "Rejected")
    cloud.settle()

    name = rejection_rollback_execution_name(STAGING, v2, approval_changed_at(cloud, v2))
    [action] = registry_ingress_actions(cloud, since)
    assert (action["action"], action["execution_name"]) == ("rollback_started", name)
    outcome = deploy_outcomes(cloud)[name]
    assert (outcome["status"], outcome["states"]) == ("SUCCEEDED", ROLLBACK_STATES)
    assert_serving(cloud, v1, v1_config)
    [rolled_back] = records_of(cloud, "RollbackSucceeded")
    assert rolled_back["reason"] == "version 2 was rejected in the Model Registry while serving"
    assert (rolled_back["details"]["model_package_arn"], rolled_back["details"]["previous_model_package_arn"]) == (
        v1,
        v2,
    )
    assert records_of(cloud, "DeploymentRejected") == []
    assert sns_events(cloud)[-1] == "Rollback Succeeded"


def test_rejecting_a_version_that_serves_nothing_does_nothing(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v2 = deploy_new_version(cloud, auc=0.91)
    v3 = register_model_package(cloud, auc=0.92)
    cloud.settle()
    records_before = ledger_records(cloud)
    executions_before = deploy_outcomes(cloud)
    since = len(cloud.timeline)
    set_approval(cloud, v3, "Rejected")  # never deployed
    set_approval(cloud, v1, "Rejected")  # served before, replaced by v2
    cloud.settle()

    actions = registry_ingress_actions(cloud, since)
    assert [(action["action"], action["reason"]) for action in actions] == [
        ("ignored", "rejected version serves no endpoint it can be rolled back from")
    ] * 2
    assert deploy_outcomes(cloud) == executions_before
    assert ledger_records(cloud) == records_before
    assert_serving(cloud, v2, planned_config(cloud, v2))
    assert sns_events(cloud) == ["Deployment Succeeded", "Deployment Succeeded"]


def captured_approval_event(cloud: LocalCloud, package_arn: str) -> dict[str, Any]:
    """The last "Model Package State Change" event that approved the version, as the registry rule received it."""
    return [
        entry.data["event"]
        for entry in entries(cloud, "rule")
        if entry.data["event"].get("detail-type") == "SageMaker Model Package State Change"
        and entry.data["event"]["detail"].get("ModelPackageArn") == package_arn
        and entry.data["event"]["detail"].get("ModelApprovalStatus") == "Approved"
    ][-1]


def test_a_version_approved_again_after_its_rejection_deploys_again_once(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)  # the version a rejection returns to
    v2 = deploy_new_version(cloud, auc=0.91)  # approved: deployed
    first_deployment = approval_deploy_name(cloud, v2)
    set_approval(cloud, v2, "Rejected")  # rejected while serving: rolled back to v1
    cloud.settle()
    rollback = rejection_rollback_execution_name(STAGING, v2, approval_changed_at(cloud, v2))
    assert_serving(cloud, v1, planned_config(cloud, v1))
    cloud.extensions.endpoints.set_duplicate_model_package_events(2)  # SageMaker may send several events for one change
    since = len(cloud.timeline)
    approve(cloud, v2)  # approved again: deployed again

    second_deployment = approval_deploy_name(cloud, v2)
    assert second_deployment != first_deployment  # Step Functions would refuse the first name for 90 days
    actions = registry_ingress_actions(cloud, since)
    assert [action["execution_name"] for action in actions] == [second_deployment] * 2
    outcomes = deploy_outcomes(cloud)
    assert (outcomes[rollback]["status"], outcomes[rollback]["states"]) == ("SUCCEEDED", ROLLBACK_STATES)
    assert (outcomes[second_deployment]["status"], outcomes[second_deployment]["states"]) == (
        "SUCCEEDED",
        UPDATE_STATES,
    )
    assert_serving(cloud, v2, planned_config(cloud, v2))
    assert ledger_kinds(cloud) == {"DeploymentSucceeded": 3, "RollbackSucceeded": 1}
    assert sns_events(cloud)[-2:] == ["Rollback Succeeded", "Deployment Succeeded"]

    # EventBridge delivers the approval once more, under another event id: it is the same change.
    redelivered = {**captured_approval_event(cloud, v2), "id": "0f5d2c8e-2a41-4c7e-9d0b-3b1f6f9a7e55"}
    since = len(cloud.timeline)
    assert cloud.put_event(redelivered) == 1
    cloud.settle()

    [action] = registry_ingress_actions(cloud, since)
    assert (action["action"], action["execution_name"]) == ("already_started", second_deployment)
    assert deploy_outcomes(cloud) == outcomes
    assert ledger_kinds(cloud) == {"DeploymentSucceeded": 3, "RollbackSucceeded": 1}
    assert failed_invocations(cloud) == []


# -- 9. a burst of approvals ----------------------------------------------------------------------------------


def test_approvals_in_a_burst_are_serialized_and_the_newest_version_serves(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v2 = register_model_package(cloud, auc=0.91)
    v3 = register_model_package(cloud, auc=0.92)
    cloud.settle()
    set_approval(cloud, v2)
    set_approval(cloud, v3)  # the same virtual instant
    cloud.settle()

    v2_name, v3_name = (approval_deploy_name(cloud, arn) for arn in (v2, v3))
    outcomes = deploy_outcomes(cloud)
    assert {outcome["status"] for outcome in outcomes.values()} == {"SUCCEEDED"}
    # SageMaker refuses UpdateEndpoint on an Updating endpoint: no attempt ever hit that.
    updates = sdk_calls(cloud, "updateEndpoint")
    assert [update for update in updates if update["error"] is not None] == []
    assert_serving(cloud, v3, planned_config(cloud, v3))
    [v3_succeeded] = [r for r in records_of(cloud, "DeploymentSucceeded") if r["details"]["model_package_arn"] == v3]
    if "Superseded" in outcomes[v2_name]["states"]:
        # v3 raised the desired version before v2 took the lock: v2 stands aside, v3 replaces v1 directly.
        assert outcomes[v2_name]["states"] == [
            "ReceiveRequest", "Prepare", "ApprovalNeeded?", "AcquireLock", "LockAcquired?", "NoteSuperseded",
            "RecordFailed", "NewerVersionRequested?", "Superseded",
        ]  # fmt: skip
        [superseded] = records_of(cloud, "DeploymentSuperseded")
        assert superseded["details"]["model_package_arn"] == v2
        assert superseded["reason"] == "version 3 was requested after this one"
        assert [update["execution"] for update in updates] == [v3_name]
        assert v3_succeeded["details"]["previous_model_package_arn"] == v1
        assert sns_events(cloud) == ["Deployment Succeeded", "Deployment Superseded", "Deployment Succeeded"]
    else:
        # v2 held the lock first: it is deployed, then v3 (which waited for the lock) replaces it.
        assert outcomes[v2_name]["states"] == UPDATE_STATES
        assert "WaitForLock" in outcomes[v3_name]["states"]
        assert [update["execution"] for update in updates] == [v2_name, v3_name]
        [v2_succeeded] = [
            r for r in records_of(cloud, "DeploymentSucceeded") if r["details"]["model_package_arn"] == v2
        ]
        assert ledger_time(v2_succeeded) <= ledger_time(v3_succeeded)
        assert v3_succeeded["details"]["previous_model_package_arn"] == v2
        assert records_of(cloud, "DeploymentSuperseded") == []
    assert outcomes[v3_name]["states"][-len(UPDATE_STATES[4:]) :] == UPDATE_STATES[4:]
    assert failed_invocations(cloud) == []


# -- 10. promotion ----------------------------------------------------------------------------------------


def test_promotion_requires_a_version_deployed_and_baked_in_staging(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    cloud.advance(31 * 60)
    run_execution(cloud, DEPLOY, "promote-v1", {"model_package_arn": v1, "stage": "prod", "requested_by": "alice"})
    assert deploy_outcomes(cloud)["promote-v1"]["states"] == CREATE_STATES
    v1_prod_config = planned_config(cloud, v1, "prod")

    v2 = register_model_package(cloud, auc=0.91)
    cloud.settle()
    set_approval(cloud, v2)
    cloud.settle(fire_timers=False)  # v2's staging deployment is under way, not done
    assert describe_endpoint(cloud)["EndpointStatus"] == "Updating"
    request = {"model_package_arn": v2, "stage": "prod", "requested_by": "alice"}
    cloud.client("stepfunctions").start_execution(
        stateMachineArn=cloud.state_machine_arn(DEPLOY), name="promote-early", input=json.dumps(request)
    )
    cloud.settle(fire_timers=False)
    early = deploy_outcomes(cloud)["promote-early"]
    assert (early["status"], early["error"], early["states"]) == ("FAILED", "InvalidRequest", REJECTED_STATES)
    assert early["cause"] == (
        "Promotion to 'prod' refused: version 2 of 'churn' is not deployed in 'staging' (never deployed)"
    )

    cloud.settle()  # v2 now serves in staging
    run_execution(cloud, DEPLOY, "promote-unbaked", request)
    unbaked = deploy_outcomes(cloud)["promote-unbaked"]
    assert (unbaked["status"], unbaked["error"], unbaked["states"]) == ("FAILED", "InvalidRequest", REJECTED_STATES)
    assert "version 2 of 'churn' must bake 30 min in 'staging'" in unbaked["cause"]
    assert_serving(cloud, v1, v1_prod_config, endpoint=PROD)

    cloud.advance(31 * 60)
    run_execution(cloud, DEPLOY, "promote-baked", request)
    baked = deploy_outcomes(cloud)["promote-baked"]
    assert (baked["status"], baked["states"]) == ("SUCCEEDED", UPDATE_STATES)
    v2_prod_config = planned_config(cloud, v2, "prod")
    assert v2_prod_config.startswith("churn-prod-v2-")
    [prod_update] = [update for update in sdk_calls(cloud, "updateEndpoint") if update["execution"] == "promote-baked"]
    assert prod_update["parameters"] == {
        "EndpointName": PROD,
        "EndpointConfigName": v2_prod_config,
        "DeploymentConfig": PROD_DEPLOYMENT_CONFIG,
    }
    assert describe_endpoint(cloud, PROD)["LastDeploymentConfig"] == PROD_DEPLOYMENT_CONFIG
    assert_serving(cloud, v2, v2_prod_config, endpoint=PROD)
    [variant] = cloud.client("sagemaker").describe_endpoint_config(EndpointConfigName=v2_prod_config)[
        "ProductionVariants"
    ]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.xlarge", 4)
    assert_serving(cloud, v2, planned_config(cloud, v2), endpoint=STAGING)  # staging is left as it was
    promoted = records_of(cloud, "DeploymentSucceeded")[-1]
    assert promoted["execution_arn"].endswith(":promote-baked")
    assert promoted["reason"] == "deployment to 'prod' requested by alice"
    assert (promoted["details"]["stage"], promoted["details"]["requested_by"]) == ("prod", "alice")
    assert promoted["details"]["previous_model_package_arn"] == v1
    assert [record["reason"] for record in records_of(cloud, "DeploymentRejected")] == [
        early["cause"],
        unbaked["cause"],
    ]


# -- 11. manual rollback ------------------------------------------------------------------------------------


def test_manual_rollback_to_an_earlier_version(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    v2 = deploy_new_version(cloud, auc=0.91)
    v2_config = planned_config(cloud, v2)

    run_execution(cloud, DEPLOY, "rollback-lkg", {"endpoint": STAGING, "to": "last_known_good", "reason": "ops: flaky"})
    refused = deploy_outcomes(cloud)["rollback-lkg"]
    assert (refused["status"], refused["error"], refused["states"]) == ("FAILED", "InvalidRequest", REJECTED_STATES)
    assert refused["cause"] == "Endpoint 'churn-staging' already serves version 2"
    assert_serving(cloud, v2, v2_config)

    reason = "ops: v2 mislabels churners in region EU"
    run_execution(cloud, DEPLOY, "rollback-v1", {"endpoint": STAGING, "to": v1, "reason": reason})
    outcome = deploy_outcomes(cloud)["rollback-v1"]
    assert (outcome["status"], outcome["states"]) == ("SUCCEEDED", ROLLBACK_STATES)
    rollback_update = sdk_calls(cloud, "updateEndpoint")[-1]
    assert rollback_update["parameters"] == {
        "EndpointName": STAGING,
        "EndpointConfigName": v1_config,  # the config v1 was deployed with: nothing rebuilt
        "DeploymentConfig": ROLLBACK_DEPLOYMENT_CONFIG,
    }
    assert_serving(cloud, v1, v1_config)
    [rolled_back] = records_of(cloud, "RollbackSucceeded")
    assert (rolled_back["status"], rolled_back["reason"]) == ("Succeeded", reason)
    assert rolled_back["execution_arn"].endswith(":rollback-v1")
    assert (rolled_back["details"]["model_package_arn"], rolled_back["details"]["previous_model_package_arn"]) == (
        v1,
        v2,
    )
    state = endpoint_state(cloud, STAGING)
    assert state is not None
    assert (state["last_known_good_package_arn"], state["previous_package_arn"], state["status"]) == (
        v1,
        v2,
        "RolledBack",
    )
    assert sns_events(cloud) == [
        "Deployment Succeeded",
        "Deployment Succeeded",
        "Deployment Request Rejected",
        "Rollback Succeeded",
    ]


def test_manual_rollback_to_a_version_that_never_served_is_refused(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    v1_config = planned_config(cloud, v1)
    cloud.extensions.endpoints.set_endpoint_outcome(STAGING, "silent_rollback")
    v2 = deploy_new_version(cloud, auc=0.91)

    run_execution(cloud, DEPLOY, "rollback-to-broken", {"endpoint": STAGING, "to": v2, "reason": "ops"})
    outcome = deploy_outcomes(cloud)["rollback-to-broken"]
    assert (outcome["status"], outcome["error"], outcome["states"]) == ("FAILED", "InvalidRequest", REJECTED_STATES)
    assert len(sdk_calls(cloud, "updateEndpoint")) == 1  # v2's own attempt only
    assert_serving(cloud, v1, v1_config)
    assert records_of(cloud, "RollbackSucceeded") == []


# -- 12. malformed and hostile input ------------------------------------------------------------------------

# Each case: how to build the request from a registered (pending) churn version, what the cause must contain.
INVALID_REQUESTS: dict[str, tuple[Callable[[str], Any], list[str]]] = {
    "unconfigured-group": (
        lambda arn: {"model_package_arn": arn.replace("/churn-models/", "/other-models/")},
        ["Model package group 'other-models' is not configured"],
    ),
    "group-without-deployment": (
        lambda arn: {"model_package_arn": arn.replace("/churn-models/", "/fraud-models/")},
        ["Model 'fraud' has no deployment section"],
    ),
    "other-region": (
        lambda arn: {"model_package_arn": arn.replace(":us-east-1:", ":eu-west-1:")},
        ["is in 123456789012/eu-west-1, not in this control plane's 123456789012/us-east-1"],
    ),
    "other-account": (
        lambda arn: {"model_package_arn": arn.replace(":123456789012:", ":210987654321:")},
        ["is in 210987654321/us-east-1, not in this control plane's 123456789012/us-east-1"],
    ),
    "unknown-stage": (
        lambda arn: {"model_package_arn": arn, "stage": "qa"},
        ["Stage 'qa' is not configured for model 'churn'; stages: staging, prod"],
    ),
    "unknown-field": (
        lambda arn: {"model_package_arn": arn, "force": True},
        ["Invalid deploy request: force: unknown field; fix: remove it"],
    ),
    "injected-arn": (
        lambda arn: {"model_package_arn": arn + "; aws sagemaker delete-endpoint --endpoint-name churn-prod"},
        ["Invalid deploy request: model_package_arn: String should match pattern"],
    ),
    "empty-object": (lambda arn: {}, ["Invalid deploy request: model_package_arn: Field required"]),
    "list": (lambda arn: [{"model_package_arn": arn}], ['expected a JSON object like {"model_package_arn": ...}']),
    "string": (lambda arn: arn, ['expected a JSON object like {"model_package_arn": ...}']),
    "unapproved": (
        lambda arn: {"model_package_arn": arn},
        ["version 1 of 'churn-models' is PendingManualApproval, not Approved", "approve it in the Model Registry"],
    ),
    "rollback-of-unknown-endpoint": (
        lambda arn: {"endpoint": "churn-qa", "reason": "ops"},
        ["Endpoint 'churn-qa' is not a stage of any configured model"],
    ),
    "rollback-without-reason": (
        lambda arn: {"endpoint": STAGING},
        ["Invalid rollback request: reason: Field required"],
    ),
}


def assert_nothing_deployed(cloud: LocalCloud) -> None:
    sagemaker = cloud.client("sagemaker")
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []
    assert cloud.client("cloudwatch").describe_alarms()["MetricAlarms"] == []


@pytest.mark.parametrize("case", list(INVALID_REQUESTS))
def test_invalid_deploy_request_is_rejected_and_changes_nothing(cloud: LocalCloud, case: str) -> None:
    build, cause_fragments = INVALID_REQUESTS[case]
    v1 = register_model_package(cloud, auc=0.9)
    cloud.settle()
    run_execution(cloud, DEPLOY, f"manual-{case}", build(v1))

    outcome = deploy_outcomes(cloud)[f"manual-{case}"]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "InvalidRequest"
    assert outcome["states"] == REJECTED_STATES
    for fragment in cause_fragments:
        assert fragment in outcome["cause"]
    [rejected] = ledger_records(cloud)
    assert (rejected["kind"], rejected["status"], rejected["reason"]) == (
        "DeploymentRejected",
        "Rejected",
        outcome["cause"],
    )
    assert rejected["execution_arn"].endswith(f":manual-{case}")
    assert_nothing_deployed(cloud)
    assert sdk_calls(cloud, "createEndpoint") == sdk_calls(cloud, "updateEndpoint") == []
    assert sns_events(cloud) == bus_detail_types(cloud) == ["Deployment Request Rejected"]
    assert not any(dead_letters(cloud).values())


def test_request_for_a_model_package_that_does_not_exist_is_rejected(cloud: LocalCloud) -> None:
    v1 = register_model_package(cloud, auc=0.9)
    cloud.settle()
    missing = v1.rsplit("/", 1)[0] + "/99"
    run_execution(cloud, DEPLOY, "manual-missing", {"model_package_arn": missing})

    outcome = deploy_outcomes(cloud)["manual-missing"]
    assert (outcome["status"], outcome["error"], outcome["states"]) == ("FAILED", "InvalidRequest", REJECTED_STATES)
    assert missing in outcome["cause"]
    assert ledger_kinds(cloud) == {"DeploymentRejected": 1}
    assert_nothing_deployed(cloud)
    assert sns_events(cloud) == ["Deployment Request Rejected"]


def test_rejected_deploy_request_is_recorded_as_json(cloud: LocalCloud) -> None:
    request = {"model_package_arn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/churn-models/1"}
    run_execution(cloud, DEPLOY, "manual-unregistered-stage", {**request, "stage": "qa"})

    [rejected] = ledger_records(cloud)
    assert json.loads(rejected["details"]["request"]) == {**request, "stage": "qa"}


def test_approval_in_an_unconfigured_group_is_ignored_by_the_ingress(cloud: LocalCloud) -> None:
    cloud.client("sagemaker").create_model_package_group(ModelPackageGroupName="other-models")
    other = register_model_package(cloud, auc=0.99, group="other-models")
    cloud.settle()
    since = len(cloud.timeline)
    approve(cloud, other)

    assert registry_ingress_actions(cloud, since) == [
        {
            "action": "ignored",
            "reason": "model package group 'other-models' is not under control",
            "execution_name": None,
        }
    ]
    assert deploy_outcomes(cloud) == {}
    assert ledger_records(cloud) == []
    assert_nothing_deployed(cloud)
    assert sns_events(cloud) == []


def test_approval_event_whose_arn_is_of_another_group_is_ignored(cloud: LocalCloud) -> None:
    forged = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/other-models/1"
    assert cloud.put_event(approval_event("churn-models", forged)) == 1
    cloud.settle()

    [action] = registry_ingress_actions(cloud)
    assert (action["action"], action["reason"]) == ("ignored", f"package {forged} is not in group 'churn-models'")
    assert deploy_outcomes(cloud) == {}
    assert ledger_records(cloud) == []
    assert_nothing_deployed(cloud)


def test_malformed_approval_event_goes_to_the_failed_invocations_queue_without_a_deployment(cloud: LocalCloud) -> None:
    event = approval_event("churn-models", f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:model-package/churn-models/1")
    del event["detail"]["ModelPackageArn"]
    assert cloud.put_event(event) == 1
    cloud.settle()

    attempts = invocations(cloud, "RegistryEventsFunction")
    assert len(attempts) == 3  # Lambda's invocation and two retries
    assert {entry.data["error"]["errorType"] for entry in attempts} == {"InvalidRequest"}
    assert "ModelPackageArn" in attempts[0].data["error"]["errorMessage"]
    assert len(attempts) == 3  # Lambda's asynchronous invocation and its two retries, then the on-failure queue
    assert entries(cloud, "dlq") == []  # EventBridge delivered it: not a delivery failure
    [gave_up] = entries(cloud, "lambda-async")
    assert gave_up.data["record"]["requestContext"]["condition"] == "RetriesExhausted"
    assert dead_letters(cloud)["FailedInvocationsQueue"] == 1
    assert deploy_outcomes(cloud) == {}
    assert_nothing_deployed(cloud)


# -- 13. automatic promotion ------------------------------------------------------------------------------------


def test_auto_promote_deploys_to_the_next_stage_after_the_bake(cloud_with_models: StartCloud) -> None:
    stages = [
        {"name": "staging", "endpoint_name": STAGING, "bake_minutes": 10, "auto_promote": True},
        {
            "name": "prod",
            "endpoint_name": PROD,
            "instance_type": "ml.m5.xlarge",
            "initial_instance_count": 4,
            "policy": {
                "blue_green": {
                    "traffic_routing": {
                        "type": "LINEAR",
                        "linear_step_size": {"type": "CAPACITY_PERCENT", "value": 25},
                        "wait_interval_seconds": 600,
                    }
                }
            },
        },
    ]
    cloud = cloud_with_models([deployment_model(stages)])
    v1 = register_model_package(cloud, auc=0.9)
    cloud.settle()
    set_approval(cloud, v1)
    cloud.advance(14 * 60)  # staging InService after 5 min; 9 min of its 10 min bake
    assert endpoint_names(cloud) == [STAGING]
    cloud.settle()

    staging_name = approval_deploy_name(cloud, v1)
    prod_name = deploy_execution_name("prod", "churn", v1, staging_name)
    outcomes = deploy_outcomes(cloud)
    assert outcomes[staging_name]["states"][-4:] == [
        "AutoPromote?",
        "BakeBeforePromotion",
        "StartPromotion",
        "Deployed",
    ]
    assert (outcomes[prod_name]["status"], outcomes[prod_name]["states"]) == ("SUCCEEDED", CREATE_STATES)
    assert_serving(cloud, v1, planned_config(cloud, v1, "prod"), endpoint=PROD)
    staging_record, prod_record = records_of(cloud, "DeploymentSucceeded")
    assert ledger_time(prod_record) - ledger_time(staging_record) >= timedelta(minutes=10)
    assert prod_record["reason"] == "auto-promoted after 10 min in staging"
    assert (prod_record["details"]["stage"], prod_record["details"]["requested_by"]) == ("prod", "auto_promote")
