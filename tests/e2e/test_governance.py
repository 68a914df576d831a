"""Governance in the whole template: the bias gate refuses a version whose registered bias report breaks the
configured bounds (announced to the model's owner), each deployment writes the version's model card, and a
promotion into a stage that requires approval waits for someone other than its requester."""

import json
from collections.abc import Callable
from typing import Any

from controlplane.naming import model_card_name
from localcloud.cloud import LocalCloud
from localcloud.scenarios import (
    DEPLOY,
    approve,
    deploy_new_version,
    register_model_package,
)
from tests.e2e.support import (
    approval_deploy_name,
    deploy_outcomes,
    deployment_model,
    endpoint_state,
    records_of,
    sdk_calls,
    sns_messages,
    stage_deployment,
)

STAGING = "churn-staging"
DPPL = "post_training gender=F DPPL"


def test_the_bias_gate_refuses_a_version_whose_bias_report_breaks_the_bounds(cloud: LocalCloud) -> None:
    fair = deploy_new_version(cloud, auc=0.9)
    card = cloud.client("sagemaker").describe_model_card(ModelCardName=model_card_name("churn", 1, fair))
    content = json.loads(card["Content"])
    assert content["model_overview"]["model_owner"] == "churn-team <churn-team@example.com>"
    assert content["additional_information"]["custom_details"]["model_package_arn"] == fair
    [succeeded] = records_of(cloud, "DeploymentSucceeded")
    assert {key: float(value) for key, value in succeeded["details"]["bias_metrics"].items()} == {
        DPPL: 0.02,
        "post_training gender=F DI": 1.0,
    }
    assert float(succeeded["details"]["metrics"]["binary_classification_metrics.auc.value"]) == 0.9
    biased = register_model_package(cloud, auc=0.93, dppl=0.3)
    cloud.settle()

    approve(cloud, biased)

    outcome = deploy_outcomes(cloud)[approval_deploy_name(cloud, biased)]
    assert outcome["status"] == "FAILED"
    assert outcome["cause"] == f"bias {DPPL} = 0.3 is beyond ±0.1"
    [gate_failed] = records_of(cloud, "DeploymentGateFailed")
    assert gate_failed["details"]["model_package_arn"] == biased
    assert {key: float(value) for key, value in gate_failed["details"]["bias_metrics"].items()} == {
        DPPL: 0.3,
        "post_training gender=F DI": 1.0,
    }
    assert sdk_calls(cloud, "updateEndpoint") == []
    state = endpoint_state(cloud, STAGING)
    assert state is not None
    assert state["serving_package_arn"] == fair
    assert stage_deployment(cloud, biased, "staging") is None
    [failed] = [message for message in sns_messages(cloud) if message["event"] == "Deployment Failed"]
    assert (failed["status"], failed["owner"], failed["reason"]) == ("GateFailed", "churn-team", outcome["cause"])


PROD = "churn-prod"


def approval_requests(cloud: LocalCloud) -> list[dict[str, Any]]:
    return [message for message in sns_messages(cloud) if message["event"] == "Deployment Approval Requested"]


def test_a_promotion_into_a_stage_that_requires_approval_waits_for_another_person(
    cloud_with_models: Callable[[list[dict[str, Any]]], LocalCloud],
) -> None:
    prod = {"name": "prod", "endpoint_name": PROD, "requires_approval": True, "approval_timeout_minutes": 30}
    cloud = cloud_with_models([deployment_model([{"name": "staging", "endpoint_name": STAGING}, prod])])
    version = deploy_new_version(cloud, auc=0.9)
    sfn = cloud.client("stepfunctions")

    def promote(name: str) -> dict[str, Any]:
        request = {"model_package_arn": version, "stage": "prod", "requested_by": "alice"}
        sfn.start_execution(stateMachineArn=cloud.state_machine_arn(DEPLOY), name=name, input=json.dumps(request))
        cloud.settle(fire_timers=False)
        assert deploy_outcomes(cloud)[name]["status"] == "RUNNING"  # parked in AskApproval
        return approval_requests(cloud)[-1]

    asked = promote("promote-answered-by-requester")
    assert (asked["requested_by"], asked["stage"], asked["timeout_seconds"]) == ("alice", "prod", 1800)
    sfn.send_task_success(taskToken=asked["task_token"], output=json.dumps({"approve": True, "by": "alice"}))
    cloud.settle(fire_timers=False)
    refused = deploy_outcomes(cloud)["promote-answered-by-requester"]
    assert refused["status"] == "FAILED"
    assert "alice requested it and cannot also approve it (separation of duties)" in refused["cause"]
    assert endpoint_state(cloud, PROD) is None

    asked = promote("promote-unanswered")
    cloud.settle()  # the 30 minutes pass on the virtual clock
    unanswered = deploy_outcomes(cloud)["promote-unanswered"]
    assert unanswered["status"] == "FAILED"
    assert "nobody approved it within 30 min" in unanswered["cause"]
    assert endpoint_state(cloud, PROD) is None

    asked = promote("promote-approved")
    answer = {"approve": True, "by": "bob", "reason": "reviewed the staging metrics"}
    sfn.send_task_success(taskToken=asked["task_token"], output=json.dumps(answer))
    cloud.settle()
    assert deploy_outcomes(cloud)["promote-approved"]["status"] == "SUCCEEDED"
    state = endpoint_state(cloud, PROD)
    assert state is not None
    assert state["serving_package_arn"] == version
    [succeeded] = [
        record for record in records_of(cloud, "DeploymentSucceeded") if record["details"]["stage"] == "prod"
    ]
    assert (succeeded["details"]["requested_by"], succeeded["details"]["promotion_approved_by"]) == ("alice", "bob")
    [approved] = records_of(cloud, "DeploymentApproved")
    assert approved["reason"] == "reviewed the staging metrics"
