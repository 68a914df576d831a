"""`python -m localcloud replay FILE...`: what would the control plane do with these EventBridge events?

Each file holds one event or a list of them. Each event goes, unchanged, to the rules of a freshly deployed
and seeded local cloud (AWS services' events to the default bus, any other source to the control plane's
bus); one JSON line per event tells what it led to or why it was not accepted, one line per unreadable file
says why, and a last line `{"summary": ...}` always tells the whole outcome after the local cloud settled
(queues drained, timers and quiet periods elapsed on the virtual clock, executions finished).

Exit status: 0 when every event was replayed or rejected with its reason (rejections are results, listed in
the summary); 1 when the local cloud itself failed on an event (its line says so: a bug to report); 2 for a
bad command line or an invalid control-plane config.
"""

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from controlplane.config import ControlPlaneConfig, load_config
from localcloud.cloud import LocalCloud, TimelineEntry, epoch_seconds
from localcloud.report import summary

_REQUIRED_ENVELOPE = ("id", "source", "detail-type", "detail")
_SHOWN_CHARACTERS = 80


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
    except (ValueError, RecursionError) as error:  # e.g. a number of over 4300 digits, or nesting too deep
        raise ValueError(f"{path}: JSON this tool cannot read ({type(error).__name__}: {error})") from None
    if document == []:
        raise ValueError(f"{path}: no events (the file holds an empty list)")
    return document if isinstance(document, list) else [document]


def _described(value: Any) -> str:
    """A JSON value as an error message names it, e.g. 'a number: 42', 'null'."""
    kinds = {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}
    return "null" if value is None else f"{kinds.get(type(value), 'a value')}: {_shown(value)}"


def _shown(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_CHARACTERS else text[:_SHOWN_CHARACTERS] + "…"


def envelope_problem(event: Any) -> str | None:
    """Why EventBridge could not have delivered this event, or None."""
    if not isinstance(event, dict):
        return f"expected an EventBridge event (a JSON object), got {_described(event)}"
    missing = [name for name in _REQUIRED_ENVELOPE if name not in event]
    if missing:
        return f"not an EventBridge event: missing {', '.join(missing)}"
    for name in ("id", "source", "detail-type"):
        if not isinstance(event[name], str) or not event[name]:
            return f"not an EventBridge event: '{name}' must be a non-empty string, got {_shown(event[name])}"
    if not isinstance(event["detail"], dict):
        return "not an EventBridge event: 'detail' must be a JSON object"
    if "time" in event and epoch_seconds(event["time"]) is None:
        return f"not an EventBridge event: 'time' must be like \"2026-11-27T09:00:00Z\", got {_shown(event['time'])}"
    return None


def _is_replayed_event(entry: TimelineEntry, event: dict[str, Any]) -> bool:
    """The observer's record of the replayed event itself on the control-plane bus (not something it led to)."""
    return (
        entry.kind == "bus"
        and entry.text.endswith(f": {event['detail-type']}")
        and entry.data["detail"] == event["detail"]
    )


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


def replay_event(cloud: LocalCloud, where: dict[str, Any], event: Any) -> tuple[dict[str, Any], list[str]]:
    """Deliver one event (any JSON value) and run what it starts, timers aside: its output line, and the reasons
    it was not accepted (none when it was)."""
    problem = envelope_problem(event)
    if problem:
        return {**where, "error": problem}, [problem]
    mark = len(cloud.timeline)
    # AWS services put their events on the default bus; others' (e.g. "Drift Detected") go to ours.
    bus = "default" if event["source"].startswith("aws.") else cloud.control_plane_bus
    matched = cloud.put_event(event, bus)
    cloud.settle(fire_timers=False)
    effects = [entry for entry in cloud.timeline[mark:] if not _is_replayed_event(entry, event)]
    led_to, rejections = describe(effects)
    if not matched:
        rejections.append("no rule of the control plane matches this event (source, detail-type or bucket)")
    rejections = list(dict.fromkeys(rejections))
    identity = {**where, "id": event["id"], "detail_type": event["detail-type"]}
    return {**identity, "matched_rules": matched, "led_to": led_to, "rejected": bool(rejections)}, rejections


def replay(paths: list[str], out: TextIO, config: ControlPlaneConfig | None = None) -> int:
    config = config or load_config()
    rejected: list[dict[str, Any]] = []
    cloud_failed = False

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
                try:
                    line, reasons = replay_event(cloud, where, event)
                except Exception as error:  # reported on its line and in the exit status
                    cloud_failed = True
                    reason = f"the local cloud failed on this event ({type(error).__name__}: {error}); please report it"
                    line, reasons = {**where, "error": reason}, [reason]
                emit(line)
                identity = {key: line[key] for key in ("file", "index", "id", "detail_type") if key in line}
                rejected.extend({**identity, "reason": reason} for reason in reasons)
        mark = len(cloud.timeline)
        try:
            cloud.settle()
        except Exception as error:  # the summary still ends the output
            cloud_failed = True
            emit({"error": f"the local cloud failed while settling ({type(error).__name__}: {error})"})
        led_to, _ = describe(cloud.timeline[mark:])
        if led_to:
            emit({"after_settling": led_to})
        emit({"summary": summary(cloud, rejected)})
    return 1 if cloud_failed else 0
