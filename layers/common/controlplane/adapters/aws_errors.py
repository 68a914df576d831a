"""Which AWS errors a later attempt may not meet (throttling, server errors, lost connections)."""

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

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
