"""EventBridge delivery to Lambda and Step Functions targets, on the virtual clock.

moto matches events against rules itself (its matcher is faithful: see /work/shared/TOOLCHAIN.md) but cannot
deliver to Lambda functions or state machines, and stamps events with the real time. `install` hands those
targets to `Hooks.deliver_event` (the local cloud invokes them as AWS does) and tells `Hooks.on_rule_matched`
about every match, so the local cloud's timeline shows which rule fired.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

from jsonpath_ng.ext.parser import parse as parse_json_path
from moto.events import models as events_models
from moto.events.models import Rule
from moto.events.utils import EventTemplateParser

from localcloud.core import ExtensionRegistry, iso_seconds

__all__ = ["install"]


def install(registry: ExtensionRegistry) -> None:
    """Apply every patch of this module to moto (undone by `registry.uninstall()`)."""
    _patch_eventbridge_targets(registry)
    _patch_eventbridge_clock(registry)


def _hook_target_kind(arn: str) -> str | None:
    """'lambda' or 'states' for the target ARNs moto cannot deliver to, else None."""
    parts = arn.split(":")
    if len(parts) < 7:
        return None
    if parts[2] == "lambda" and parts[5] == "function":
        return "lambda"
    if parts[2] == "states" and parts[5] == "stateMachine":
        return "states"
    return None


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it: moto keeps `time` as epoch seconds and adds `ingestion-time`."""
    delivered: dict[str, Any] = json.loads(
        json.dumps({key: value for key, value in event.items() if key != "ingestion-time"})
    )
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = iso_seconds(datetime.fromtimestamp(delivered["time"], UTC))
    return delivered


def _input_for_target(target: dict[str, Any], event: dict[str, Any], transform_input: bool) -> Any:
    """Apply the target's Input, InputPath or InputTransformer (at most one is allowed) to the event."""
    delivered = _as_delivered(event)
    if not transform_input:
        return delivered
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        matches = parse_json_path(target["InputPath"]).find(delivered)
        return matches[0].value if matches else None
    if "InputTransformer" in target:
        transformer = target["InputTransformer"]
        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=cast(Any, {**delivered, "ingestion-time": event.get("ingestion-time", delivered.get("time"))}),
        )
    return delivered


class _SingleTargetRule:
    """A view of a rule with one target, so moto's own `send_to_targets` delivers to just that target."""

    def __init__(self, rule: Rule, target: dict[str, Any]) -> None:
        self._rule = rule
        self.targets = [target]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._rule, name)


def _patch_eventbridge_targets(registry: ExtensionRegistry) -> None:
    """Rules deliver to Lambda and Step Functions targets, and only when enabled and matched.

    AWS: a rule sends each matching event to its targets, after applying the target's Input, InputPath or
    InputTransformer (docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html and
    eb-transform-target-input.html); a DISABLED rule sends nothing; a schedule-only rule receives no events.
    moto gap: `Rule.send_to_targets` raises NotImplementedError for Lambda and Step Functions targets (which S3
    then swallows), delivers to DISABLED rules, sends every event to schedule-only rules, and its default input
    template drops the event's `account`. Here matching stays moto's `event_pattern.matches_event`;
    `hooks.on_rule_matched` hears of each match; Lambda and Step Functions targets go to `hooks.deliver_event`
    (time as ISO 8601, Input/InputPath/InputTransformer applied); other targets keep moto's delivery, with the
    whole event when the target has no InputTransformer.
    """
    original_send_to_targets = vars(Rule)["send_to_targets"]
    hooks = registry.hooks

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if self.state == "DISABLED":
            return
        if self.scheduled_expression and not self.event_pattern.get_pattern():
            return
        if not self.event_pattern.matches_event(original_event):
            return
        if hooks.on_rule_matched is not None:
            hooks.on_rule_matched(self, original_event)
        for target in list(self.targets):
            if _hook_target_kind(target["Arn"]) is not None:
                hooks.deliver_event(dict(target), _input_for_target(target, original_event, transform_input))
            elif transform_input and "InputTransformer" not in target:
                whole_event = {key: value for key, value in original_event.items() if key != "ingestion-time"}
                original_send_to_targets(_SingleTargetRule(self, target), whole_event, transform_input=False)
            else:
                original_send_to_targets(_SingleTargetRule(self, target), original_event, transform_input)

    registry.replace(Rule, "send_to_targets", send_to_targets)


def _patch_eventbridge_clock(registry: ExtensionRegistry) -> None:
    """Events are stamped with the virtual clock.

    AWS: PutEvents stamps an entry without Time with the time of the call
    (docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEventsRequestEntry.html).
    moto gap: `events.models.unix_time` is the real clock. Here it is the virtual one, so every event, bus,
    archive and replay agrees on the time.
    """
    original_unix_time = vars(events_models)["unix_time"]

    def unix_time(moment: datetime | None = None) -> float:
        return float(original_unix_time(moment)) if moment is not None else registry.clock.now().timestamp()

    registry.replace(events_models, "unix_time", unix_time)
