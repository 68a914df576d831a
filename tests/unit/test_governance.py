"""Governance rules over fakes: owners and maturity levels decide what runs by itself; explicit settings win."""

import json
from datetime import UTC, datetime

import pytest

from controlplane import clock, decisions, deploy, deploy_triggers, model_cards, naming
from controlplane.config import parse_config
from controlplane.errors import InvalidRequest
from controlplane.events.registry import ModelPackageStateChange
from controlplane.failures import StepFailure
from controlplane.ports import PipelineRun
from scripts.check_config import explain, governance_problems
from tests.fakes import FakeDeploymentLedger, FakeEndpoints, FakeModelCards, FakeRegistry, FakeWorkflows

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


def approval_event(generated_by: str | None = None) -> ModelPackageStateChange:
    detail = {"ModelPackageGroupName": "churn-models", "ModelPackageVersion": 7, "ModelPackageArn": ARN,
              "ModelApprovalStatus": "Approved", "LastModifiedTime": "2026-11-27T09:00:00Z"}  # fmt: skip
    if generated_by:
        detail["MetadataProperties"] = {"GeneratedBy": generated_by}
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

    outcome = deploy_triggers.on_model_package_change(approval_event(), config(1), ledger, workflows)

    assert outcome.action == "awaiting_deploy"
    assert workflows.deploys == {}
    ((detail_type, detail),) = ledger.announcements()
    assert detail_type == "Model Version Awaiting Deploy"
    assert (detail["model"], detail["model_package_arn"], detail["stage"]) == ("churn", ARN, "staging")
    assert next(iter(ledger.records.values())).lineage == "package/churn-models/7"


def test_an_approval_awaiting_deploy_carries_the_lineage_of_the_training_run_that_registered_it():
    ledger = FakeDeploymentLedger()
    pipeline = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-training/execution/p1"
    retrain = "arn:aws:states:us-east-1:123456789012:execution:stack-retrain:retrain-churn-d1"
    ledger.register_pipeline_run(PipelineRun(pipeline, "churn", "s3://data/d1/", retrain, "Succeeded"))

    deploy_triggers.on_model_package_change(approval_event(generated_by=pipeline), config(1), ledger, FakeWorkflows())

    assert next(iter(ledger.records.values())).lineage == "training/retrain-churn-d1"


def test_maturity_2_approval_deploys_to_the_first_stage():
    workflows = FakeWorkflows()

    outcome = deploy_triggers.on_model_package_change(approval_event(), config(2), FakeDeploymentLedger(), workflows)

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


def bias_report(section: str, **metrics_by_facet: dict[str, float]) -> dict:
    return {
        f"{section}_bias_metrics": {
            "label": "churned",
            "label_value_or_threshold": "1",
            "facets": {
                facet: [
                    {"value_or_threshold": "F", "metrics": [
                        {"name": name, "description": name, "value": value} for name, value in metrics.items()
                    ]}
                ]
                for facet, metrics in metrics_by_facet.items()
            },
        }
    }  # fmt: skip


GATED = """
version: 1
models:
  - name: churn
    model_package_group: churn-models
    data_trigger: {prefix: datasets/churn/}
    pipeline: {name: churn-training}
    deployment:
      gate:
        bias:
          - {facet: gender, metric: DPPL, max_abs: 0.1}
          - {metric: DI, min: 0.8, max: 1.25}
      stages:
        - {name: staging, endpoint_name: churn-staging}
        - {name: prod, endpoint_name: churn-prod, requires_documentation: true}
"""


def gate_for(stage: str, bias: list[dict], metadata: dict[str, str] | None = None):
    cfg = parse_config(GATED)
    ledger, registry = FakeDeploymentLedger(), FakeRegistry()
    registry.add(ARN, bias=bias, metadata=metadata)
    plan = deploy.prepare({"model_package_arn": ARN}, "deploy-1", cfg, ledger, registry, "us-east-1", "123456789012")
    plan = plan.model_copy(update={"stage": stage})
    return deploy.evaluate_gate(plan, cfg, ledger, registry), plan, ledger


def test_bias_within_bounds_passes_and_reports_the_numbers():
    result, _, _ = gate_for(
        "staging",
        [bias_report("pre_training", gender={"DI": 0.9}), bias_report("post_training", gender={"DPPL": -0.05})],
    )

    assert result.passed, result.failures
    assert result.bias_metrics == {"pre_training gender=F DI": 0.9, "post_training gender=F DPPL": -0.05}


