"""Who may put events on the control plane's bus, answer drift decisions and train on what, as the translated
template says (the local cloud does not enforce IAM, so the policies are checked here, evaluated)."""

from typing import Any

import pytest

from controlplane.config import bundled_config, parse_config
from localcloud.template import Resolver, parameter_values
from scripts.check_config import deployed_overrides, detector_source_problems, template_default
from scripts.sagemaker_access import TEMPLATE_PATH, iam_statements
from scripts.translate_template import translate

TRANSLATED = translate(TEMPLATE_PATH)
OUTBOX_ROLE = "<OutboxFunctionRole.Arn>"
OUTSIDER = "arn:aws:iam::111122223333:role/intern-laptop"
DETECTOR = "arn:aws:iam::444455556666:role/evidently-job"


def resolved(value: Any, overrides: dict[str, str] | None = None) -> Any:
    pseudo = {"AWS::Region": "eu-west-3", "AWS::AccountId": "210987654321", "AWS::Partition": "aws"}
    resolver = Resolver(
        {**parameter_values(TRANSLATED, overrides or {}, {**pseudo, "AWS::StackName": "stack"}), "AWS::NoValue": None},
        TRANSLATED.get("Conditions", {}),
        ref=lambda logical_id: f"<{logical_id}>",
        get_att=lambda logical_id, attribute: f"<{logical_id}.{attribute}>",
    )
    return resolver.resolve(value)


def bus_policy(overrides: dict[str, str] | None = None) -> list[dict[str, Any]]:
    policy = resolved(TRANSLATED["Resources"]["ControlPlaneBus"]["Properties"]["Policy"], overrides)
    return [statement for statement in policy["Statement"] if statement is not None]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _condition_holds(condition: dict[str, Any], principal: str, sources: list[str]) -> bool:
    """The condition operators the bus policy uses, as IAM evaluates them for one PutEvents request."""
    context = {"aws:PrincipalArn": [principal], "events:source": sources}
    for operator, tests in condition.items():
        for key, expected in tests.items():
            actual, wanted = context[key], _listed(expected)
            match operator:
                case "ArnNotEquals":
                    holds = all(value not in wanted for value in actual)
                case "ForAnyValue:StringEquals":
                    holds = any(value in wanted for value in actual)
                case "ForAllValues:StringEquals":
                    holds = all(value in wanted for value in actual)
                case _:
                    raise AssertionError(f"operator {operator} is not evaluated here; extend this test")
            if not holds:
                return False
    return True


def denied(policy: list[dict[str, Any]], principal: str, *sources: str) -> bool:
    """Whether an explicit Deny of the bus policy refuses this principal's PutEvents with these sources."""
    return any(
        statement["Effect"] == "Deny" and _condition_holds(statement.get("Condition", {}), principal, list(sources))
        for statement in policy
    )


def granted(policy: list[dict[str, Any]], principal: str, *sources: str) -> bool:
    """Whether the bus policy itself allows it (what a principal of another account needs)."""
    return any(
        statement["Effect"] == "Allow"
        and principal in _listed(statement["Principal"]["AWS"])
        and _condition_holds(statement.get("Condition", {}), principal, list(sources))
        for statement in policy
    )


def test_by_default_only_the_outbox_may_put_events_on_the_bus_and_only_it_speaks_for_the_control_plane():
    policy = bus_policy()

    assert {statement["Action"] for statement in policy} == {"events:PutEvents"}
    assert {statement["Resource"] for statement in policy} == {
        "arn:aws:events:eu-west-3:210987654321:event-bus/stack-controlplane"
    }
    assert not denied(policy, OUTBOX_ROLE, "mlops.controlplane")
    assert denied(policy, OUTSIDER, "custom.evidently")  # a forged "Drift Detected"
    assert denied(policy, OUTSIDER, "mlops.controlplane")  # a forged announcement
    assert denied(policy, DETECTOR, "custom.evidently")  # no detector is named by default
    assert not any(statement["Effect"] == "Allow" for statement in policy)


