"""The local cloud's core: what every emulation of an AWS behaviour on moto needs, and nothing else.

- `check_moto_version`: the emulations patch private moto code, so they run only on the moto they were read against.
- `Hooks`: what the rest of the local cloud (`localcloud.cloud`) provides to the emulations.
- `ExtensionRegistry`: one per running local cloud. It owns the virtual clock and the hooks, applies each patch
  (`replace`) and undoes every one of them, in reverse order, on `uninstall`; it is where emulations keep their
  state (no module of the local cloud holds state of its own). `put_service_event` is how an emulated AWS service
  sends its EventBridge events.
- Small conversions between moto's naive-UTC datetimes and the shapes AWS's events use.

This module imports no other module of the project: each `localcloud.emulations.*` module imports only this one,
and `localcloud.extensions` puts them together (tests/unit/test_localcloud_layout.py checks both).
"""

from __future__ import annotations

import json
import logging
import threading
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import moto

SUPPORTED_MOTO_VERSION = "5.2.5"

_log = logging.getLogger("localcloud")
_MISSING = object()
# Set on the `moto` package while a registry is installed: moto's classes are process-wide, so two local clouds
# cannot patch them at once. Kept on moto itself (and removed with the other patches), not in a global here.
_INSTALLED_MARKER = "_localcloud_registry"


def check_moto_version() -> None:
    """Fail loudly unless the installed moto is the version the emulations were written against."""
    if moto.__version__ != SUPPORTED_MOTO_VERSION:
        raise RuntimeError(
            f"The local cloud patches moto internals and was written for moto {SUPPORTED_MOTO_VERSION}, "
            f"but moto {moto.__version__} is installed. Pin moto=={SUPPORTED_MOTO_VERSION} "
            "(requirements/dev.in), or re-read every patch in localcloud/emulations/ against the new version."
        )


class Clock(Protocol):
    """The virtual clock (`localcloud.clock.VirtualClock`) as the emulations use it."""

    def now(self) -> datetime: ...
    def sleep(self, seconds: float, interrupt: Callable[[], bool] | None = None) -> None: ...
    def call_later(self, seconds: float, callback: Callable[[], None]) -> Any: ...
    def park(self) -> None: ...
    def unpark(self) -> None: ...
    def notify_changed(self) -> None: ...


@dataclass(frozen=True)
class Hooks:
    """What the rest of the local cloud provides to the emulations.

    invoke_lambda(function_name, payload) -> (response payload, function error kind such as "Unhandled" or None).
        On an error the payload is the JSON `{"errorType": ..., "errorMessage": ...}` that Lambda returns.
    deliver_event(target, event): an EventBridge rule matched for a target moto cannot deliver to (a Lambda
        function or a Step Functions state machine). `target` is the rule's target as put by PutTargets;
        `event` is what that target receives (the whole event, or the result of Input/InputPath/InputTransformer).
    on_pipeline_started(pipeline_execution_arn): optional notification after a new pipeline execution starts.
    invoke_lambda_async(function_name, payload): optional; accepts an `Event` (asynchronous) invocation for
        later. Without it an `Event` invocation runs at once through `invoke_lambda`.
    on_rule_matched(rule, event): optional notification that an enabled rule matched an event, before delivery.
    """

    invoke_lambda: Callable[[str, bytes], tuple[bytes, str | None]]
    deliver_event: Callable[[dict[str, Any], Any], None]
    on_pipeline_started: Callable[[str], None] | None = None
    invoke_lambda_async: Callable[[str, bytes], None] | None = None
    on_rule_matched: Callable[[Any, dict[str, Any]], None] | None = None


@dataclass(frozen=True)
class Patch:
    """One replaced (or, when `added`, created) attribute of moto, and what was there before."""

    owner: Any
    name: str
    original: Any
    added: bool

    def in_place(self) -> bool:
        """True while the replacement is installed (the attribute is no longer moto's own)."""
        current = vars(self.owner).get(self.name, _MISSING)
        return current is not _MISSING if self.added else current is not self.original


