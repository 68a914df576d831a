"""Step Functions time on the virtual clock: Wait states, Retry intervals, task-token callbacks, state timeouts.

moto runs the real ASL interpreter (a port of LocalStack's) but every wait in it is a real-time wait: Wait states
sleep, Retry sleeps `IntervalSeconds * BackoffRate^n`, `.waitForTaskToken` blocks on a real-time Event, and a
state's TimeoutSeconds is a real-time `Event.wait`. Each patch here moves one of them onto the virtual clock,
with the semantics the Step Functions Developer Guide documents, so a day-long workflow runs in milliseconds.
`running_execution_count` and the execution notifications let the local cloud tell when executions are parked.
"""

from __future__ import annotations

import datetime as datetime_module
import math
import threading
import time
from datetime import UTC
from typing import Any

from moto.stepfunctions import parser as stepfunctions_parser
from moto.stepfunctions.models import StateMachineInstance
from moto.stepfunctions.parser.api import ExecutionStatus
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
from moto.stepfunctions.parser.asl.component.state.exec import execute_state
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, CallbackOutcome
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event import event_manager
from moto.stepfunctions.parser.backend import execution as execution_module
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from localcloud.core import ExtensionRegistry, ModuleProxy, naive_utc

__all__ = ["install", "running_execution_count"]

# moto's default TimeoutSeconds. A Standard execution cannot outlive it (AWS caps executions at one year),
# so it is treated as "no timeout" instead of parking a three-year timer on the clock.
_NO_TIMEOUT_SECONDS = TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS


def install(registry: ExtensionRegistry) -> None:
    """Apply every patch of this module to moto (undone by `registry.uninstall()`)."""
    for patch in (
        _patch_execution_notifications,
        _patch_wait_states,
        _patch_wait_timestamps,
        _patch_retry_intervals,
        _patch_task_token_callbacks,
        _patch_state_timeouts,
        _patch_execution_timestamps,
    ):
        patch(registry)


def running_execution_count() -> int:
    """RUNNING Step Functions executions in every account and region of moto's ASL-executing backend.

    With `execute_state_machine` enabled moto keeps executions in `stepfunctions_parser_backends` (not in
    `moto.stepfunctions.models.stepfunctions_backends`), on each state machine and each of its versions.
    """
    count = 0
    for account_backends in list(stepfunctions_parser_backends.values()):
        for backend in list(account_backends.values()):
            for state_machine in list(backend.state_machines):
                instances: list[StateMachineInstance] = [state_machine, *list(state_machine.versions.values())]
                for instance in instances:
                    for execution in list(instance.executions):
                        # exec_status is None for a moment between start_execution's append and start()
                        if getattr(execution, "exec_status", None) == ExecutionStatus.RUNNING:
                            count += 1
    return count


def _patch_execution_notifications(registry: ExtensionRegistry) -> None:
    """Execution status changes notify the clock, so the local cloud knows when executions park or end.

    AWS: executions run on their own; an observer polls DescribeExecution or listens to "Step Functions Execution
    Status Change" events (docs.aws.amazon.com/step-functions/latest/dg/eventbridge-integration.html).
    moto gap: its status changes (`Execution.start`, the worker's `terminated`, `Environment.set_ended/set_error/
    set_timed_out/set_stop`) tell no one but its own threads. Here each also calls `clock.notify_changed()`, whose
    waiters (`wait_until_quiescent`, interruptible sleeps) re-check then instead of polling in real time.
    """

    def notifying(owner: Any, name: str) -> None:
        original = vars(owner)[name]

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return original(self, *args, **kwargs)
            finally:
                registry.clock.notify_changed()

        registry.replace(owner, name, method)

    notifying(Execution, "start")
    notifying(BaseExecutionWorkerCommunication, "terminated")
    for name in ("set_ended", "set_error", "set_timed_out", "set_stop"):
        notifying(Environment, name)


