"""Dispatch of a workflow's task Lambda: the ASL names the domain function to run in `action`.

AWS errors that a later attempt may not meet leave the task as `TransientError`, the name every Task state
retries; anything else keeps its own name and goes to the state's Catch.
"""

from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from controlplane.adapters.aws_errors import is_transient
from controlplane.errors import InvalidRequest, TransientError


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