class ExtensionRegistry:
    """The patches of one local cloud, the clock and hooks they share, and how to take them all back out."""

    def __init__(self, clock: Clock, hooks: Hooks) -> None:
        check_moto_version()
        self.clock = clock
        self.hooks = hooks
        self._patches: list[Patch] = []
        self._cleanups: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self.replace(moto, _INSTALLED_MARKER, self, add=True)

    def replace(self, owner: Any, name: str, replacement: Any, *, add: bool = False) -> None:
        """Swap `owner.name` (a module global or a class attribute defined on `owner` itself), or with `add` create
        it, and remember how to undo that. Fails when moto no longer looks the way the patch expects."""
        namespace = vars(owner)
        if add == (name in namespace):
            if owner is moto and name == _INSTALLED_MARKER:
                raise RuntimeError("A local cloud is already running in this process; close it first")
            expectation = "not to have" if add else "to have"
            raise RuntimeError(f"moto {moto.__version__}: expected {owner!r} {expectation} its own attribute {name!r}")
        with self._lock:
            self._patches.append(Patch(owner, name, None if add else namespace[name], add))
        setattr(owner, name, replacement)

    def patches(self) -> list[Patch]:
        """What this registry replaced in moto, oldest first (empty once uninstalled)."""
        with self._lock:
            return list(self._patches)

    def on_uninstall(self, cleanup: Callable[[], None]) -> None:
        """Run `cleanup` (e.g. cancel an emulation's timers) before the patches are undone."""
        self._cleanups.append(cleanup)

    def uninstall(self) -> None:
        """Undo every patch, newest first; moto is as it was before. Safe to call twice."""
        while self._cleanups:
            self._cleanups.pop()()
        with self._lock:
            patches, self._patches = self._patches, []
        for patch in reversed(patches):
            if patch.added:
                delattr(patch.owner, patch.name)
            else:
                setattr(patch.owner, patch.name, patch.original)

    def put_service_event(
        self,
        account_id: str,
        region_name: str,
        source: str,
        detail_type: str,
        resources: list[str],
        detail: dict[str, Any],
    ) -> None:
        """Send an AWS service event to the rules of the default bus (AWS services never use custom buses).

        Delivery is asynchronous on AWS, so a failing rule is logged at ERROR and the others still run.
        """
        from moto.events.models import events_backends  # noqa: PLC0415 - after the version check

        moment = self.clock.now().timestamp()  # moto keeps event times as epoch seconds
        event: Any = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": detail_type,
            "source": source,
            "account": account_id,
            "time": moment,
            "region": region_name,
            "resources": resources,
            "detail": detail,
            "ingestion-time": moment,
        }
        default_bus = events_backends[account_id][region_name].event_buses.get("default")
        if default_bus is None:
            return
        for rule in list(default_bus.rules.values()):
            try:
                rule.send_to_targets(event, transform_input=True)
            except Exception:
                _log.exception("Delivering %s %r to rule %s failed", source, detail_type, rule.arn)


class ModuleProxy(types.ModuleType):
    """A stand-in for a module, overriding some attributes and forwarding the rest to the real module."""

    def __init__(self, real: types.ModuleType, **overrides: Any) -> None:
        super().__init__(real.__name__)
        self._real = real
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


# -- time and JSON shapes -----------------------------------------------------------------------------------


def naive_utc(moment: datetime) -> datetime:
    """moto's models hold naive UTC datetimes."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one (moto's) is taken as UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def iso_seconds(moment: datetime) -> str:
    """2026-11-27T09:00:00Z: the `time` of EventBridge events and SageMaker's ISO timestamps."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch_millis(moment: datetime) -> int:
    """SageMaker's event timestamps: epoch milliseconds."""
    return int(as_utc(moment).timestamp() * 1000)


def plain(value: Any) -> Any:
    """A JSON-only deep copy, so that an event never shares (or leaks datetimes from) moto's objects."""
    return json.loads(json.dumps(value, default=str))
