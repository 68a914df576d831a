"""The failure policy every state machine keeps (scripts/lint_asl.py), and that it catches what breaks it."""

import json
from pathlib import Path

import pytest

from scripts.lint_asl import LAMBDA_TRANSIENT_ERRORS, failure_policy_problems

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_TASK = "arn:aws:lambda:us-east-1:123456789012:function:tasks"
GOOD_RETRY = {"ErrorEquals": sorted(LAMBDA_TRANSIENT_ERRORS), "BackoffRate": 2.0, "JitterStrategy": "FULL"}
CATCH = [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}]


@pytest.mark.parametrize("definition", sorted((ROOT / "statemachines").glob("*.asl.json")), ids=lambda p: p.stem)
def test_every_state_machine_keeps_the_failure_policy(definition):
    assert failure_policy_problems(json.loads(definition.read_text())) == []


@pytest.mark.parametrize(
    ("state", "problem"),
    [
        ({"Resource": LAMBDA_TASK, "Retry": [GOOD_RETRY]}, "a Task without a Catch"),
        ({"Resource": LAMBDA_TASK, "Catch": CATCH}, "does not retry"),
        (
            {
                "Resource": LAMBDA_TASK,
                "Catch": CATCH,
                "Retry": [{**GOOD_RETRY, "ErrorEquals": ["Lambda.ServiceException"]}],
            },
            "TransientError",
        ),
        ({"Resource": LAMBDA_TASK, "Catch": CATCH, "Retry": [{**GOOD_RETRY, "JitterStrategy": "NONE"}]}, "full jitter"),
        ({"Resource": LAMBDA_TASK, "Catch": CATCH, "Retry": [{**GOOD_RETRY, "BackoffRate": 1.0}]}, "full jitter"),
    ],
)
def test_a_task_breaking_the_policy_is_named(state, problem):
    definition = {"States": {"Work": {"Type": "Task", "End": True, **state}}}

    (found,) = failure_policy_problems(definition)

    assert found.startswith("Work: ")
    assert problem in found


def test_nested_branches_are_checked():
    inner = {"States": {"Inner": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": True}}}
    definition = {"States": {"Fanout": {"Type": "Parallel", "Branches": [inner], "End": True}}}

    assert failure_policy_problems(definition) == ["Fanout/Inner: a Task without a Catch"]


@pytest.mark.parametrize(
    ("name", "state", "problem"),
    [
        ("TrainingSucceeded", {"Type": "Choice", "Choices": [], "Default": "Done"}, "not named as the question"),
        (
            "Record",
            {"Type": "Pass", "Parameters": {"action": "record", "state.$": "$"}, "End": True},
            "whole workflow state (state.$)",
        ),
        (
            "Wait",
            {"Type": "Pass", "Parameters": {"Payload": {"all.$": "$"}}, "End": True},
            "whole workflow state (Payload.all.$)",
        ),
        (
            "Update",
            {"Type": "Pass", "End": True, "Retry": [{"ErrorEquals": ["sagemaker.sagemakerException"]}]},
            "moto's spelling",
        ),
    ],
)
def test_a_state_breaking_the_design_rules_is_named(name, state, problem):
    (found,) = failure_policy_problems({"States": {name: state}})

    assert found.startswith(f"{name}: ")
    assert problem in found


def test_aws_spellings_and_named_fields_pass():
    state = {
        "Type": "Pass",
        "Parameters": {"plan.$": "$.plan", "execution.$": "$$.Execution.Id"},
        "Retry": [{"ErrorEquals": ["SageMaker.SageMakerException", "States.TaskFailed"]}],
        "End": True,
    }

    assert failure_policy_problems({"States": {"Questioned?": {"Type": "Choice", "Choices": []}, "Work": state}}) == []
