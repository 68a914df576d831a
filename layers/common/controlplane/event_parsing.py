"""How an event handler takes in an event: parsed into its model, or rejected with one log line that says why.

A rejected event fails its invocation, so its source retries it and then dead-letters it (SQS redrive, or
EventBridge's retry policy and DLQ); the WARNING line is what an operator finds next to it.
"""

from typing import Any

from pydantic import BaseModel

from controlplane.errors import InvalidRequest
from controlplane.models import parse_request
from controlplane.observability import logger

REJECTED = "Event rejected: retried, then dead-lettered"


def log_rejected(error: InvalidRequest, **context: Any) -> None:
    logger.warning(REJECTED, extra={**context, "reason": str(error)})


def parse_event[T: BaseModel](model: type[T], event: Any, what: str) -> T:
    """`event` as `model`; InvalidRequest, logged, when it is not one."""
    try:
        return parse_request(model, event, what)
    except InvalidRequest as error:
        log_rejected(error)
        raise
