"""Named patches of moto 5.2.5 internals that turn moto into the project's local cloud.

moto executes the real ASL, but it waits in real time, cannot run Lambda handlers without Docker, cannot
deliver EventBridge events to Lambda or Step Functions targets, shapes S3 events unlike AWS and never moves a
SageMaker pipeline execution through its statuses. Each `_patch_*` function below fixes one of these gaps;
its docstring says what moto lacks. `install(clock, hooks)` applies them all, `uninstall()` restores moto.

The patches reach into private moto code, so they are pinned to one moto version: importing this module, or
installing it, under any other version raises RuntimeError. Upgrading moto means re-reading every patched
function in the new version and re-running tests/integration/test_localcloud_extensions.py.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import types
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, cast

import moto

from localcloud.clock import TimerHandle, VirtualClock

SUPPORTED_MOTO_VERSION = "5.2.5"


def check_moto_version() -> None:
    """Fail loudly unless the installed moto is the version these patches were written against."""
    if moto.__version__ != SUPPORTED_MOTO_VERSION:
        raise RuntimeError(
            f"localcloud.extensions patches moto internals and was written for moto {SUPPORTED_MOTO_VERSION}, "
            f"but moto {moto.__version__} is installed. Pin moto=={SUPPORTED_MOTO_VERSION} "
            "(requirements/dev.in), or re-check every patch in localcloud/extensions.py against the new version."
        )


check_moto_version()

# moto internals: imported after the version check so that another version fails with the message above.
from jsonpath_ng.ext.parser import parse as parse_json_path  # noqa: E402
from moto.awslambda_simple.models import LambdaSimpleBackend  # noqa: E402
from moto.dynamodb.models import table as dynamodb_table  # noqa: E402
from moto.events import models as events_models  # noqa: E402
from moto.events.models import EventBus, Rule, events_backends  # noqa: E402
from moto.events.utils import EventTemplateParser  # noqa: E402
from moto.s3 import notifications as s3_notifications  # noqa: E402
from moto.s3.responses import S3Response  # noqa: E402
from moto.sagemaker.models import FakePipeline, FakePipelineExecution, SageMakerModelBackend  # noqa: E402
from moto.sagemaker.utils import get_pipeline_execution_from_arn, get_pipeline_from_name  # noqa: E402
from moto.sqs.models import SQSBackend  # noqa: E402
from moto.stepfunctions.models import StateMachineInstance  # noqa: E402
from moto.stepfunctions.parser.api import ExecutionStatus  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (  # noqa: E402
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.exec import execute_state  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (  # noqa: E402
    WaitFunction,
)
from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, CallbackOutcome  # noqa: E402
from moto.stepfunctions.parser.asl.eval.environment import Environment  # noqa: E402
from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication, Execution  # noqa: E402
from moto.stepfunctions.parser.models import stepfunctions_parser_backends  # noqa: E402

from localcloud import monitoring, queues, sagemaker_endpoints  # noqa: E402
from localcloud.monitoring import emit_monitoring_run, raise_alarm  # noqa: E402 - re-exported
from localcloud.sagemaker_endpoints import (  # noqa: E402 - re-exported
    inject_sagemaker_throttling,
    set_duplicate_model_package_events,
    set_endpoint_creation,
    set_endpoint_defaults,
    set_endpoint_outcome,
    set_endpoint_response,
)

__all__ = [
    "SUPPORTED_MOTO_VERSION",
    "Hooks",
    "LocalCloudExtensions",
    "PipelineScript",
    "PipelineStatus",
    "check_moto_version",
    "emit_monitoring_run",
    "inject_sagemaker_throttling",
    "install",
    "installed",
    "raise_alarm",
    "running_execution_count",
    "set_duplicate_model_package_events",
    "set_endpoint_creation",
    "set_endpoint_defaults",
    "set_endpoint_outcome",
    "set_endpoint_response",
    "set_pipeline_outcome",
    "uninstall",
]

_log = logging.getLogger("localcloud")

# moto's default TimeoutSeconds. A Standard execution cannot outlive it (AWS caps executions at one year),
# so it is treated as "no timeout" instead of parking a three-year timer on the clock.
_NO_TIMEOUT_SECONDS = TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS

PipelineStatus = Literal["Succeeded", "Failed", "Stopped"]


@dataclass(frozen=True)
class Hooks:
    """What the rest of the local cloud provides to the patches.

    invoke_lambda(function_name, payload) -> (response payload, function error kind such as "Unhandled" or None).
        On an error the payload is the JSON `{"errorType": ..., "errorMessage": ...}` that Lambda returns.
    deliver_event(target, event): an EventBridge rule matched for a target moto cannot deliver to (a Lambda
        function or a Step Functions state machine). `target` is the rule's target as put by PutTargets;
        `event` is what that target receives (the whole event, or the result of Input/InputPath/InputTransformer).
    on_pipeline_started(pipeline_execution_arn): optional notification after a new pipeline execution starts.
    invoke_lambda_async(function_name, payload): optional; accepts an `Event` (asynchronous) invocation for
        later. Without it an `Event` invocation runs at once through `invoke_lambda`.
    """

    invoke_lambda: Callable[[str, bytes], tuple[bytes, str | None]]
    deliver_event: Callable[[dict[str, Any], Any], None]
    on_pipeline_started: Callable[[str], None] | None = None
    invoke_lambda_async: Callable[[str, bytes], None] | None = None


@dataclass(frozen=True)
class PipelineScript:
    """How the local cloud ends a SageMaker pipeline execution: final status after a virtual duration.

    The execution goes straight from Executing to the final status (no Stopping step for Stopped).
    """

    status: PipelineStatus = "Succeeded"
    duration_seconds: float = 600.0
    failure_reason: str | None = None


_DEFAULT_FAILURE_REASON = "Pipeline execution failed (outcome scripted by the local cloud)."


class LocalCloudExtensions:
    """The installed patches' shared state: the clock, the hooks, pipeline scripts and S3 sequencers."""

    def __init__(self, clock: VirtualClock, hooks: Hooks) -> None:
        self.clock = clock
        self.hooks = hooks
        self._lock = threading.Lock()
        self._pipeline_scripts: dict[str, PipelineScript] = {}
        self._pipeline_end_times: dict[str, datetime] = {}
        self._s3_sequencers: dict[tuple[str, str], int] = {}

    def set_pipeline_outcome(
        self,
        pipeline_name: str,
        status: PipelineStatus = "Succeeded",
        duration_seconds: float = 600.0,
        failure_reason: str | None = None,
    ) -> None:
        """Script how executions of `pipeline_name` started from now on end (default: Succeeded after 600 s)."""
        if status not in ("Succeeded", "Failed", "Stopped"):
            raise ValueError(f"Pipeline outcome must be Succeeded, Failed or Stopped, got {status!r}")
        if duration_seconds < 0:
            raise ValueError(f"duration_seconds must not be negative, got {duration_seconds}")
        with self._lock:
            self._pipeline_scripts[pipeline_name] = PipelineScript(status, duration_seconds, failure_reason)

    def pipeline_script(self, pipeline_name: str) -> PipelineScript:
        with self._lock:
            return self._pipeline_scripts.get(pipeline_name, PipelineScript())

    def next_s3_sequencer(self, account_id: str, bucket_name: str) -> str:
        """A strictly increasing, fixed-width hex sequencer per bucket (AWS's are hex strings too)."""
        with self._lock:
            value = self._s3_sequencers.get((account_id, bucket_name), 0) + 1
            self._s3_sequencers[(account_id, bucket_name)] = value
        return f"{value:018X}"