def test_bias_out_of_bounds_fails_with_each_number():
    result, _, _ = gate_for(
        "staging",
        [bias_report("post_training", gender={"DPPL": -0.2, "DI": 0.7}, age={"DI": 1.3, "DPPL": 0.5})],
    )

    assert not result.passed
    assert result.failures == [
        "bias post_training gender=F DPPL = -0.2 is beyond ±0.1",
        "bias post_training gender=F DI = 0.7 is below the minimum 0.8",
        "bias post_training age=F DI = 1.3 is above the maximum 1.25",
    ]


@pytest.mark.parametrize(
    ("reports", "failure"),
    [
        ([], "the package registers no bias reports (ModelMetrics.Bias)"),
        (
            [bias_report("post_training", age={"DPPL": 0.0, "DI": 1.0})],
            "no registered bias report has DPPL for facet 'gender'",
        ),
        ([bias_report("post_training", gender={"DPPL": 0.0})], "no registered bias report has DI"),
    ],
)  # fmt: skip
def test_missing_bias_evidence_fails_the_gate(reports, failure):
    result, _, _ = gate_for("staging", reports)

    assert not result.passed
    assert result.failures == [failure]


FAIR = [bias_report("post_training", gender={"DPPL": 0.0, "DI": 1.0})]


def test_a_stage_that_requires_documentation_names_the_missing_fields():
    result, _, _ = gate_for("prod", FAIR, {"intended_uses": "retention offers", "limitations": " "})

    assert not result.passed
    assert result.missing_documentation == ["limitations", "assumptions"]
    card = naming.model_card_name("churn", 7, ARN)
    assert result.failures == [
        "stage 'prod' requires documentation; neither the package's CustomerMetadataProperties nor its model card "
        f"'{card}' document limitations, assumptions"
    ]
    documented = {"intended_uses": "retention offers", "limitations": "EU only", "assumptions": "monthly data"}
    assert gate_for("prod", FAIR, documented)[0].passed
    assert gate_for("staging", FAIR)[0].passed  # staging does not require it


def test_the_documentation_gate_also_reads_the_versions_model_card_and_the_card_keeps_it():
    cfg = parse_config(GATED)
    ledger, registry, cards = FakeDeploymentLedger(), FakeRegistry(), FakeModelCards()
    registry.add(ARN, bias=FAIR, metadata={"intended_uses": "retention offers"})
    plan = deploy.prepare({"model_package_arn": ARN}, "deploy-1", cfg, ledger, registry, "us-east-1", "123456789012")
    prod = plan.model_copy(update={"stage": "prod"})
    name = naming.model_card_name("churn", 7, ARN)
    deploy.record_deployed(plan, "arn:exec", cfg, ledger)
    model_cards.document_model(plan, cfg, ledger, registry, cards)  # the control plane's card: limitations missing
    assert deploy.evaluate_gate(prod, cfg, ledger, registry, cards).missing_documentation == [
        "limitations", "assumptions"
    ]  # fmt: skip

    written = json.loads(json.dumps(cards.content(name)))
    written["additional_information"]["caveats_and_recommendations"] = "EU customers only"  # a reviewer's edit
    written["additional_information"]["custom_details"]["assumptions"] = "monthly usage data"
    cards.upsert(name, written)

    assert deploy.evaluate_gate(prod, cfg, ledger, registry, cards).passed
    model_cards.document_model(plan, cfg, ledger, registry, cards)  # rewriting the card keeps the reviewer's words
    assert deploy.card_documentation(cards.content(name)) == {
        "intended_uses": "retention offers", "limitations": "EU customers only", "assumptions": "monthly usage data"
    }  # fmt: skip


def test_a_bias_gate_failure_is_recorded_and_announced_with_the_numbers():
    result, plan, ledger = gate_for("staging", [bias_report("post_training", gender={"DPPL": 0.3, "DI": 1.0})])

    failure = StepFailure(error="GateFailed", cause=result.reason)
    outcome = deploy.record_failed(plan, failure, "arn:exec", ledger, FakeEndpoints(), gate=result.model_dump())

    assert outcome.status == "GateFailed"
    record = ledger.records[f"{plan.execution_name}#DeploymentGateFailed"]
    assert record.details["bias_metrics"] == {"post_training gender=F DPPL": 0.3, "post_training gender=F DI": 1.0}
    ((detail_type, detail),) = ledger.announcements()
    assert detail_type == "Deployment Failed"
    assert detail["reason"] == "bias post_training gender=F DPPL = 0.3 is beyond ±0.1"


