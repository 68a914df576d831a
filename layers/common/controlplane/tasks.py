"""Dispatch of a workflow's task Lambda: the ASL names the domain function to run in `action`.

AWS errors that a later attempt may not meet leave the task as `TransientError`, the name every Task state
retries; anything else keeps its own name and goes to the state's Catch.
"""

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from controlplane.errors import InvalidRequest, TransientError

_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "TransactionConflictException",
        "InternalServerError",
        "InternalFailure",
        "ServiceUnavailable",
        "KMSThrottlingException",
        "RequestThrottled",
        "SlowDown",
    }
)


def is_transient(error: Exception) -> bool:
    """Whether an AWS error may pass on a later attempt."""
    if isinstance(error, ConnectionError | HTTPClientError):
        return True
    if isinstance(error, ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code == "TransactionCanceledException":
            reasons = error.response.get("CancellationReasons") or []
            return any(reason.get("Code") in _TRANSIENT_CODES | {"ThrottlingError"} for reason in reasons)
        return code in _TRANSIENT_CODES or status >= 500
    return False


def run_action(
    actions: Mapping[str, Callable[..., dict[str, Any]]], event: dict[str, Any], *context: Any
) -> dict[str, Any]:
    action = actions.get(str(event.get("action")))
    if action is None:
        raise InvalidRequest(f"Unknown task action {event.get('action')!r}; expected one of {sorted(actions)}")
    try:
        return action(event, *context)
    except (ClientError, ConnectionError, HTTPClientError) as error:
        if is_transient(error):
            raise TransientError(f"{type(error).__name__}: {error}") from error
        raise
