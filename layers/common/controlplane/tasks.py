"""Dispatch of a workflow's task Lambda: the ASL names the domain function to run in `action`."""

from collections.abc import Callable, Mapping
from typing import Any

from controlplane.errors import InvalidRequest


def run_action(
    actions: Mapping[str, Callable[..., dict[str, Any]]], event: dict[str, Any], *context: Any
) -> dict[str, Any]:
    action = actions.get(str(event.get("action")))
    if action is None:
        raise InvalidRequest(f"Unknown task action {event.get('action')!r}; expected one of {sorted(actions)}")
    return action(event, *context)