def test_named_detectors_may_put_their_own_sources_only():
    policy = bus_policy({"DriftDetectorPrincipals": f"{DETECTOR},arn:aws:iam::210987654321:role/monitor"})

    assert not denied(policy, DETECTOR, "custom.evidently")
    assert granted(policy, DETECTOR, "custom.evidently")  # from its own account, too
    assert not granted(policy, DETECTOR, "custom.evidently", "intern.laptop")
    assert denied(policy, DETECTOR, "mlops.controlplane")
    assert denied(policy, DETECTOR, "custom.evidently", "mlops.controlplane")
    assert not denied(policy, "arn:aws:iam::210987654321:role/monitor", "custom.evidently")
    assert denied(policy, OUTSIDER, "custom.evidently")
    assert not denied(policy, OUTBOX_ROLE, "mlops.controlplane")


def test_the_drift_detected_rule_matches_only_the_configured_detectors():
    [rule] = [
        resource["Properties"]
        for resource in TRANSLATED["Resources"].values()
        if resource["Type"] == "AWS::Events::Rule" and "Drift Detected" in str(resource["Properties"]["EventPattern"])
    ]
    pattern = resolved(rule["EventPattern"], {"DriftDetectorSources": "custom.evidently,custom.whylabs"})

    assert pattern == {"source": ["custom.evidently", "custom.whylabs"], "detail-type": ["Drift Detected"]}
    assert resolved(rule["EventBusName"]) == "<ControlPlaneBus>"


def test_check_config_compares_the_rule_sources_with_the_configured_detectors():
    assert detector_source_problems(bundled_config(), template_default("DriftDetectorSources")) == []
    assert detector_source_problems(bundled_config(), "custom.evidently,intern.laptop") == [
        "DriftDetectorSources lists 'intern.laptop', which no model's drift.detectors names; remove it"
    ]
    without = parse_config(
        "version: 1\nmodels:\n  - {name: churn, model_package_group: g, data_trigger: {prefix: d/}, "
        "pipeline: {name: churn-training}, drift: {detectors: [{source: custom.whylabs}]}}\n"
    )
    assert detector_source_problems(without, "") == [
        "drift detector source 'custom.whylabs' is not in DriftDetectorSources, so the rule drops its events; add it"
    ]


def test_samconfig_overrides_of_detector_sources_are_checked_too(tmp_path):
    samconfig = tmp_path / "samconfig.toml"
    samconfig.write_text(
        '[prod.deploy.parameters]\nparameter_overrides = "DriftDetectorSources=\\"custom.whylabs\\""\n',
        encoding="utf-8",
    )
    assert deployed_overrides(samconfig) == {"prod": {"DriftDetectorSources": "custom.whylabs"}}


def _roles_allowed(action: str, *arns: str) -> set[str]:
    return {
        statement.role
        for statement in iam_statements()
        if action in statement.actions and any(resource in arns or resource == "*" for resource in statement.resources)
    }


def test_only_the_decision_function_may_resume_a_drift_workflow():
    drift = ("<DriftStateMachine>", "arn:aws:states:eu-west-3:210987654321:stateMachine:stack-drift")

    assert _roles_allowed("states:SendTaskSuccess", *drift) == {"DecisionTasksFunctionRole"}


def test_only_the_decision_function_and_the_deploy_tasks_may_resume_a_deployment():
    deploy = ("<DeployStateMachine>", "arn:aws:states:eu-west-3:210987654321:stateMachine:stack-deploy")

    # the deploy tasks and the endpoint events resume endpoint waits; an approval comes only through the decisions
    assert _roles_allowed("states:SendTaskSuccess", *deploy) == {
        "DecisionTasksFunctionRole",
        "DeployTasksFunctionRole",
        "EndpointEventsFunctionRole",
    }


def test_no_role_of_the_stack_may_answer_a_decision():
    decision = ("<DecisionStateMachine>", "arn:aws:states:eu-west-3:210987654321:stateMachine:stack-decision")

    assert _roles_allowed("states:StartExecution", *decision) == set()


@pytest.mark.parametrize(
    "function", ["RetrainTasksFunction", "DriftSignalsFunction", "DriftTasksFunction", "DecisionTasksFunction"]
)
def test_functions_that_bound_datasets_know_the_data_bucket(function):
    variables = resolved(TRANSLATED["Resources"][function]["Properties"]["Environment"]["Variables"])

    assert variables["DATA_BUCKET"] == "<DataBucket>"
    assert (
        resolved(
            TRANSLATED["Resources"][function]["Properties"]["Environment"]["Variables"]["DATA_BUCKET"],
            {"DataBucketName": "my-data"},
        )
        == "my-data"
    )