def _patch_wait_states(registry: ExtensionRegistry) -> None:
    """Wait states with Seconds/SecondsPath wait on the virtual clock.

    AWS: "A Wait state delays the state machine from continuing for a specified time"
    (docs.aws.amazon.com/step-functions/latest/dg/state-wait.html); a stopped execution stops waiting.
    moto gap: `WaitFunction._wait_interval` blocks the execution thread for the real number of seconds. Here the
    thread parks on the virtual clock and is interrupted when the execution stops.
    """

    def _wait_interval(self: WaitFunction, env: Environment, wait_seconds: float) -> None:
        registry.clock.sleep(wait_seconds, interrupt=lambda: not env.is_running())

    registry.replace(WaitFunction, "_wait_interval", _wait_interval)


def _patch_wait_timestamps(registry: ExtensionRegistry) -> None:
    """Wait states with Timestamp/TimestampPath wait until that moment of the virtual clock.

    AWS: the state waits until the absolute time, in UTC; a timestamp in the past does not wait
    (docs.aws.amazon.com/step-functions/latest/dg/state-wait.html).
    moto gap: `Timestamp._get_wait_seconds` subtracts the host's naive local `datetime.now()`. Here the seconds are
    computed against the virtual clock (UTC), rounded up so the execution never resumes early; a past timestamp
    waits 0 s.
    """

    def _get_wait_seconds(self: Timestamp, env: Environment) -> int:
        self.string.eval(env=env)
        timestamp_text: str = env.stack.pop()
        timestamp = self._from_timestamp_string(timestamp=timestamp_text)
        if timestamp is None:
            raise FailureEventException(self._create_failure_event(env, timestamp_text))
        return math.ceil((timestamp.replace(tzinfo=UTC) - registry.clock.now()).total_seconds())

    registry.replace(Timestamp, "_get_wait_seconds", _get_wait_seconds)


def _patch_retry_intervals(registry: ExtensionRegistry) -> None:
    """Retry intervals elapse on the virtual clock.

    AWS: a retrier waits IntervalSeconds, times BackoffRate per attempt, before retrying
    (docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html, "Retrying after an error").
    moto gap: `retrier_decl.py` calls `time.sleep(interval_seconds)` in real time. Here that module's `time.sleep`
    is a parked virtual sleep, interrupted when the execution stops.
    """
    retrying = threading.local()
    original_eval_body = vars(retrier_decl.RetrierDecl)["_eval_body"]

    def _eval_body(self: retrier_decl.RetrierDecl, env: Environment) -> None:
        retrying.env = env
        try:
            original_eval_body(self, env)
        finally:
            retrying.env = None

    def _virtual_sleep(seconds: float) -> None:
        env: Environment | None = getattr(retrying, "env", None)
        interrupt = None if env is None else (lambda: not env.is_running())
        registry.clock.sleep(seconds, interrupt=interrupt)

    registry.replace(retrier_decl.RetrierDecl, "_eval_body", _eval_body)
    registry.replace(retrier_decl, "time", ModuleProxy(time, sleep=_virtual_sleep))


