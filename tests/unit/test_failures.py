import pytest

from controlplane.failures import StepFailure


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (
            {"Error": "InvalidRequest", "Cause": '{"errorMessage": "fix this", "errorType": "InvalidRequest"}'},
            "fix this",
        ),
        ({"Error": "SageMaker.ValidationException", "Cause": "Could not find endpoint"}, "Could not find endpoint"),
        ({"Error": "States.Timeout"}, "States.Timeout"),
        (
            {"Error": "GateFailed", "Cause": "auc = 0.5 is below the minimum 0.75"},
            "auc = 0.5 is below the minimum 0.75",
        ),
        ({"Error": "X", "Cause": "[1, 2]"}, "[1, 2]"),
    ],
)
def test_a_failure_says_its_human_message(output, message):
    assert StepFailure.model_validate(output).message == message


def test_a_failure_is_step_functions_error_output_and_nothing_else():
    with pytest.raises(ValueError, match="Extra inputs"):
        StepFailure.model_validate({"Error": "X", "Cause": "y", "state": {}})
