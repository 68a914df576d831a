"""`python -m localcloud replay FILE...`: what would the control plane do with these EventBridge events?

Each file holds one event or a list of them. Each event goes, unchanged, to the rules of a freshly deployed
and seeded local cloud (AWS services' events to the default bus, any other source to the control plane's
bus); one JSON line per event tells what it led to, and a last line `{"summary": ...}` tells the whole
outcome after the local cloud settled (queues drained, timers and quiet periods elapsed on the virtual clock,
executions finished).
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from controlplane.config import ControlPlaneConfig, load_config
from localcloud.cloud import LocalCloud, TimelineEntry
from localcloud.report import summary

_REQUIRED_ENVELOPE = ("id", "source", "detail-type", "detail")


def read_events(path: Path) -> list[Any]:
    """The events of one file; raises ValueError with a message that says what is wrong."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read ({error})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    return document if isinstance(document, list) else [document]


def envelope_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return f"expected an EventBridge event (a JSON object), got {type(event).__name__}"
    missing = [name for name in _REQUIRED_ENVELOPE if name not in event]
    if missing:
        return f"not an EventBridge event: missing {', '.join(missing)}"
    if not isinstance(event["detail"], dict):
        return "not an EventBridge event: 'detail' must be a JSON object"
    return None


def describe(entries: Iterable[TimelineEntry]) -> tuple[list[str], list[str]]:
    """What the entries show, as short lines, and the rejection reasons among them."""
    led_to: list[str] = []
    rejections: list[str] = []
    for entry in entries:
        if entry.kind == "lambda":
            led_to.append(entry.text)
            for line in entry.data.get("logs", []):
                message, reason = line.get("message"), line.get("reason") or line.get("dataset_uri")
                if message and (reason or line.get("level") in {"INFO", "WARNING", "ERROR"}):
                    led_to.append(f"  {message}" + (f": {reason}" if reason else ""))
                if message and message.startswith("Event rejected") and reason:
                    rejections.append(str(reason))
            explained = any(str(line.get("message", "")).startswith("Event rejected") for line in entry.data["logs"])
            if entry.data.get("error") and not explained:
                rejections.append(entry.data["error"]["errorMessage"])
        elif entry.kind in {"rule", "pipeline", "sns", "bus", "dlq", "execution"}:
            led_to.append(entry.text)
    return led_to, rejections


def replay(paths: list[str], out: TextIO, config: ControlPlaneConfig | None = None) -> int:
    config = config or load_config()
    rejected: list[dict[str, Any]] = []

    def emit(line: dict[str, Any]) -> None:
        out.write(json.dumps(line, default=str) + "\n")
        out.flush()

    with LocalCloud() as cloud:
        cloud.seed(config)
        for name in paths:
            try:
                events = read_events(Path(name))
            except ValueError as error:
                emit({"file": name, "error": str(error)})
                rejected.append({"file": name, "reason": str(error)})
                continue
            for index, event in enumerate(events):
                where = {"file": name, "index": index}
                problem = envelope_problem(event)
                if problem:
                    emit({**where, "error": problem})
                    rejected.append({**where, "reason": problem})
                    continue
                mark = len(cloud.timeline)
                # AWS services put their events on the default bus; others' (e.g. "Drift Detected") go to ours.
                bus = "default" if str(event["source"]).startswith("aws.") else cloud.control_plane_bus
                matched = cloud.put_event(event, bus)
                cloud.settle(fire_timers=False)
                led_to, rejections = describe(cloud.timeline[mark:])
                identity = {**where, "id": event["id"], "detail_type": event["detail-type"]}
                if not matched:
                    reason = "no rule of the control plane matches this event (source, detail-type or bucket)"
                    rejections.append(reason)
                for reason in dict.fromkeys(rejections):
                    rejected.append({**identity, "reason": reason})
                emit({**identity, "matched_rules": matched, "led_to": led_to, "rejected": bool(rejections)})
        mark = len(cloud.timeline)
        cloud.settle()
        led_to, _ = describe(cloud.timeline[mark:])
        if led_to:
            emit({"after_settling": led_to})
        emit({"summary": summary(cloud, rejected)})
    return 0
