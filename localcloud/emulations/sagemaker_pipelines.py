"""SageMaker pipeline executions that run, end as scripted, and announce each status on EventBridge.

moto's StartPipelineExecution creates an execution that is Succeeded at once and says nothing. Here an execution
starts `Executing`, ends after a virtual duration with the status a test or the demo scripted
(`SageMakerPipelines.set_pipeline_outcome`; Succeeded after 600 s unless scripted), and each transition sends
"SageMaker Model Building Pipeline Execution Status Change", which the control plane reacts to.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

from moto.sagemaker.models import FakePipeline, FakePipelineExecution, SageMakerModelBackend
from moto.sagemaker.utils import get_pipeline_execution_from_arn, get_pipeline_from_name

from localcloud.core import ExtensionRegistry, iso_seconds, naive_utc

__all__ = ["PipelineScript", "PipelineStatus", "SageMakerPipelines", "install"]

PipelineStatus = Literal["Succeeded", "Failed", "Stopped"]

_DEFAULT_FAILURE_REASON = "Pipeline execution failed (outcome scripted by the local cloud)."


@dataclass(frozen=True)
class PipelineScript:
    """How the local cloud ends a SageMaker pipeline execution: final status after a virtual duration.

    The execution goes straight from Executing to the final status (no Stopping step for Stopped).
    """

    status: PipelineStatus = "Succeeded"
    duration_seconds: float = 600.0
    failure_reason: str | None = None


class SageMakerPipelines:
    """The pipeline emulation of one local cloud: its scripts and the end time of each finished execution."""

    def __init__(self, registry: ExtensionRegistry) -> None:
        self.registry = registry
        self._lock = threading.Lock()
        self._scripts: dict[str, PipelineScript] = {}
        self.end_times: dict[str, datetime] = {}

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
            self._scripts[pipeline_name] = PipelineScript(status, duration_seconds, failure_reason)

    def pipeline_script(self, pipeline_name: str) -> PipelineScript:
        with self._lock:
            return self._scripts.get(pipeline_name, PipelineScript())


def install(registry: ExtensionRegistry) -> SageMakerPipelines:
    """Apply this module's patch to moto (undone by `registry.uninstall()`); returns where outcomes are scripted."""
    pipelines = SageMakerPipelines(registry)
    _patch_sagemaker_pipelines(pipelines)
    return pipelines


def _failure_reason(execution: FakePipelineExecution) -> str | None:
    """moto annotates the failure reason as always None; the pipeline patch sets it."""
    return cast("str | None", execution.pipeline_execution_failure_reason)


def _put_pipeline_status_event(
    pipelines: SageMakerPipelines,
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
    detail["executionStartTime"] = iso_seconds(execution.start_time)
    end_time = pipelines.end_times.get(execution.arn)
    if end_time is not None:
        detail["executionEndTime"] = iso_seconds(end_time)
    if execution.pipeline_execution_description:
        detail["pipelineExecutionDescription"] = execution.pipeline_execution_description
    detail["pipelineArn"] = pipeline.arn
    detail["pipelineExecutionArn"] = execution.arn
    pipelines.registry.put_service_event(
        backend.account_id,
        backend.region_name,
        source="aws.sagemaker",
        detail_type="SageMaker Model Building Pipeline Execution Status Change",
        resources=[pipeline.arn, execution.arn],
        detail=detail,
    )


def _finish_pipeline_execution(
    pipelines: SageMakerPipelines,
    backend: SageMakerModelBackend,
    pipeline: FakePipeline,
    execution: FakePipelineExecution,
    script: PipelineScript,
) -> None:
    if execution.pipeline_execution_status != "Executing":
        return
    ended = pipelines.registry.clock.now()
    execution.pipeline_execution_status = script.status
    if script.status == "Failed":
        execution.pipeline_execution_failure_reason = script.failure_reason or _DEFAULT_FAILURE_REASON  # type: ignore[assignment]
    execution.last_modified_time = naive_utc(ended)
    pipelines.end_times[execution.arn] = ended
    _put_pipeline_status_event(pipelines, backend, pipeline, execution, previous_status="Executing")


def _patch_sagemaker_pipelines(pipelines: SageMakerPipelines) -> None:
    """Pipeline executions run for a scripted virtual duration, end as scripted, and send their status events.

    AWS: StartPipelineExecution with a ClientRequestToken already used returns the same execution; an execution
    is Executing until it ends Succeeded, Failed or Stopped, and each change sends "SageMaker Model Building
    Pipeline Execution Status Change" (docs.aws.amazon.com/sagemaker/latest/APIReference/
    API_StartPipelineExecution.html; docs.aws.amazon.com/sagemaker/latest/dg/
    automating-sagemaker-with-eventbridge.html).
    moto gap: `start_pipeline_execution` ignores ClientRequestToken, marks executions Succeeded at once and sends
    no events; describe/list report the failure reason as "" / "None". Here a new execution starts Executing
    (event sent, `hooks.on_pipeline_started` called) and ends as its PipelineScript says after that many virtual
    seconds (event sent); describe/list report the real FailureReason.
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
        started = naive_utc(pipelines.registry.clock.now())
        execution.creation_time = execution.start_time = execution.last_modified_time = started
        pipeline.last_execution_time = started
        if not execution.pipeline_execution_display_name:
            # moto leaves it None; the execution id keeps the event field populated.
            execution.pipeline_execution_display_name = execution_arn.rsplit("/", 1)[-1]
        execution.pipeline_execution_status = "Executing"
        _put_pipeline_status_event(pipelines, self, pipeline, execution, previous_status=None)
        script = pipelines.pipeline_script(pipeline_name)
        pipelines.registry.clock.call_later(
            script.duration_seconds,
            lambda: _finish_pipeline_execution(pipelines, self, pipeline, execution, script),
        )
        if pipelines.registry.hooks.on_pipeline_started is not None:
            pipelines.registry.hooks.on_pipeline_started(execution_arn)
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

    pipelines.registry.replace(SageMakerModelBackend, "start_pipeline_execution", start_pipeline_execution)
    pipelines.registry.replace(SageMakerModelBackend, "describe_pipeline_execution", describe_pipeline_execution)
    pipelines.registry.replace(SageMakerModelBackend, "list_pipeline_executions", list_pipeline_executions)
