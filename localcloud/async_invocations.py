"""Lambda's asynchronous invocation queue: retries on the virtual clock, then the on-failure destination.

Follows the AWS Lambda Developer Guide, "How Lambda handles errors and retries with asynchronous invocation"
(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html) and "Capturing records of
Lambda asynchronous invocations" (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html):
a function error is retried up to `MaximumRetryAttempts` times (0-2, default 2), about one minute after the
first failure and two minutes after the second, unless the event has waited longer than
`MaximumEventAgeInSeconds` (60-21600, default 21600); then Lambda sends an invocation record to the function's
on-failure destination, or drops the event. EventBridge invokes Lambda targets this way.

moto gap: moto's Lambda without Docker runs no handler; with the local cloud's invoke patch an `Event`
invocation ran once, synchronously, with no retry and no destination.
"""

from __future__ import annotations

import json
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from localcloud.clock import VirtualClock
from localcloud.template import TemplateError

__all__ = ["RETRY_DELAYS_SECONDS", "AsyncInvocationQueue", "AsyncTarget", "EventInvokeConfig", "invocation_record"]

# "about one minute" before the first retry, "two minutes" before the second (invocation-async-error-handling).
RETRY_DELAYS_SECONDS = (60.0, 120.0)

Invoke = Callable[["AsyncTarget", Any], tuple[Any, dict[str, Any] | None]]
Record = Callable[..., None]


@dataclass(frozen=True)
class EventInvokeConfig:
    """A function's asynchronous invocation settings (SAM's `EventInvokeConfig`, Lambda's defaults)."""

    maximum_retry_attempts: int = 2
    maximum_event_age_seconds: int = 21600
    on_failure_queue_arn: str | None = None

    @classmethod
    def from_template(cls, function_id: str, config: dict[str, Any] | None) -> EventInvokeConfig:
        """Parse the resolved SAM property; the ranges are Lambda's (PutFunctionEventInvokeConfig)."""
        if not config:
            return cls()
        retries = config.get("MaximumRetryAttempts", 2)
        age = config.get("MaximumEventAgeInSeconds", 21600)
        if not isinstance(retries, int) or not 0 <= retries <= 2:
            raise TemplateError(f"{function_id}: EventInvokeConfig.MaximumRetryAttempts must be 0-2, got {retries!r}")
        if not isinstance(age, int) or not 60 <= age <= 21600:
            raise TemplateError(
                f"{function_id}: EventInvokeConfig.MaximumEventAgeInSeconds must be 60-21600, got {age!r}"
            )
        on_failure = config.get("DestinationConfig", {}).get("OnFailure")
        queue_arn = None
        if on_failure:
            kind, destination = on_failure.get("Type"), on_failure.get("Destination")
            if kind != "SQS" or not isinstance(destination, str) or ":sqs:" not in destination:
                raise TemplateError(
                    f"{function_id}: EventInvokeConfig.DestinationConfig.OnFailure is emulated for an SQS queue "
                    f"only (Type: SQS, Destination: the queue ARN); got Type {kind!r}, Destination {destination!r}"
                )
            queue_arn = destination
        return cls(retries, age, queue_arn)


class AsyncTarget(Protocol):
    """What the queue needs of a function."""

    @property
    def logical_id(self) -> str: ...

    @property
    def arn(self) -> str: ...

    @property
    def event_invoke_config(self) -> EventInvokeConfig: ...


@dataclass
class _Invocation:
    function: AsyncTarget
    payload: Any
    request_id: str
    queued_at: datetime
    attempts: int = 0
    last_error: dict[str, Any] | None = None


def _iso_milliseconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def invocation_record(
    function_arn: str,
    request_id: str,
    condition: str,
    attempts: int,
    payload: Any,
    error: dict[str, Any] | None,
    at: datetime,
) -> dict[str, Any]:
    """The invocation record Lambda sends to a destination (shape of the guide's "Example invocation record")."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": _iso_milliseconds(at),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "requestPayload": payload,
    }
    if error is not None:
        # A Python handler's uncaught exception is an "Unhandled" function error.
        record["responseContext"] = {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
        record["responsePayload"] = error
    return record


class AsyncInvocationQueue:
    """Events accepted for asynchronous invocation; `run_due` invokes those due, failures retry on the clock."""

    def __init__(
        self,
        clock: VirtualClock,
        invoke: Invoke,
        send_to_queue: Callable[[str, str], None],
        record: Record,
    ) -> None:
        self._clock = clock
        self._invoke = invoke
        self._send_to_queue = send_to_queue
        self._record = record
        self._due: deque[_Invocation] = deque()

    def submit(self, function: AsyncTarget, payload: Any) -> str:
        """Accept an event (Lambda answers 202 at this point); returns the request id."""
        request_id = str(uuid.uuid4())
        self._due.append(_Invocation(function, payload, request_id, self._clock.now()))
        return request_id

    def run_due(self) -> bool:
        """Invoke every event due now; returns whether any was."""
        progressed = False
        while self._due:
            self._attempt(self._due.popleft())
            progressed = True
        return progressed

    def _attempt(self, invocation: _Invocation) -> None:
        invocation.attempts += 1
        _, error = self._invoke(invocation.function, invocation.payload)
        if error is None:
            return
        invocation.last_error = error
        config = invocation.function.event_invoke_config
        if invocation.attempts > config.maximum_retry_attempts:
            self._give_up(invocation, "RetriesExhausted")
            return
        delay = RETRY_DELAYS_SECONDS[min(invocation.attempts, len(RETRY_DELAYS_SECONDS)) - 1]
        self._clock.call_later(delay, lambda: self._retry(invocation))

    def _retry(self, invocation: _Invocation) -> None:
        age = (self._clock.now() - invocation.queued_at).total_seconds()
        if age > invocation.function.event_invoke_config.maximum_event_age_seconds:
            self._give_up(invocation, "EventAgeExceeded")
        else:
            self._due.append(invocation)

    def _give_up(self, invocation: _Invocation, condition: str) -> None:
        function = invocation.function
        queue_arn = function.event_invoke_config.on_failure_queue_arn
        if queue_arn is None:
            self._record(
                "lambda-async",
                f"Lambda dropped the event for {function.logical_id} ({condition}, "
                f"{invocation.attempts} attempt(s)): no on-failure destination",
                function=function.logical_id,
                condition=condition,
            )
            return
        record = invocation_record(
            function.arn,
            invocation.request_id,
            condition,
            invocation.attempts,
            invocation.payload,
            invocation.last_error,
            self._clock.now(),
        )
        self._send_to_queue(queue_arn, json.dumps(record))
        self._record(
            "lambda-async",
            f"Lambda gave up on {function.logical_id} ({condition}, {invocation.attempts} attempt(s)): "
            "invocation record sent to its on-failure destination",
            function=function.logical_id,
            condition=condition,
            record=record,
        )
