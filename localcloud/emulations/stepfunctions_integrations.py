"""Step Functions service integrations as AWS names and shapes them: error names, and StartExecution's request.

Three gaps of moto's ASL interpreter, each a patch here: a Lambda Task refused by Lambda fails as `Exception`
instead of `Lambda.<error code>`; an `aws-sdk:sagemaker:*` task fails as `sagemaker.sagemakerException` instead
of `SageMaker.<exception>`; `states:startExecution` sends the ASL's parameter names to boto3 unconverted. The
product's ASL is written for AWS; these patches make moto answer as AWS does, never the reverse.
"""

from __future__ import annotations

import functools
import json
import types
from typing import Any

import botocore.session
from botocore.exceptions import ClientError
from botocore.model import ServiceModel
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils, state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)

from localcloud.core import ExtensionRegistry

__all__ = ["install", "moto_converts_start_execution_parameters", "moto_names_sagemaker_errors"]


def install(registry: ExtensionRegistry) -> None:
    """Apply every patch of this module that the installed moto still needs (undone by `registry.uninstall()`)."""
    _patch_lambda_task_error_names(registry)
    if not moto_names_sagemaker_errors():
        _patch_sdk_error_names(registry)
    if not moto_converts_start_execution_parameters():
        _patch_sfn_integration_parameters(registry)


def _patch_lambda_task_error_names(registry: ExtensionRegistry) -> None:
    """A Lambda Task that Lambda refuses (throttled, service error) fails with `Lambda.<error code>`.

    AWS: `Lambda.TooManyRequestsException`, `Lambda.ServiceException`, ... are the error names ASL retries on
    (docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html, "Handling Lambda errors").
    moto gap: `StateTaskLambda._from_error` names every such ClientError `Exception`. Here the ClientError becomes
    the function error `Lambda.<Code>` before moto reports it.
    """
    original = vars(state_task_lambda.StateTaskLambda)["_from_error"]

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, ClientError):
            error = ex.response.get("Error", {})
            payload = {
                "errorType": f"Lambda.{error.get('Code', 'ServiceException')}",
                "errorMessage": error.get("Message", ""),
            }
            ex = lambda_eval_utils.LambdaFunctionErrorException("Unhandled", json.dumps(payload))
        return original(self, env, ex)

    registry.replace(state_task_lambda.StateTaskLambda, "_from_error", _from_error)


def moto_names_sagemaker_errors() -> bool:
    """True once moto knows SageMaker's error prefix (then `_patch_sdk_error_names` stands down)."""
    return "sagemaker" in aws_sdk._SERVICE_ERROR_NAMES


def _patch_sdk_error_names(registry: ExtensionRegistry) -> None:
    """An `aws-sdk:sagemaker:*` task fails with `SageMaker.<Exception>`; an unmodelled error (throttling included)
    with `SageMaker.SageMakerException`.

    AWS: errors of AWS SDK service integrations are named after the service and the exception
    (docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html, "Mapping error names").
    moto gap (a bug: its table of service error prefixes lacks SageMaker): it spells them
    `sagemaker.sagemakerException`. Here SageMaker is added to that table; `install` skips this patch once moto's
    own table names it.
    """
    registry.replace(aws_sdk, "_SERVICE_ERROR_NAMES", {**aws_sdk._SERVICE_ERROR_NAMES, "sagemaker": "SageMaker"})


def moto_converts_start_execution_parameters() -> bool:
    """Probe moto's `states:startExecution` integration: does it turn `StateMachineArn` into boto3's
    `stateMachineArn` by itself? Upstream fixes do that; moto 5.2.5 does not. A probe that fails says no."""
    probe = StateTaskServiceSfn.__new__(StateTaskServiceSfn)
    probe.resource = types.SimpleNamespace(  # type: ignore[assignment]
        api_action="startExecution",
        api_name="states",
        service_name="states",
        resource_arn="arn:aws:states:::states:startExecution",
    )
    parameters: dict[str, Any] = {"StateMachineArn": "arn:aws:states:::stateMachine:probe", "Input": "{}"}
    try:
        StateTaskServiceSfn._normalise_parameters(probe, parameters, "stepfunctions", "start_execution")
    except Exception:  # an internal API that changed shape: treat as "not converted", the tests will tell
        return False
    return "stateMachineArn" in parameters


@functools.cache
def _stepfunctions_model() -> ServiceModel:
    """botocore's Step Functions model, read once per process (a model is never changed)."""
    return botocore.session.get_session().get_service_model("stepfunctions")


def _patch_sfn_integration_parameters(registry: ExtensionRegistry) -> None:
    """`arn:aws:states:::states:startExecution` starts the named state machine with the ASL's parameters.

    AWS: the integration takes the StartExecution API's parameters, written `StateMachineArn`, `Name`, `Input`
    (docs.aws.amazon.com/step-functions/latest/dg/connect-stepfunctions.html).
    moto gap (a bug: `StateTaskService._normalise_parameters` is a no-op in moto 5.2.5): the names reach boto3
    unconverted, so every call fails with `States.Runtime`. Here they are renamed to the API's members
    (`stateMachineArn`, ...) from botocore's service model. `install` skips this patch when
    `moto_converts_start_execution_parameters()` finds moto converting them itself, so they are never converted
    twice.
    """
    original = vars(StateTaskServiceSfn)["_normalise_parameters"]
    service_model = _stepfunctions_model()

    def _normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        action = self.resource.api_action
        operation = service_model.operation_model(action[0].upper() + action[1:])
        self._to_boto_request(parameters, operation.input_shape)

    registry.replace(StateTaskServiceSfn, "_normalise_parameters", _normalise_parameters)