def _patch_task_token_callbacks(registry: ExtensionRegistry) -> None:
    """`.waitForTaskToken` tasks park until SendTaskSuccess/SendTaskFailure or their timeout on the virtual clock.

    AWS: the task pauses until a SendTaskSuccess or SendTaskFailure with its token arrives, or fails with
    States.Timeout after TimeoutSeconds (docs.aws.amazon.com/step-functions/latest/dg/
    connect-to-resource.html#connect-wait-token).
    moto gap: `CallbackEndpoint.wait` blocks on a real-time Event whose timeout is the Task's TimeoutSeconds. Here
    the waiting thread is parked, the timeout is a virtual-clock timer that wakes it with no outcome (moto turns
    that into States.Timeout), and the waker (`notify`, `interrupt_all`, or the timer) un-parks it.
    """
    clock = registry.clock
    lock = threading.Lock()
    parked: set[CallbackEndpoint] = set()
    original_notify = vars(CallbackEndpoint)["notify"]
    original_interrupt_all = vars(CallbackEndpoint)["interrupt_all"]

    def _release(endpoint: CallbackEndpoint) -> None:  # caller holds `lock`
        if endpoint in parked:
            parked.discard(endpoint)
            clock.unpark()

    def _expire(endpoint: CallbackEndpoint) -> None:
        with lock:
            _release(endpoint)
            endpoint._notify_event.set()

    def wait(self: CallbackEndpoint, timeout: float | None = None) -> CallbackOutcome | None:
        timer: Any = None
        with lock:
            if not self._notify_event.is_set():
                parked.add(self)
                clock.park()
                if timeout is not None and timeout < _NO_TIMEOUT_SECONDS:
                    timer = clock.call_later(timeout, lambda: _expire(self))
        self._notify_event.wait()
        if timer is not None:
            timer.cancel()
        return self._outcome

    def notify(self: CallbackEndpoint, outcome: CallbackOutcome) -> None:
        with lock:
            original_notify(self, outcome)
            _release(self)

    def interrupt_all(self: CallbackEndpoint) -> None:
        with lock:
            original_interrupt_all(self)
            _release(self)

    registry.replace(CallbackEndpoint, "wait", wait)
    registry.replace(CallbackEndpoint, "notify", notify)
    registry.replace(CallbackEndpoint, "interrupt_all", interrupt_all)


def _patch_state_timeouts(registry: ExtensionRegistry) -> None:
    """TimeoutSeconds of Task, Parallel and Map states expires on the virtual clock.

    AWS: a state that runs longer than its TimeoutSeconds fails with States.Timeout, which Catch can handle
    (docs.aws.amazon.com/step-functions/latest/dg/state-task.html, "Task state timeouts and heartbeat intervals").
    moto gap: `ExecutionState._evaluate_with_timeout` waits for the state's helper thread with a real-time
    `threading.Event().wait(timeout_seconds)`. Here `execute_state.threading.Event` is an Event whose timed wait
    expires on the virtual clock. The waiting thread is not parked: the helper thread is the one that runs or parks.
    """
    clock = registry.clock

    class VirtualDeadlineEvent(threading.Event):
        def __init__(self) -> None:
            super().__init__()
            self._guard = threading.Lock()
            self._expired = False

        def set(self) -> None:
            with self._guard:
                super().set()

        def _expire(self) -> None:
            with self._guard:
                if not self.is_set():
                    self._expired = True
                    super().set()

        def wait(self, timeout: float | None = None) -> bool:
            if timeout is None or timeout >= _NO_TIMEOUT_SECONDS:
                return super().wait()
            timer = clock.call_later(timeout, self._expire)
            super().wait()
            timer.cancel()
            return not self._expired

    registry.replace(execute_state, "threading", ModuleProxy(threading, Event=VirtualDeadlineEvent))


def _patch_execution_timestamps(registry: ExtensionRegistry) -> None:
    """Executions start and stop, and their history events happen, at the virtual clock's time.

    AWS: DescribeExecution's startDate and stopDate and each history event's timestamp are when it happened
    (docs.aws.amazon.com/step-functions/latest/apireference/API_DescribeExecution.html,
    API_HistoryEvent.html), so they agree with every other service's time.
    moto gap: StartExecution, the end of an execution and each history event read the host's
    `datetime.datetime.now`, so `mlops status` showed a training started days after the events that started it.
    Here those three modules' `datetime` reads the virtual clock.
    """

    class VirtualDatetime(datetime_module.datetime):
        @classmethod
        def now(cls, tz: datetime_module.tzinfo | None = None) -> datetime_module.datetime:  # type: ignore[override]
            moment = registry.clock.now()
            return moment.astimezone(tz) if tz is not None else naive_utc(moment)

    virtual = ModuleProxy(datetime_module, datetime=VirtualDatetime)
    for module in (stepfunctions_parser.models, event_manager, execution_module):
        registry.replace(module, "datetime", virtual)