def test_each_deployment_writes_the_versions_model_card_once():
    cfg = parse_config(
        GATED.replace(
            "    model_package_group: churn-models\n",
            "    model_package_group: churn-models\n"
            "    owner: {team: churn-team, contact: churn@example.com}\n    maturity: 2\n",
        )
    )
    ledger, registry, cards = FakeDeploymentLedger(), FakeRegistry(), FakeModelCards()
    documented = {"intended_uses": "retention offers", "limitations": "EU only", "assumptions": "monthly data"}
    registry.add(ARN, bias=FAIR, metadata=documented)
    plan = deploy.prepare({"model_package_arn": ARN}, "deploy-1", cfg, ledger, registry, "us-east-1", "123456789012")
    deploy.record_deployed(plan, "arn:exec", cfg, ledger)

    first = model_cards.document_model(plan, cfg, ledger, registry, cards)
    again = model_cards.document_model(plan, cfg, ledger, registry, cards)

    assert (first.outcome, again.outcome) == ("created", "unchanged")
    assert first.name == naming.model_card_name("churn", 7, ARN)
    (content,) = cards.cards[first.name]
    assert content["model_overview"]["model_owner"] == "churn-team <churn@example.com>"
    assert content["intended_uses"] == {"intended_uses": "retention offers"}
    assert content["additional_information"]["caveats_and_recommendations"] == "EU only"
    details = content["additional_information"]["custom_details"]
    assert (details["approved_by"], details["assumptions"], details["maturity"]) == ("alice", "monthly data", "2")
    assert details["deployment_staging"].startswith("Deployed at 2026-11-27T09:00:00.000Z on churn-staging (")
    [evaluation] = content["evaluation_details"]
    assert evaluation["metric_groups"] == [
        {"name": "bias", "metric_data": [
            {"name": "post_training gender=F DPPL", "type": "number", "value": 0.0},
            {"name": "post_training gender=F DI", "type": "number", "value": 1.0},
        ]}
    ]  # fmt: skip

    prod = deploy.prepare(
        {"model_package_arn": ARN, "stage": "prod"}, "deploy-2", cfg, ledger, registry, "us-east-1", "123456789012"
    )
    deploy.record_deployed(prod, "arn:exec2", cfg, ledger)
    assert model_cards.document_model(prod, cfg, ledger, registry, cards).outcome == "updated"
    assert "deployment_prod" in cards.cards[first.name][-1]["additional_information"]["custom_details"]


APPROVAL = GATED.replace(
    "{name: staging, endpoint_name: churn-staging}",
    "{name: staging, endpoint_name: churn-staging, requires_approval: true, approval_timeout_minutes: 30}",
)


def prod_plan(requested_by: str | None = "alice"):
    cfg = parse_config(APPROVAL)
    ledger, registry = FakeDeploymentLedger(), FakeRegistry()
    registry.add(ARN)
    request = {"model_package_arn": ARN} | ({"requested_by": requested_by} if requested_by else {})
    return deploy.prepare(request, "deploy-staging-1", cfg, ledger, registry, "us-east-1", "123456789012"), ledger


DECISION = "arn:aws:states:us-east-1:123456789012:stateMachine:stack-decision"
ANSWER_1, ANSWER_2 = (f"arn:aws:states:us-east-1:123456789012:execution:stack-decision:answer-{n}" for n in (1, 2))


def asked_approval():
    """A deployment to staging requested by alice, parked in AskApproval with task token token-1."""
    plan, ledger = prod_plan()
    deploy.ask_approval("token-1", plan, "arn:deploy:run", DECISION, ledger)
    return plan, ledger, deploy.approval_id(plan.execution_name)


def approval_of(question: str, **fields):
    return {"approval_id": question, "approve": True, "by": "bob", "reason": "reviewed the metrics", **fields}


def test_a_stage_that_requires_approval_keeps_the_token_in_the_ledger_and_names_the_approval():
    plan, ledger, question = asked_approval()
    assert (plan.needs_approval, plan.approval_timeout_seconds) == (True, 30 * 60)

    ((detail_type, detail),) = ledger.announcements()
    assert detail_type == "Deployment Approval Requested"
    assert (detail["approval_id"], detail["requested_by"], detail["stage"]) == (question, "alice", "staging")
    assert "token-1" not in str(detail)  # the token is never broadcast
    assert detail["answer_with"].startswith(f"mlops approve {question} --by <you>")
    assert f"--state-machine-arn {DECISION}" in detail["answer_with"]
    waiting = ledger.get_decision(question)
    assert (waiting.question, waiting.status, waiting.task_token, waiting.requested_by) == (
        "approval", "waiting", "token-1", "alice"
    )  # fmt: skip