# -- installation -------------------------------------------------------------------------------------------

_install_lock = threading.Lock()
_originals: list[tuple[Any, str, Any]] = []
_active: LocalCloudExtensions | None = None


def _replace(owner: Any, name: str, replacement: Any) -> None:
    """Swap `owner.name` (a module global or a class attribute defined on `owner` itself) and remember it."""
    namespace = vars(owner)
    if name not in namespace:
        raise RuntimeError(f"moto {moto.__version__}: {owner!r} has no attribute {name!r} of its own to patch")
    _originals.append((owner, name, namespace[name]))
    setattr(owner, name, replacement)


def install(clock: VirtualClock, hooks: Hooks) -> LocalCloudExtensions:
    """Apply every patch; returns the extensions object (pipeline scripts live there)."""
    global _active  # noqa: PLW0603 - the patches are process-wide, like moto's own state
    check_moto_version()
    with _install_lock:
        if _active is not None:
            raise RuntimeError("localcloud extensions are already installed; call uninstall() first")
        extensions = LocalCloudExtensions(clock, hooks)
        try:
            for patch in _PATCHES:
                patch(extensions)
            sagemaker_endpoints.install(extensions)
            monitoring.install(extensions)
        except BaseException:
            sagemaker_endpoints.uninstall()
            _restore_originals()
            raise
        _active = extensions
        return extensions


