"""The template's SageMaker permissions: scoped to the managed models' names, and covering what the config names."""

from pathlib import Path

import pytest

from controlplane.config import DEFAULT_CONFIG_PATH, bundled_config, parse_config
from scripts.check_config import deployed_overrides
from scripts.sagemaker_access import Statement, bare_wildcard_grants, iam_statements, unmet_needs

BUNDLED_TEXT = DEFAULT_CONFIG_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def statements() -> list[Statement]:
    return iam_statements()


def test_the_templates_iam_allows_every_sagemaker_call_the_bundled_config_implies(statements):
    assert unmet_needs(bundled_config(), statements) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("name: fraud-training", "name: training-fraud", "may not sagemaker:StartPipelineExecution"),
        ("endpoint_name: churn-prod", "endpoint_name: prod-churn", "DeployStateMachine may not sagemaker:Update"),
        ("endpoint_name: churn-prod", "endpoint_name: prod-churn", "DeployTasksFunction may not sagemaker:Invoke"),
        ("endpoint_name: churn-prod", "endpoint_name: Churn-Prod", "endpoint 'Churn-Prod'"),
    ],
)
def test_a_name_outside_the_managed_models_is_reported_with_the_fix(statements, old, new, expected):
    assert BUNDLED_TEXT.count(old) == 1
    problems = unmet_needs(parse_config(BUNDLED_TEXT.replace(old, new)), statements)
    assert any(expected in problem and "ManagedModelNames" in problem for problem in problems), problems


def test_a_model_missing_from_managed_model_names_is_reported():
    problems = unmet_needs(bundled_config(), iam_statements(overrides={"ManagedModelNames": "fraud"}))
    assert any("pipeline 'churn-training' of model 'churn'" in problem for problem in problems)
    assert any("sagemaker:CreateModel on model/churn-v12-" in problem for problem in problems)
    assert any("sagemaker:CreateEndpoint on endpoint-config/churn-staging-v12-" in problem for problem in problems)
    assert not any("'fraud'" in problem for problem in problems)


def test_no_mutating_sagemaker_action_is_allowed_on_a_whole_resource_type(statements):
    assert any(action.startswith("sagemaker:Create") for statement in statements for action in statement.actions)
    assert bare_wildcard_grants(statements) == []


@pytest.mark.parametrize(
    ("actions", "resource", "flagged"),
    [
        (("sagemaker:CreateEndpoint",), "arn:aws:sagemaker:eu-west-3:210987654321:endpoint/*", True),
        (("sagemaker:UpdateEndpoint",), "*", True),
        (("sagemaker:*",), "arn:aws:sagemaker:eu-west-3:210987654321:model/*", True),
        (("*",), "arn:aws:sagemaker:eu-west-3:210987654321:pipeline/*", True),
        (("sagemaker:StartPipelineExecution",), "arn:*:sagemaker:*:*:pipeline/*", True),
        (("sagemaker:StartPipelineExecution",), "arn:*:sagemaker:*:*:pipeline/churn-*", False),
        (("sagemaker:DescribeEndpoint",), "arn:aws:sagemaker:eu-west-3:210987654321:endpoint/*", False),
        (("sagemaker:AddTags", "sagemaker:DescribeModel"), "arn:aws:sagemaker:eu-west-3:210987654321:model/*", True),
    ],
)
def test_whole_type_grants_of_mutating_actions_are_found(actions, resource, flagged):
    found = bare_wildcard_grants([Statement("SomeRole", actions, (resource,), {})])
    assert bool(found) is flagged, found


def test_samconfig_overrides_of_managed_model_names_are_checked_too(tmp_path: Path):
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        "version = 0.1\n"
        '[default.deploy.parameters]\nparameter_overrides = "Environment=\\"dev\\""\n'
        "[prod.deploy.parameters]\n"
        'parameter_overrides = "Environment=\\"prod\\" ManagedModelNames=\\"churn,fraud,ltv\\""\n',
        encoding="utf-8",
    )
    assert deployed_overrides(samconfig) == {"prod": {"ManagedModelNames": "churn,fraud,ltv"}}