def test_another_person_approves_through_the_decision_workflow_once_and_both_identities_are_recorded():
    plan, ledger, question = asked_approval()
    workflows = FakeWorkflows()

    outcome = decisions.answer(approval_of(question), ANSWER_1, parse_config(APPROVAL), "data", ledger, workflows)
    ((token, resumed_with),) = workflows.resumed
    approved = deploy.apply_approval(plan, resumed_with, "arn:deploy:run", ledger)
    deploy.record_deployed(approved, "arn:deploy:run", parse_config(APPROVAL), ledger)

    assert (outcome.action, token) == ("approve", "token-1")
    assert approved.promotion_approved_by == "bob"
    answered = ledger.records["answer-1#ApprovalAnswered"]
    assert (answered.details["requested_by"], answered.details["by"], answered.execution_arn) == (
        "alice", "bob", ANSWER_1
    )  # fmt: skip
    succeeded = ledger.records[f"{plan.execution_name}#DeploymentSucceeded"]
    assert (succeeded.details["requested_by"], succeeded.details["promotion_approved_by"]) == ("alice", "bob")
    approval = ledger.records[f"{plan.execution_name}#DeploymentApproved"]
    assert (approval.reason, approval.details["requested_by"]) == ("reviewed the metrics", "alice")
    closed = ledger.get_decision(question)
    assert (closed.status, closed.task_token, closed.answered_by) == ("closed", None, "bob")
    with pytest.raises(InvalidRequest, match=f"approval '{question}' is closed: the deployment was approved"):
        decisions.answer(approval_of(question, by="carol"), ANSWER_2, parse_config(APPROVAL), "data", ledger,
                         workflows)  # fmt: skip
    assert len(workflows.resumed) == 1


def test_the_requester_cannot_approve_and_the_question_stays_open_for_another_person():
    _, ledger, question = asked_approval()
    workflows = FakeWorkflows()

    with pytest.raises(InvalidRequest, match=r"Alice requested the deployment to 'staging' and cannot also approve"):
        decisions.answer(approval_of(question, by=" Alice"), ANSWER_1, parse_config(APPROVAL), "data", ledger,
                         workflows)  # fmt: skip

    assert workflows.resumed == []
    assert ledger.get_decision(question).status == "waiting"


def test_a_second_answer_to_an_approval_is_refused_and_names_the_first():
    _, ledger, question = asked_approval()
    workflows = FakeWorkflows()
    decisions.answer(approval_of(question), ANSWER_1, parse_config(APPROVAL), "data", ledger, workflows)

    with pytest.raises(InvalidRequest, match=f"already answered by bob \\(approve, execution {ANSWER_1}\\)"):
        decisions.answer(approval_of(question, approve=False, by="carol"), ANSWER_2, parse_config(APPROVAL), "data",
                         ledger, workflows)  # fmt: skip
    assert len(workflows.resumed) == 1


def test_an_answer_after_the_timeout_refused_the_deployment_is_refused():
    plan, ledger, question = asked_approval()

    with pytest.raises(deploy.PromotionRefused, match="nobody approved it within 30 min"):
        deploy.apply_approval(plan, {"timed_out": True}, "arn:deploy:run", ledger)
    with pytest.raises(InvalidRequest, match=r"is closed: the deployment was refused \(Deployment to 'staging'"):
        decisions.answer(approval_of(question), ANSWER_1, parse_config(APPROVAL), "data", ledger, FakeWorkflows())

    refused = ledger.records[f"{plan.execution_name}#DeploymentApprovalRefused"]
    assert (refused.details["requested_by"], refused.details.get("refused_by")) == ("alice", None)


def test_an_answer_the_workflow_no_longer_waits_for_expires_the_question():
    _, ledger, question = asked_approval()
    workflows = FakeWorkflows()
    workflows.stale_tokens.add("token-1")  # timed out in Step Functions before the ledger heard of it

    with pytest.raises(InvalidRequest, match="no longer waits for an answer"):
        decisions.answer(approval_of(question), ANSWER_1, parse_config(APPROVAL), "data", ledger, workflows)
    assert ledger.get_decision(question).status == "expired"


