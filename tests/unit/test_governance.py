"""Governance rules over fakes: owners and maturity levels decide what runs by itself; explicit settings win."""

from datetime import UTC, datetime

import pytest

from controlplane import clock, deploy
from controlplane.config import parse_config
from controlplane.models import ModelPackageStateChange
from scripts.check_config import explain, governance_problems
from tests.fakes import FakeDeploymentLedger, FakeRegistry, FakeWorkflows

T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)
ARN = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/7"


def config(maturity: int | None, deployment: str = "", drift: str = "", owner: bool = True):
    lines = [
        "version: 1",
        "models:",
        "  - name: churn",
        "    model_package_group: churn-models",
        "    data_trigger: {prefix: datasets/churn/}",
        "    pipeline: {name: churn-training}",
    ]
    if owner:
        lines.append("    owner: {team: churn-team, contact: churn@example.com}")
    if maturity is not None:
        lines.append(f"    maturity: {maturity}")
    lines.append(
        "    deployment: {" + deployment + "stages: [{name: staging, endpoint_name: churn-staging, bake_minutes: 30},"
        " {name: prod, endpoint_name: churn-prod}]}"
    )
    lines.append("    drift: {" + drift + "alarms: [{alarm_name: churn-prod-auc, kind: model_quality}]}")
    return parse_config("\n".join(lines) + "\n")


@pytest.fixture(autouse=True)
def frozen_clock():
    clock.use(lambda: T0)
    yield
    clock.use(None)


def approval_event() -> ModelPackageStateChange:
    detail = {"ModelPackageGroupName": "churn-models", "ModelPackageVersion": 7, "ModelPackageArn": ARN,
              "ModelApprovalStatus": "Approved", "LastModifiedTime": "2026-11-27T09:00:00Z"}  # fmt: skip
    return ModelPackageStateChange.model_validate(
        {"id": "e", "detail-type": "SageMaker Model Package State Change", "source": "aws.sagemaker",
         "time": "2026-11-27T09:00:05Z", "detail": detail}
    )  # fmt: skip


@pytest.mark.parametrize(
    ("maturity", "deploys", "promotes", "asks_for_drift"),
    [(1, False, False, True), (2, True, False, True), (3, True, True, False), (None, True, False, False)],
)
def test_maturity_sets_what_runs_by_itself(maturity, deploys, promotes, asks_for_drift):
    model = config(maturity).model("churn")
    assert model.deployment is not None

    assert model.deploys_on_approval() is deploys
    assert model.auto_promotes(model.deployment.stages[0]) is promotes
    assert model.drift_requires_approval() is asks_for_drift
    assert model.effective_drift_policy().require_approval is asks_for_drift


def test_explicit_settings_override_the_maturity_defaults():
    model = config(3, deployment="deploy_on_approval: false, ", drift="require_approval: true, ").model("churn")

    assert model.deploys_on_approval() is False
    assert model.drift_requires_approval() is True
    lines = {line.setting: (line.value, line.source) for line in model.effective_policy()}
    assert lines == {
        "deploy_on_approval": (False, "explicit"),
        "auto_promote staging -> prod": (True, "maturity 3"),
        "drift.require_approval": (True, "explicit"),
    }


def test_maturity_1_approval_is_announced_to_the_owner_and_waits_for_an_explicit_deploy():
    ledger, workflows = FakeDeploymentLedger(), FakeWorkflows()

    outcome = deploy.on_model_package_change(approval_event(), config(1), ledger, workflows)

    assert outcome.action == "awaiting_deploy"
    assert workflows.deploys == {}
    ((detail_type, detail),) = ledger.announcements()
    assert detail_type == "Model Version Awaiting Deploy"
    assert (detail["model"], detail["model_package_arn"], detail["stage"]) == ("churn", ARN, "staging")


def test_maturity_2_approval_deploys_to_the_first_stage():
    workflows = FakeWorkflows()

    outcome = deploy.on_model_package_change(approval_event(), config(2), FakeDeploymentLedger(), workflows)

    assert outcome.action == "deploy_started"
    assert [request["stage"] for request in workflows.deploys.values()] == ["staging"]


@pytest.mark.parametrize(("maturity", "promotes"), [(2, False), (3, True)])
def test_only_maturity_3_promotes_after_bake_by_itself(maturity, promotes):
    ledger, registry = FakeDeploymentLedger(), FakeRegistry()
    registry.add(ARN)
    cfg = config(maturity)
    plan = deploy.prepare({"model_package_arn": ARN}, "deploy-1", cfg, ledger, registry, "us-east-1", "123456789012")

    promotion = deploy.record_deployed(plan, "arn:exec", cfg, ledger)

    assert promotion.promote is promotes
    if promotes:
        assert promotion.wait_seconds == 30 * 60
        assert promotion.request is not None
        assert promotion.request["stage"] == "prod"


def test_check_config_requires_owner_and_maturity_and_explains_the_policy():
    unlevelled = config(None, owner=False)

    assert governance_problems(unlevelled) == [
        "model 'churn' names no owner; add `owner:` to it (README, Governance)",
        "model 'churn' names no maturity; add `maturity:` to it (README, Governance)",
    ]
    assert governance_problems(config(2)) == []
    assert explain(config(2)).splitlines() == [
        "churn: owner churn-team <churn@example.com>, maturity 2",
        "  deploy_on_approval: yes (maturity 2)",
        "  auto_promote staging -> prod: no (maturity 2)",
        "  drift.require_approval: yes (maturity 2)",
    ]