def uninstall() -> None:
    """Restore moto's original functions; safe to call when not installed."""
    global _active  # noqa: PLW0603
    with _install_lock:
        monitoring.uninstall()
        sagemaker_endpoints.uninstall()
        _restore_originals()
        _active = None


def _restore_originals() -> None:
    while _originals:
        owner, name, original = _originals.pop()
        setattr(owner, name, original)


def installed() -> LocalCloudExtensions | None:
    """The active extensions, or None."""
    return _active


def set_pipeline_outcome(
    pipeline_name: str,
    status: PipelineStatus = "Succeeded",
    duration_seconds: float = 600.0,
    failure_reason: str | None = None,
) -> None:
    """`LocalCloudExtensions.set_pipeline_outcome` on the installed extensions."""
    if _active is None:
        raise RuntimeError("localcloud extensions are not installed; call install(clock, hooks) first")
    _active.set_pipeline_outcome(pipeline_name, status, duration_seconds, failure_reason)


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


class _ModuleProxy(types.ModuleType):
    """A stand-in for a module, overriding some attributes and forwarding the rest to the real module."""

    def __init__(self, real: types.ModuleType, **overrides: Any) -> None:
        super().__init__(real.__name__)
        self._real = real
        self.__dict__.update(overrides)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


# -- Step Functions: waits, retries, callbacks, timeouts ----------------------------------------------------


def _patch_execution_notifications(ext: LocalCloudExtensions) -> None:
    """Quiescence without polling: moto changes an execution's status (`Execution.start`, the worker's
    `terminated`) and its program state (`Environment.set_ended/set_error/set_timed_out/set_stop`) without
    telling anyone but its own threads.

    Here each of them also notifies the virtual clock, whose waiters (`wait_until_quiescent`, interruptible
    sleeps) re-check their conditions then instead of polling in real time.
    """

    def notifying(owner: Any, name: str) -> None:
        original = vars(owner)[name]

        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return original(self, *args, **kwargs)
            finally:
                ext.clock.notify_changed()

        _replace(owner, name, method)

    notifying(Execution, "start")
    notifying(BaseExecutionWorkerCommunication, "terminated")
    for name in ("set_ended", "set_error", "set_timed_out", "set_stop"):
        notifying(Environment, name)


def _patch_wait_states(ext: LocalCloudExtensions) -> None:
    """Wait states: moto blocks the execution thread for the real number of seconds (`_wait_interval`).

    Here the thread parks on the virtual clock instead and is interrupted when the execution stops.
    """

    def _wait_interval(self: WaitFunction, env: Environment, wait_seconds: float) -> None:
        ext.clock.sleep(wait_seconds, interrupt=lambda: not env.is_running())

    _replace(WaitFunction, "_wait_interval", _wait_interval)


def _patch_wait_timestamps(ext: LocalCloudExtensions) -> None:
    """Wait with Timestamp/TimestampPath: moto subtracts the host's naive local `datetime.now()`.

    Here the seconds to wait are computed against the virtual clock (UTC), rounded up so that the
    execution never resumes before the timestamp. A past timestamp waits 0 s, as on AWS.
    """

    def _get_wait_seconds(self: Timestamp, env: Environment) -> int:
        self.string.eval(env=env)
        timestamp_text: str = env.stack.pop()
        timestamp = self._from_timestamp_string(timestamp=timestamp_text)
        if timestamp is None:
            raise FailureEventException(self._create_failure_event(env, timestamp_text))
        return math.ceil((timestamp.replace(tzinfo=UTC) - ext.clock.now()).total_seconds())

    _replace(Timestamp, "_get_wait_seconds", _get_wait_seconds)