def test_a_refusal_by_another_person_refuses_the_deployment_and_records_who():
    plan, ledger, question = asked_approval()
    workflows = FakeWorkflows()
    refusal = approval_of(question, approve=False, reason="bias too high")
    decisions.answer(refusal, ANSWER_1, parse_config(APPROVAL), "data", ledger, workflows)

    with pytest.raises(deploy.PromotionRefused, match="refused by bob: bias too high"):
        deploy.apply_approval(plan, workflows.resumed[0][1], "arn:deploy:run", ledger)
    refused = ledger.records[f"{plan.execution_name}#DeploymentApprovalRefused"]
    assert (refused.details["requested_by"], refused.details["refused_by"]) == ("alice", "bob")
    assert f"{plan.execution_name}#DeploymentApproved" not in ledger.records


@pytest.mark.parametrize(
    "answer",
    [
        {"approval_id": "approval-0000000000000000", "approve": True, "by": "bob", "decision_execution_arn": ANSWER_1},
        {"approve": True, "by": "bob"},
    ],
)
def test_an_answer_that_did_not_come_through_the_decision_workflow_is_refused(answer):
    plan, ledger, question = asked_approval()
    answer = {"approval_id": question, **answer} if "approval_id" not in answer else answer
    answer.setdefault("decision_execution_arn", ANSWER_2)

    with pytest.raises(InvalidRequest, match="did not come through the decision workflow"):
        deploy.apply_approval(plan, answer, "arn:deploy:run", ledger)
    assert ledger.get_decision(question).status == "waiting"


def test_an_approval_answer_without_an_approver_is_refused_with_what_to_send():
    _, ledger, question = asked_approval()

    with pytest.raises(InvalidRequest, match="by"):
        decisions.answer({"approval_id": question, "approve": True, "reason": "ok"}, ANSWER_1,
                         parse_config(APPROVAL), "data", ledger, FakeWorkflows())  # fmt: skip


def test_a_deployment_to_a_stage_that_requires_approval_names_its_requester():
    with pytest.raises(InvalidRequest, match=r"say who requests the deployment \(\"requested_by\"\)"):
        prod_plan(requested_by=None)


def test_a_version_trained_by_the_control_plane_carries_its_training_runs_lineage():
    cfg = parse_config(GATED)
    ledger, registry = FakeDeploymentLedger(), FakeRegistry()
    pipeline = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-training/execution/p1"
    retrain = "arn:aws:states:us-east-1:123456789012:execution:stack-retrain:retrain-churn-d1"
    ledger.register_pipeline_run(PipelineRun(pipeline, "churn", "s3://data/d1/", retrain, "Succeeded"))
    registry.packages[ARN] = registry.add(ARN)._replace(generated_by=pipeline)
    other = ARN.replace("/7", "/8")
    registry.add(other)

    trained = deploy.prepare({"model_package_arn": ARN}, "deploy-7", cfg, ledger, registry, "us-east-1", "123456789012")
    untrained = deploy.prepare({"model_package_arn": other}, "deploy-8", cfg, ledger, registry, "us-east-1",
                               "123456789012")  # fmt: skip
    deploy.record_deployed(trained, "arn:exec", cfg, ledger)

    assert trained.lineage == naming.training_lineage(retrain) == "training/retrain-churn-d1"
    assert untrained.lineage == "package/churn-models/8"
    assert ledger.package_lineage(ARN) == trained.lineage
    assert ledger.records["deploy-7#DeploymentSucceeded"].lineage == trained.lineage
    assert ledger.get_endpoint_state("churn-staging").serving_lineage == trained.lineage


def test_a_rollback_belongs_to_the_version_it_takes_off_and_the_endpoint_serves_the_others_lineage():
    cfg = parse_config(GATED)
    ledger, registry = FakeDeploymentLedger(), FakeRegistry()
    newer = ARN.replace("/7", "/8")
    for arn, name in ((ARN, "deploy-7"), (newer, "deploy-8")):
        registry.add(arn)
        plan = deploy.prepare({"model_package_arn": arn}, name, cfg, ledger, registry, "us-east-1", "123456789012")
        deploy.record_deployed(plan, "arn:exec", cfg, ledger)

    rollback = deploy.prepare({"endpoint": "churn-staging", "to": ARN, "reason": "quality"}, "rollback-1", cfg,
                              ledger, registry, "us-east-1", "123456789012")  # fmt: skip
    deploy.record_deployed(rollback, "arn:exec", cfg, ledger)

    assert rollback.lineage == "package/churn-models/8"
    assert ledger.records["rollback-1#RollbackSucceeded"].lineage == "package/churn-models/8"
    assert ledger.get_endpoint_state("churn-staging").serving_lineage == "package/churn-models/7"
