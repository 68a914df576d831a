"""Governance in the whole template: the bias gate refuses a version whose registered bias report breaks the
configured bounds (announced to the model's owner), each deployment writes the version's model card, and a
promotion into a stage that requires approval waits for someone other than its requester."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from controlplane.naming import model_card_name, package_lineage, training_lineage
from localcloud.cloud import LocalCloud
from localcloud.scenarios import (
    AUC_DROP,
    DECISION,
    DEPLOY,
    answer_decision,
    approve,
    create_auc_drop_alarm,
    deploy_new_version,
    register_model_package,
    run_execution,
    train_dataset,
)
from tests.e2e.support import (
    DECISION_REJECTED,
    approval_deploy_name,
    decision_item,
    deploy_outcomes,
    deployment_model,
    endpoint_state,
    outcomes_of,
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


APPROVED = "reviewed the staging metrics"


class Promotions:
    """Promotions of one version to a prod stage that requires approval, asked by alice, answered by others."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud
        self.version = deploy_new_version(cloud, auc=0.9)

    def promote(self, name: str) -> dict[str, Any]:
        """Start the promotion; it parks in AskApproval. Returns its Deployment Approval Requested announcement."""
        request = {"model_package_arn": self.version, "stage": "prod", "requested_by": "alice"}
        self.cloud.client("stepfunctions").start_execution(
            stateMachineArn=self.cloud.state_machine_arn(DEPLOY), name=name, input=json.dumps(request)
        )
        self.cloud.settle(fire_timers=False)
        assert deploy_outcomes(self.cloud)[name]["status"] == "RUNNING"
        return approval_requests(self.cloud)[-1]

    def answer(self, name: str, approval_id: str, by: str, approve: bool = True) -> dict[str, Any]:
        """`mlops approve`'s request: StartExecution on the decision state machine. Returns its outcome."""
        request = {"approval_id": approval_id, "approve": approve, "by": by, "reason": APPROVED}
        answer_decision(self.cloud, name, request)
        return outcomes_of(self.cloud, DECISION)[name]


@pytest.fixture
def promotions(cloud_with_models: Callable[[list[dict[str, Any]]], LocalCloud]) -> Promotions:
    prod = {"name": "prod", "endpoint_name": PROD, "requires_approval": True, "approval_timeout_minutes": 30}
    return Promotions(cloud_with_models([deployment_model([{"name": "staging", "endpoint_name": STAGING}, prod])]))


def test_the_requester_cannot_approve_and_silence_refuses_the_promotion(promotions: Promotions) -> None:
    cloud = promotions.cloud
    asked = promotions.promote("promote-unanswered")
    assert (asked["requested_by"], asked["stage"], asked["timeout_seconds"]) == ("alice", "prod", 1800)
    assert "task_token" not in asked  # the token waits in the ledger; only the decision workflow resumes it
    waiting = decision_item(cloud, asked["approval_id"])
    assert waiting is not None
    assert (waiting["status"], waiting["question"], waiting["requested_by"]) == ("waiting", "approval", "alice")

    by_requester = promotions.answer("self-approval", asked["approval_id"], "alice")

    assert (by_requester["status"], by_requester["states"]) == ("FAILED", DECISION_REJECTED)
    assert "alice requested the deployment to 'prod' and cannot also approve it" in by_requester["cause"]
    [rejected] = records_of(cloud, "DecisionRejected")
    assert json.loads(rejected["details"]["request"])["by"] == "alice"
    assert deploy_outcomes(cloud)["promote-unanswered"]["status"] == "RUNNING"  # still open for another person
    cloud.settle()  # the 30 minutes pass on the virtual clock: silence refuses
    unanswered = deploy_outcomes(cloud)["promote-unanswered"]
    assert unanswered["status"] == "FAILED"
    assert "nobody approved it within 30 min" in unanswered["cause"]
    assert endpoint_state(cloud, PROD) is None
    late = promotions.answer("late-approval", asked["approval_id"], "bob")
    assert late["status"] == "FAILED"
    assert "the deployment was refused (Deployment to 'prod' refused: nobody approved it" in late["cause"]
    assert len(records_of(cloud, "DecisionRejected")) == 2


def test_another_person_approves_once_and_both_identities_are_recorded(promotions: Promotions) -> None:
    cloud = promotions.cloud
    asked = promotions.promote("promote-approved")

    approved = promotions.answer("bob-approves", asked["approval_id"], "bob")
    repeated = promotions.answer("carol-refuses", asked["approval_id"], "carol", approve=False)
    cloud.settle()

    assert approved["status"] == "SUCCEEDED"
    assert repeated["status"] == "FAILED"
    assert f"is closed: the deployment was approved ({APPROVED})" in repeated["cause"]
    assert deploy_outcomes(cloud)["promote-approved"]["status"] == "SUCCEEDED"
    state = endpoint_state(cloud, PROD)
    assert state is not None
    assert state["serving_package_arn"] == promotions.version
    [succeeded] = [
        record for record in records_of(cloud, "DeploymentSucceeded") if record["details"]["stage"] == "prod"
    ]
    assert (succeeded["details"]["requested_by"], succeeded["details"]["promotion_approved_by"]) == ("alice", "bob")
    [approval] = records_of(cloud, "DeploymentApproved")
    assert approval["reason"] == APPROVED
    [answered] = records_of(cloud, "ApprovalAnswered")
    assert (answered["details"]["requested_by"], answered["details"]["by"]) == ("alice", "bob")
    closed = decision_item(cloud, asked["approval_id"])
    assert closed is not None
    assert (closed["status"], closed.get("task_token")) == ("closed", None)