def _patch_retry_intervals(ext: LocalCloudExtensions) -> None:
    """Retry intervals: `retrier_decl.py` calls `time.sleep(interval_seconds)` in real time.

    Here that module's `time.sleep` is a parked virtual sleep, interrupted when the execution stops.
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
        ext.clock.sleep(seconds, interrupt=interrupt)

    _replace(retrier_decl.RetrierDecl, "_eval_body", _eval_body)
    _replace(retrier_decl, "time", _ModuleProxy(time, sleep=_virtual_sleep))


def _patch_task_token_callbacks(ext: LocalCloudExtensions) -> None:
    """`.waitForTaskToken`: moto blocks on a real-time Event whose timeout is the Task's TimeoutSeconds.

    Here the waiting thread is parked, the timeout is a virtual-clock timer that wakes it with no outcome
    (moto turns that into CallbackTimeoutError, i.e. States.Timeout), and the waker (SendTaskSuccess/Failure
    via `notify`, an interrupt via `interrupt_all`, or the timer) un-parks it.
    """
    clock = ext.clock
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
        timer: TimerHandle | None = None
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

    _replace(CallbackEndpoint, "wait", wait)
    _replace(CallbackEndpoint, "notify", notify)
    _replace(CallbackEndpoint, "interrupt_all", interrupt_all)


def _patch_state_timeouts(ext: LocalCloudExtensions) -> None:
    """TimeoutSeconds of Task/Parallel/Map states: `ExecutionState._evaluate_with_timeout` runs the state on a
    helper thread and waits for it with a real-time `threading.Event().wait(timeout_seconds)`.

    Here `execute_state.threading.Event` is an Event whose timed wait expires on the virtual clock, so a
    300 s TimeoutSeconds costs no real time and still ends in States.Timeout (catchable by Catch). The
    waiting thread is not parked: the helper thread is the one that runs or parks.
    """
    clock = ext.clock

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

    _replace(execute_state, "threading", _ModuleProxy(threading, Event=VirtualDeadlineEvent))


# -- Lambda -------------------------------------------------------------------------------------------------


def _patch_lambda_task_error_names(ext: LocalCloudExtensions) -> None:
    """A Task whose Resource is a Lambda function ARN fails, when Lambda itself refuses the invocation (throttled,
    service error), with `Lambda.<error code>`: AWS documents `Lambda.TooManyRequestsException`,
    `Lambda.ServiceException`, ... ("Handling errors in Step Functions workflows", Lambda errors), the names the
    ASL retries. moto's StateTaskLambda names every such ClientError `Exception`."""
    from botocore.exceptions import ClientError  # noqa: PLC0415
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import (  # noqa: PLC0415
        lambda_eval_utils,
        state_task_lambda,
    )

    original = state_task_lambda.StateTaskLambda._from_error

    def _from_error(self: Any, env: Any, ex: Exception) -> Any:
        if isinstance(ex, ClientError):
            error = ex.response.get("Error", {})
            payload = {
                "errorType": f"Lambda.{error.get('Code', 'ServiceException')}",
                "errorMessage": error.get("Message", ""),
            }
            ex = lambda_eval_utils.LambdaFunctionErrorException("Unhandled", json.dumps(payload))
        return original(self, env, ex)

    _replace(state_task_lambda.StateTaskLambda, "_from_error", _from_error)


def _patch_sdk_error_names(ext: LocalCloudExtensions) -> None:
    """An `aws-sdk:sagemaker:*` task fails with `SageMaker.<Exception>`, unmodelled errors (throttling included)
    with `SageMaker.SageMakerException` ("Handling errors in Step Functions workflows": errors of AWS SDK service
    integrations are named after the service and the exception). moto knows no error name for SageMaker and
    spells it `sagemaker.sagemakerException`; stands down once moto names it."""
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (  # noqa: PLC0415
        state_task_service_aws_sdk as aws_sdk,
    )

    names = aws_sdk._SERVICE_ERROR_NAMES
    if "sagemaker" not in names:
        _replace(aws_sdk, "_SERVICE_ERROR_NAMES", {**names, "sagemaker": "SageMaker"})


