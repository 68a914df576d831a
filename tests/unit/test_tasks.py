"""The task dispatcher: AWS errors a later attempt may pass become TransientError, the name ASL retries."""

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from controlplane.errors import InvalidRequest, TransientError
from controlplane.tasks import run_action


def raising(error: Exception):
    def action(event):
        raise error

    return {"work": action}


def client_error(code: str, status: int = 400, **extra) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, "Op"
    )


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException"),
        client_error("ProvisionedThroughputExceededException"),
        client_error("InternalServerError", 500),
        client_error("Anything", 503),
        client_error("TransactionCanceledException", CancellationReasons=[{"Code": "ThrottlingError"}]),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
    ],
    ids=["throttled", "capacity", "internal", "5xx", "throttled-transaction", "connection"],
)
def test_transient_aws_errors_become_transient_error(error):
    with pytest.raises(TransientError):
        run_action(raising(error), {"action": "work"})


@pytest.mark.parametrize(
    "error",
    [
        client_error("AccessDeniedException"),
        client_error("ValidationException"),
        client_error("TransactionCanceledException", CancellationReasons=[{"Code": "ConditionalCheckFailed"}]),
    ],
)
def test_other_aws_errors_keep_their_name(error):
    with pytest.raises(ClientError):
        run_action(raising(error), {"action": "work"})


def test_an_unknown_action_is_an_invalid_request():
    with pytest.raises(InvalidRequest, match="expected one of \\['work'\\]"):
        run_action(raising(ValueError()), {"action": "play"})
