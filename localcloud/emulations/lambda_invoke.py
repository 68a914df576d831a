"""Lambda's Invoke API running the project's real handlers in-process, without Docker.

Step Functions' `lambda:invoke` and Lambda Task states, and boto3's `lambda.invoke`, all reach
`LambdaSimpleBackend.invoke`; this module makes it call `Hooks.invoke_lambda` (or `invoke_lambda_async`).
"""

from __future__ import annotations

from typing import Any

from moto.awslambda_simple.models import LambdaSimpleBackend

from localcloud.core import ExtensionRegistry

__all__ = ["install"]


def install(registry: ExtensionRegistry) -> None:
    """Lambda invocations run the function through the hooks.

    AWS: Invoke runs the function (ResourceNotFoundException when it does not exist); a function error sets the
    `X-Amz-Function-Error` header and returns the error payload; InvocationType `Event` queues the event and
    answers 202, `DryRun` runs nothing and answers 204 (docs.aws.amazon.com/lambda/latest/api/API_Invoke.html).
    moto gap: without Docker, `LambdaSimpleBackend.invoke` echoes the payload, even for a function that does not
    exist. Here the function must exist (moto resolves names, ARNs and qualifiers) and `hooks.invoke_lambda` runs
    it; Step Functions then fails a Task with the payload's `errorType` as the error name, as on AWS. An `Event`
    invocation goes to `hooks.invoke_lambda_async` when there is one.
    """
    hooks = registry.hooks

    def invoke(
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        function = self.get_function(function_name, qualifier)
        payload = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        invocation_type = headers.get("X-Amz-Invocation-Type")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event" and hooks.invoke_lambda_async is not None:
            hooks.invoke_lambda_async(function.function_name, payload)
            return b""
        result, error_kind = hooks.invoke_lambda(function.function_name, payload)
        if error_kind:
            response_headers["x-amz-function-error"] = error_kind
        return result

    registry.replace(LambdaSimpleBackend, "invoke", invoke)