def _patch_lambda_invoke(ext: LocalCloudExtensions) -> None:
    """Lambda without Docker: `LambdaSimpleBackend.invoke` echoes the payload, even for a function that does
    not exist.

    Here the function must exist (ResourceNotFoundException otherwise, as on AWS; names, ARNs and
    qualifiers are resolved by moto) and `hooks.invoke_lambda` runs it. A function error sets the
    `X-Amz-Function-Error` header, so Step Functions fails the Task with the payload's `errorType` as the
    error name. An `Event` (asynchronous) invocation goes to `hooks.invoke_lambda_async` when there is one
    (Lambda answers 202 with an empty body); a `DryRun` runs nothing (204).
    """

    def invoke(
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        function = self.get_function(function_name, qualifier)
        payload = body.encode("utf-8") if isinstance(body, str) else bytes(body or b"")
        invocation_type = headers.get("X-Amz-Invocation-Type")
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event" and ext.hooks.invoke_lambda_async is not None:
            ext.hooks.invoke_lambda_async(function.function_name, payload)
            return b""
        result, error_kind = ext.hooks.invoke_lambda(function.function_name, payload)
        if error_kind:
            response_headers["x-amz-function-error"] = error_kind
        return result

    _replace(LambdaSimpleBackend, "invoke", invoke)


# -- EventBridge --------------------------------------------------------------------------------------------


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


def _iso_seconds(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as AWS delivers it: moto keeps `time` as epoch seconds and adds `ingestion-time`."""
    delivered: dict[str, Any] = json.loads(
        json.dumps({key: value for key, value in event.items() if key != "ingestion-time"})
    )
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = _iso_seconds(datetime.fromtimestamp(delivered["time"], UTC))
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


def _patch_eventbridge_targets(ext: LocalCloudExtensions) -> None:
    """EventBridge targets: `Rule.send_to_targets` raises NotImplementedError for Lambda and Step Functions
    targets (which S3 then swallows), delivers to DISABLED rules, sends every event to schedule-only rules,
    and its default input template drops the event's `account`.

    Here matching stays moto's `event_pattern.matches_event`; Lambda and Step Functions targets go to
    `hooks.deliver_event` (time as ISO-8601, Input/InputPath/InputTransformer applied); other targets keep
    moto's delivery, with the whole event when the target has no InputTransformer.
    """
    original_send_to_targets = vars(Rule)["send_to_targets"]

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if self.state == "DISABLED":
            return
        if self.scheduled_expression and not self.event_pattern.get_pattern():
            return
        if not self.event_pattern.matches_event(original_event):
            return
        for target in list(self.targets):
            if _hook_target_kind(target["Arn"]) is not None:
                ext.hooks.deliver_event(dict(target), _input_for_target(target, original_event, transform_input))
            elif transform_input and "InputTransformer" not in target:
                whole_event = {key: value for key, value in original_event.items() if key != "ingestion-time"}
                original_send_to_targets(_SingleTargetRule(self, target), whole_event, transform_input=False)
            else:
                original_send_to_targets(_SingleTargetRule(self, target), original_event, transform_input)

    _replace(Rule, "send_to_targets", send_to_targets)


def _patch_sqs_send(ext: LocalCloudExtensions) -> None:
    """SQS SendMessage in constant work per message (localcloud/queues.py says why)."""
    _replace(SQSBackend, "send_message", queues.send_standard_message(vars(SQSBackend)["send_message"]))


def _patch_eventbridge_clock(ext: LocalCloudExtensions) -> None:
    """EventBridge time: moto stamps PutEvents entries (and buses, archives, replays) with the real time via
    `events.models.unix_time`. Here that clock is the virtual one, so every event agrees on the time."""
    original_unix_time = vars(events_models)["unix_time"]

    def unix_time(moment: datetime | None = None) -> float:
        return float(original_unix_time(moment)) if moment is not None else ext.clock.now().timestamp()

    _replace(events_models, "unix_time", unix_time)


def _put_service_event(
    ext: LocalCloudExtensions,
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
    moment = ext.clock.now().timestamp()  # moto keeps event times as epoch seconds
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
    default_bus: EventBus | None = events_backends[account_id][region_name].event_buses.get("default")
    if default_bus is None:
        return
    for rule in list(default_bus.rules.values()):
        try:
            rule.send_to_targets(event, transform_input=True)
        except Exception:
            _log.exception("Delivering %s %r to rule %s failed", source, detail_type, rule.arn)


# -- DynamoDB Streams ---------------------------------------------------------------------------------------


def _patch_dynamodb_streams(ext: LocalCloudExtensions) -> None:
    """DynamoDB Streams records: moto's `StreamShard.add` stamps ApproximateCreationDateTime with the real time,
    writes a record for a write that changes nothing, labels every record us-east-1, and delivers the records
    to Lambda event source mappings itself, synchronously inside the write, then forgets them.

    Here a record is stamped with the virtual clock and the table's region; a write that leaves the item as it
    was writes none (DynamoDB Developer Guide, "Change data capture for DynamoDB Streams": a stream record is
    written only if the item was modified); and moto delivers nothing: `localcloud.streams` reads the shard
    in order when the local cloud settles.
    """

    def add(self: dynamodb_table.StreamShard, old: Any, new: Any) -> None:
        if old is not None and new is not None and old.to_json() == new.to_json():
            return
        event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        view_type = self.table.stream_specification["StreamViewType"]  # type: ignore[index]
        sequence_number = len(self.items) + self.starting_sequence_number
        record = dynamodb_table.StreamRecord(self.table, view_type, event_name, old, new, sequence_number)
        record.record["awsRegion"] = self.table.region_name
        record.record["dynamodb"]["ApproximateCreationDateTime"] = _naive_utc(ext.clock.now())
        self.items.append(record)

    _replace(dynamodb_table.StreamShard, "add", add)


def _patch_dynamodb_transaction_rollback(ext: LocalCloudExtensions) -> None:
    """A cancelled TransactWriteItems writes nothing (DynamoDB API Reference, TransactWriteItems), which moto
    achieves by replacing each table with a deep copy taken before the transaction: the table object and its
    stream shard change identity, and `localcloud.streams`, which reads the shard it was given, would never see
    a later write. Here the copy's contents are put back into the original objects instead."""
    from moto.dynamodb.models import DynamoDBBackend  # noqa: PLC0415

    original = DynamoDBBackend.transact_write_items

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        tables = dict(self.tables)
        try:
            original(self, transact_items)
        finally:
            for name, table in tables.items():
                restored = self.tables.get(name)
                if restored is None or restored is table:
                    continue
                shard = table.stream_shard
                table.__dict__.update(restored.__dict__)
                if shard is not None and restored.stream_shard is not None:
                    shard.items[:] = restored.stream_shard.items
                    table.stream_shard = shard
                self.tables[name] = table

    _replace(DynamoDBBackend, "transact_write_items", transact_write_items)


# -- S3 -----------------------------------------------------------------------------------------------------

# moto's event names -> AWS's `detail.reason`.
_S3_REASONS = {
    "s3:ObjectCreated:Put": "PutObject",
    "s3:ObjectCreated:Post": "POST Object",
    "s3:ObjectCreated:Copy": "CopyObject",
    "s3:ObjectCreated:CompleteMultipartUpload": "CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete": "DeleteObject",
    "s3:ObjectRemoved:DeleteMarkerCreated": "DeleteObject",
}


def _s3_event_detail(ext: LocalCloudExtensions, account_id: str, bucket: Any, event_name: str, key: Any) -> Any:
    object_detail: dict[str, Any] = {"key": key.name}
    deleted = event_name.startswith("s3:ObjectRemoved")
    if not deleted:
        object_detail["size"] = key.size
        object_detail["etag"] = key.etag.strip('"')
    if bucket.is_versioned and key.version_id not in (None, "null"):
        object_detail["version-id"] = key.version_id
    object_detail["sequencer"] = ext.next_s3_sequencer(account_id, bucket.name)
    detail: dict[str, Any] = {
        "version": "0",
        "bucket": {"name": bucket.name},
        "object": object_detail,
        "request-id": uuid.uuid4().hex[:16].upper(),
        "requester": account_id,
        "source-ip-address": "127.0.0.1",
    }
    if event_name in _S3_REASONS:
        detail["reason"] = _S3_REASONS[event_name]
    if deleted:
        detail["deletion-type"] = (
            "Delete Marker Created" if event_name.endswith("DeleteMarkerCreated") else "Permanently Deleted"
        )
    return detail


def _patch_s3_eventbridge(ext: LocalCloudExtensions) -> None:
    """S3 -> EventBridge: moto's `notifications._send_event_bridge_message` sends a fixed sequencer, `eTag`
    instead of `etag`, `reason` "ObjectCreated" instead of "PutObject"/"CopyObject"/..., a real-time `time`,
    delivers to rules on every bus (AWS uses only the default bus), ignores InputTransformer, swallows
    every error silently, and adds an "Object Tags Added" event to every PutObject/CopyObject (moto stores
    an object's tags, even none, through `put_object_tagging`).

    Here the event is AWS-shaped (see /work/shared/AWS-FACTS.md), timed by the virtual clock, sent to the
    default bus only, "Object Tags Added" comes only from the PutObjectTagging API, and failures are logged
    at ERROR (the S3 request still succeeds, as on AWS). `send_event` looks the function up as a module
    global, so replacing the global is enough.
    """
    tagging_api = threading.local()
    original_put_object_tagging = vars(S3Response)["put_object_tagging"]

    def put_object_tagging(self: S3Response) -> Any:
        tagging_api.active = True
        try:
            return original_put_object_tagging(self)
        finally:
            tagging_api.active = False

    def _send_event_bridge_message(account_id: str, bucket: Any, event_name: str, key: Any) -> None:
        try:
            if key is None:  # moto notifies deletes of keys that did not exist
                return
            if event_name == "s3:ObjectTagging:Put" and not getattr(tagging_api, "active", False):
                return
            _put_service_event(
                ext,
                account_id,
                bucket.region_name,
                source="aws.s3",
                detail_type=s3_notifications._detail_type(event_name),
                resources=[bucket.arn],
                detail=_s3_event_detail(ext, account_id, bucket, event_name, key),
            )
        except Exception:
            _log.exception("S3 EventBridge notification %s for s3://%s failed", event_name, bucket.name)

    _replace(S3Response, "put_object_tagging", put_object_tagging)
    _replace(s3_notifications, "_send_event_bridge_message", _send_event_bridge_message)


# -- SageMaker pipelines ------------------------------------------------------------------------------------


def _naive_utc(moment: datetime) -> datetime:
    """moto's SageMaker models hold naive UTC datetimes."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _failure_reason(execution: FakePipelineExecution) -> str | None:
    """moto annotates the failure reason as always None; the pipeline patch sets it."""
    return cast("str | None", execution.pipeline_execution_failure_reason)


def _put_pipeline_status_event(
    ext: LocalCloudExtensions,
    backend: SageMakerModelBackend,
    pipeline: FakePipeline,
    execution: FakePipelineExecution,
    previous_status: str | None,
) -> None:
    """Emit "SageMaker Model Building Pipeline Execution Status Change" as documented by AWS.

    AWS's documented events carry no failure reason: describe_pipeline_execution has it.
    """
    detail: dict[str, Any] = {
        "pipelineExecutionDisplayName": execution.pipeline_execution_display_name,
        "currentPipelineExecutionStatus": execution.pipeline_execution_status,
    }
    if previous_status is not None:
        detail["previousPipelineExecutionStatus"] = previous_status
    detail["executionStartTime"] = _iso_seconds(execution.start_time.replace(tzinfo=UTC))
    end_time = ext._pipeline_end_times.get(execution.arn)
    if end_time is not None:
        detail["executionEndTime"] = _iso_seconds(end_time)
    if execution.pipeline_execution_description:
        detail["pipelineExecutionDescription"] = execution.pipeline_execution_description
    detail["pipelineArn"] = pipeline.arn
    detail["pipelineExecutionArn"] = execution.arn
    _put_service_event(
        ext,
        backend.account_id,
        backend.region_name,
        source="aws.sagemaker",
        detail_type="SageMaker Model Building Pipeline Execution Status Change",
        resources=[pipeline.arn, execution.arn],
        detail=detail,
    )


def _finish_pipeline_execution(
    ext: LocalCloudExtensions,
    backend: SageMakerModelBackend,
    pipeline: FakePipeline,
    execution: FakePipelineExecution,
    script: PipelineScript,
) -> None:
    if execution.pipeline_execution_status != "Executing":
        return
    ended = ext.clock.now()
    execution.pipeline_execution_status = script.status
    if script.status == "Failed":
        execution.pipeline_execution_failure_reason = script.failure_reason or _DEFAULT_FAILURE_REASON  # type: ignore[assignment]
    execution.last_modified_time = _naive_utc(ended)
    ext._pipeline_end_times[execution.arn] = ended
    _put_pipeline_status_event(ext, backend, pipeline, execution, previous_status="Executing")


def _patch_sagemaker_pipelines(ext: LocalCloudExtensions) -> None:
    """SageMaker pipelines: moto's `start_pipeline_execution` ignores ClientRequestToken (every call creates an
    execution), marks executions Succeeded at once, emits no EventBridge events, and its describe/list
    calls report the failure reason as "" / "None".

    Here a repeated token on the same pipeline returns the first execution's ARN; a new execution starts
    Executing (event emitted, `hooks.on_pipeline_started` called) and ends as its PipelineScript says after
    that many virtual seconds (event emitted); describe/list report the real FailureReason.
    """
    original_start = vars(SageMakerModelBackend)["start_pipeline_execution"]
    original_describe = vars(SageMakerModelBackend)["describe_pipeline_execution"]
    original_list = vars(SageMakerModelBackend)["list_pipeline_executions"]
    starting = threading.Lock()

    def start_pipeline_execution(
        self: SageMakerModelBackend,
        pipeline_name: str,
        pipeline_execution_display_name: str,
        pipeline_parameters: list[dict[str, Any]],
        pipeline_execution_description: str,
        parallelism_configuration: dict[str, int],
        client_request_token: str,
    ) -> dict[str, str]:
        pipeline = get_pipeline_from_name(self.pipelines, pipeline_name)
        with starting:
            if client_request_token:
                for arn, existing in pipeline.pipeline_executions.items():
                    if existing.client_request_token == client_request_token:
                        return {"PipelineExecutionArn": arn}
            response: dict[str, str] = original_start(
                self,
                pipeline_name,
                pipeline_execution_display_name,
                pipeline_parameters,
                pipeline_execution_description,
                parallelism_configuration,
                client_request_token,
            )
        execution_arn = response["PipelineExecutionArn"]
        execution = pipeline.pipeline_executions[execution_arn]
        started = _naive_utc(ext.clock.now())
        execution.creation_time = execution.start_time = execution.last_modified_time = started
        pipeline.last_execution_time = started
        if not execution.pipeline_execution_display_name:
            # moto leaves it None; the execution id keeps the event field populated.
            execution.pipeline_execution_display_name = execution_arn.rsplit("/", 1)[-1]
        execution.pipeline_execution_status = "Executing"
        _put_pipeline_status_event(ext, self, pipeline, execution, previous_status=None)
        script = ext.pipeline_script(pipeline_name)
        ext.clock.call_later(
            script.duration_seconds,
            lambda: _finish_pipeline_execution(ext, self, pipeline, execution, script),
        )
        if ext.hooks.on_pipeline_started is not None:
            ext.hooks.on_pipeline_started(execution_arn)
        return response

    def describe_pipeline_execution(self: SageMakerModelBackend, pipeline_execution_arn: str) -> dict[str, Any]:
        response: dict[str, Any] = original_describe(self, pipeline_execution_arn)
        execution = get_pipeline_execution_from_arn(self.pipelines, pipeline_execution_arn)
        reason = _failure_reason(execution)
        if reason:
            response["FailureReason"] = reason
        else:
            response.pop("FailureReason", None)
        return response

    def list_pipeline_executions(self: SageMakerModelBackend, pipeline_name: str) -> dict[str, Any]:
        response: dict[str, Any] = original_list(self, pipeline_name)
        pipeline = get_pipeline_from_name(self.pipelines, pipeline_name)
        for summary in response["PipelineExecutionSummaries"]:
            reason = _failure_reason(pipeline.pipeline_executions[summary["PipelineExecutionArn"]])
            if reason:
                summary["PipelineExecutionFailureReason"] = reason
            else:
                summary.pop("PipelineExecutionFailureReason", None)
        return response

    _replace(SageMakerModelBackend, "start_pipeline_execution", start_pipeline_execution)
    _replace(SageMakerModelBackend, "describe_pipeline_execution", describe_pipeline_execution)
    _replace(SageMakerModelBackend, "list_pipeline_executions", list_pipeline_executions)


def _patch_sfn_integration_parameters(ext: LocalCloudExtensions) -> None:
    """`arn:aws:states:::states:startExecution`: moto passes the ASL's `StateMachineArn`/`Name`/`Input` to
    boto3 unconverted (its `_normalise_parameters` is a no-op), so every call fails with `States.Runtime`.

    Here they are renamed to the API's members (`stateMachineArn`, ...) from botocore's service model, as
    Step Functions does.
    """
    import botocore.session  # noqa: PLC0415 - only the patch needs it
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: PLC0415
        StateTaskServiceSfn,
    )

    original = StateTaskServiceSfn._normalise_parameters
    service_model = botocore.session.get_session().get_service_model("stepfunctions")

    def _normalise_parameters(
        self: Any,
        parameters: dict[str, Any],
        boto_service_name: str | None = None,
        service_action_name: str | None = None,
    ) -> None:
        original(self, parameters, boto_service_name, service_action_name)
        action = self.resource.api_action
        operation = service_model.operation_model(action[0].upper() + action[1:])
        self._to_boto_request(parameters, operation.input_shape)

    _replace(StateTaskServiceSfn, "_normalise_parameters", _normalise_parameters)


_PATCHES: tuple[Callable[[LocalCloudExtensions], None], ...] = (
    _patch_execution_notifications,
    _patch_wait_states,
    _patch_wait_timestamps,
    _patch_retry_intervals,
    _patch_task_token_callbacks,
    _patch_state_timeouts,
    _patch_lambda_invoke,
    _patch_sdk_error_names,
    _patch_lambda_task_error_names,
    _patch_eventbridge_targets,
    _patch_eventbridge_clock,
    _patch_sqs_send,
    _patch_s3_eventbridge,
    _patch_dynamodb_streams,
    _patch_dynamodb_transaction_rollback,
    _patch_sagemaker_pipelines,
    _patch_sfn_integration_parameters,
)