def version_lineage(cloud: LocalCloud, lineage: str) -> list[dict[str, Any]]:
    """The README's query: one model version's whole life from the ledger's ByLineage index, oldest first."""
    response = cloud.client("dynamodb").query(
        TableName=cloud.ledger_table,
        IndexName="ByLineage",
        KeyConditionExpression="by_lineage = :lineage",
        ExpressionAttributeValues={":lineage": {"S": f"LINEAGE#{lineage}"}},
    )
    deserializer = TypeDeserializer()
    return [{key: deserializer.deserialize(value) for key, value in item.items()} for item in response["Items"]]


def test_one_query_returns_a_versions_life_from_its_dataset_to_its_rollback(cloud: LocalCloud) -> None:
    v1 = deploy_new_version(cloud, auc=0.9)
    cloud.advance(31 * 60)
    run_execution(cloud, DEPLOY, "promote-v1", {"model_package_arn": v1, "stage": "prod", "requested_by": "alice"})
    dataset = train_dataset(cloud, "datasets/churn/2026-11-28/")
    [started] = records_of(cloud, "TrainingStarted")
    v2 = register_model_package(cloud, auc=0.91, generated_by=started["pipeline_execution_arn"])
    cloud.settle()
    approve(cloud, v2)
    cloud.advance(31 * 60)
    run_execution(cloud, DEPLOY, "promote-v2", {"model_package_arn": v2, "stage": "prod", "requested_by": "alice"})
    create_auc_drop_alarm(cloud)
    cloud.advance(3600)
    assert cloud.extensions.monitoring.raise_alarm(AUC_DROP, "ALARM", datapoints=[0.61])
    cloud.settle()

    lineage = training_lineage(started["execution_arn"])
    story = version_lineage(cloud, lineage)

    kinds = [record["kind"] for record in story]  # by time; a request and its start share one instant
    assert sorted(kinds[:2]) == ["TrainingRequested", "TrainingStarted"]
    assert kinds[2:] == [
        "TrainingSucceeded", "DeploymentSucceeded", "DeploymentSucceeded", "DriftIncidentOpened",
        "DriftResponseDecided", "RollbackSucceeded",
    ]  # fmt: skip
    assert {record["dataset_uri"] for record in story[:3]} == {dataset}
    assert [record["details"]["stage"] for record in story[3:5]] == ["staging", "prod"]
    assert {record["details"]["model_package_arn"] for record in story[3:5]} == {v2}
    assert story[-1]["details"]["model_package_arn"] == v1  # the rollback took v2 off, back to v1
    assert {record["lineage"] for record in story} == {lineage}
    v1_story = version_lineage(cloud, package_lineage(v1))  # a version the control plane did not train
    assert [record["kind"] for record in v1_story] == ["DeploymentSucceeded", "DeploymentSucceeded"]
    state = endpoint_state(cloud, PROD)
    assert state is not None
    assert state["serving_lineage"] == package_lineage(v1)


def test_the_documentation_gate_reads_the_package_metadata_and_the_model_card(
    cloud_with_models: Callable[[list[dict[str, Any]]], LocalCloud],
) -> None:
    prod = {"name": "prod", "endpoint_name": PROD, "requires_documentation": True}
    cloud = cloud_with_models([deployment_model([{"name": "staging", "endpoint_name": STAGING}, prod])])
    sagemaker = cloud.client("sagemaker")
    version = register_model_package(cloud, auc=0.9)
    sagemaker.update_model_package(ModelPackageArn=version, CustomerMetadataProperties={"intended_uses": "offers"})
    approve(cloud, version)  # an approval leaves the metadata as it is (moto's would erase it)
    assert sagemaker.describe_model_package(ModelPackageName=version)["CustomerMetadataProperties"] == {
        "intended_uses": "offers"
    }
    promotion = {"model_package_arn": version, "stage": "prod", "requested_by": "alice"}

    run_execution(cloud, DEPLOY, "promote-undocumented", promotion)

    card = model_card_name("churn", 1, version)
    refused = deploy_outcomes(cloud)["promote-undocumented"]
    assert refused["status"] == "FAILED"
    assert f"nor its model card '{card}' document limitations, assumptions" in refused["cause"]
    [gate_failed] = records_of(cloud, "DeploymentGateFailed")
    assert gate_failed["details"]["missing_documentation"] == ["limitations", "assumptions"]
    assert endpoint_state(cloud, PROD) is None

    content = json.loads(sagemaker.describe_model_card(ModelCardName=card)["Content"])  # written after staging
    assert content["intended_uses"]["intended_uses"] == "offers"
    content["additional_information"]["caveats_and_recommendations"] = "EU customers only"
    content["additional_information"]["custom_details"]["assumptions"] = "monthly usage data"
    sagemaker.update_model_card(ModelCardName=card, Content=json.dumps(content), ModelCardStatus="PendingReview")

    run_execution(cloud, DEPLOY, "promote-documented", promotion)

    assert deploy_outcomes(cloud)["promote-documented"]["status"] == "SUCCEEDED"
    state = endpoint_state(cloud, PROD)
    assert state is not None
    assert state["serving_package_arn"] == version
    rewritten = sagemaker.describe_model_card(ModelCardName=card)
    assert json.loads(rewritten["Content"])["additional_information"]["caveats_and_recommendations"] == (
        "EU customers only"
    )
    assert rewritten["ModelCardStatus"] == "PendingReview"
