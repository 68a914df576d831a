"""The retrain workflow's decisions: each function is one task of statemachines/retrain.asl.json.

The state machine only orchestrates; it branches on the fields these functions compute
(`wait_for_quiet_period`, `settled`, `decision`, `duplicate`, `succeeded`), and hands `record_outcome` what it
needs explicitly: the plan, the pipeline execution (if one started), its reported end and the step failure.
"""

import math
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field

from controlplane import clock
from controlplane.audit import record_and_announce, record_rejected_request
from controlplane.config import ControlPlaneConfig, ModelConfig
from controlplane.errors import InvalidRequest
from controlplane.events.pipelines import PipelineExecutionStatusChange
from controlplane.failures import StepFailure
from controlplane.models import parse_request
from controlplane.naming import pipeline_display_name, pipeline_request_token, training_lineage
from controlplane.observability import logger
from controlplane.ports import (
    TERMINAL_PIPELINE_STATUSES,
    AuditRecord,
    Ledger,
    PipelineDescriber,
    PipelineRun,
    Workflows,
)
from controlplane.requests import RetrainRequest
from controlplane.schema import StrictModel

PIPELINE_PARAMETER_MAX_CHARACTERS = 1024
"""SageMaker's limit on a pipeline parameter value (API reference, "Parameter")."""
# Extra lease on the training slot beyond the pipeline timeout, so a dead workflow frees it eventually.
SLOT_LEASE_MARGIN_SECONDS = 3_600


class PipelineParameter(StrictModel):
    Name: str
    Value: str


class RetrainPlan(StrictModel):
    """Everything the workflow needs after validation, computed once by `prepare`."""

    model: str
    dataset_uri: str
    dataset_id: str
    reason: str
    execution_name: str
    pipeline_name: str
    pipeline_parameters: list[PipelineParameter]
    request_token: str
    display_name: str
    wait_for_quiet_period: bool
    quiet_period_seconds: int
    concurrency: Literal["queue", "skip", "allow"]
    queue_poll_seconds: int
    timeout_seconds: int


def _dataset_id(model: ModelConfig, key_prefix: str) -> str:
    return key_prefix.removeprefix(model.data_trigger.prefix).strip("/") or key_prefix.strip("/")


def prepare(payload: Any, execution_name: str, config: ControlPlaneConfig, data_bucket: str) -> RetrainPlan:
    """Validate a request (from the ingress, a drift response or an operator) and plan the run; InvalidRequest says
    what to fix. Every training passes here, so here the dataset must lie where its model's data may."""
    if not isinstance(payload, dict):
        raise InvalidRequest('Invalid retrain request: expected a JSON object like {"model": ..., "dataset_uri": ...}')
    request = parse_request(RetrainRequest, payload, "retrain request")
    model = config.model(request.model)
    problem = model.dataset_location_problem(request.dataset_uri, data_bucket)
    if problem is not None:
        raise InvalidRequest(problem)
    dataset_id = _dataset_id(model, request.key_prefix)
    values = {
        "model": model.name,
        "dataset_uri": request.dataset_uri,
        "dataset_id": dataset_id,
        "bucket": request.bucket,
        "dataset_prefix": request.key_prefix,
    }
    parameters = [
        PipelineParameter(Name=name, Value=template.format(**values))
        for name, template in model.pipeline.parameters.items()
    ]
    for parameter in parameters:
        if len(parameter.Value) > PIPELINE_PARAMETER_MAX_CHARACTERS:
            raise InvalidRequest(
                f"Pipeline parameter '{parameter.Name}' would be {len(parameter.Value)} characters for this dataset; "
                f"SageMaker takes at most {PIPELINE_PARAMETER_MAX_CHARACTERS}: use a shorter dataset prefix"
            )
    return RetrainPlan(
        model=model.name,
        dataset_uri=request.dataset_uri,
        dataset_id=dataset_id,
        reason=request.reason,
        execution_name=execution_name,
        pipeline_name=model.pipeline.name,
        pipeline_parameters=parameters,
        request_token=pipeline_request_token(model.name, request.dataset_uri, request.run_key),
        display_name=pipeline_display_name(model.name, request.dataset_uri, request.run_key),
        wait_for_quiet_period=request.wait_for_quiet_period,
        quiet_period_seconds=model.data_trigger.quiet_period_seconds,
        concurrency=model.pipeline.concurrency,
        queue_poll_seconds=model.pipeline.queue_poll_seconds,
        timeout_seconds=model.pipeline.timeout_seconds,
    )


class QuietPeriodCheck(StrictModel):
    settled: bool
    wait_seconds: Annotated[int, Field(ge=0)]
    object_count: int


def check_quiet_period(plan: RetrainPlan, ledger: Ledger) -> QuietPeriodCheck:
    """Settled once no object arrived in the dataset for the model's quiet period."""
    state = ledger.get_dataset(plan.model, plan.dataset_uri)
    if state is None:
        return QuietPeriodCheck(settled=True, wait_seconds=0, object_count=0)
    quiet_for = (clock.now() - state.last_object_at).total_seconds()
    remaining = plan.quiet_period_seconds - quiet_for
    if remaining <= 0:
        return QuietPeriodCheck(settled=True, wait_seconds=0, object_count=state.object_count)
    return QuietPeriodCheck(settled=False, wait_seconds=max(1, math.ceil(remaining)), object_count=state.object_count)


class SlotDecision(StrictModel):
    decision: Literal["start", "skip", "wait"]
    wait_seconds: int = 0
    held_by: str | None = None


def acquire_slot(plan: RetrainPlan, ledger: Ledger) -> SlotDecision:
    """Apply the model's concurrency policy while another training of the same model runs."""
    if plan.concurrency == "allow":
        return SlotDecision(decision="start")
    now = clock.now()
    lease_until = now + timedelta(seconds=plan.timeout_seconds + SLOT_LEASE_MARGIN_SECONDS)
    holder = ledger.acquire_pipeline_slot(plan.model, plan.execution_name, now, lease_until)
    if holder is None:
        return SlotDecision(decision="start")
    if plan.concurrency == "skip":
        return SlotDecision(decision="skip", held_by=holder)
    return SlotDecision(decision="wait", wait_seconds=plan.queue_poll_seconds, held_by=holder)


def _audit(plan: RetrainPlan, kind: str, reason: str, **fields: Any) -> AuditRecord:
    return AuditRecord(
        record_id=f"{plan.execution_name}#{kind}",
        kind=kind,
        model=plan.model,
        reason=reason,
        at=clock.now(),
        dataset_uri=plan.dataset_uri,
        lineage=training_lineage(plan.execution_name),
        **fields,
    )


class StartedRun(StrictModel):
    duplicate: bool
    duplicate_of: str | None = None


def record_started(plan: RetrainPlan, pipeline_execution_arn: str, execution_arn: str, ledger: Ledger) -> StartedRun:
    """Record the started pipeline execution; a repeat of a run another execution owns ends quietly."""
    registered = ledger.register_pipeline_run(
        PipelineRun(pipeline_execution_arn, plan.model, plan.dataset_uri, execution_arn, status="Executing")
    )
    if registered.execution_arn != execution_arn:
        if plan.concurrency != "allow":
            ledger.release_pipeline_slot(plan.model, plan.execution_name)
        ledger.record(
            _audit(
                plan,
                "DuplicateRequest",
                f"same training as {registered.execution_arn} (same model, dataset and run key)",
                status=registered.status,
                execution_arn=execution_arn,
                pipeline_execution_arn=pipeline_execution_arn,
            )
        )
        return StartedRun(duplicate=True, duplicate_of=registered.execution_arn)
    record = _audit(
        plan,
        "TrainingStarted",
        plan.reason,
        status="Executing",
        execution_arn=execution_arn,
        pipeline_execution_arn=pipeline_execution_arn,
        details={"pipeline": plan.pipeline_name},
    )
    record_and_announce(record, "Training Started", ledger)
    return StartedRun(duplicate=False)


class PipelineOutcome(StrictModel):
    """What resumes the workflow waiting in WaitForPipeline: the pipeline execution's end."""

    status: str
    failure_reason: str | None = None


def _outcome(run: PipelineRun) -> dict[str, Any]:
    return PipelineOutcome(status=run.status, failure_reason=run.failure_reason).model_dump()


def await_pipeline(task_token: str, pipeline_execution_arn: str, ledger: Ledger, workflows: Workflows) -> None:
    """Park the workflow on the pipeline's end; resume at once if the end was already seen."""
    run = ledger.attach_task_token(pipeline_execution_arn, task_token)
    if run.status in TERMINAL_PIPELINE_STATUSES:
        workflows.resume(task_token, _outcome(run))


class PipelineEventOutcome(StrictModel):
    action: Literal["ignored", "resumed", "recorded"]
    reason: str


def on_pipeline_status(
    event: PipelineExecutionStatusChange, ledger: Ledger, workflows: Workflows, describer: PipelineDescriber
) -> PipelineEventOutcome:
    """Resume the retrain workflow waiting on this pipeline execution, once, on its terminal status; when the
    workflow no longer waits, record the pipeline's end and free the training slot it kept."""
    detail = event.detail
    if detail.current_status not in TERMINAL_PIPELINE_STATUSES:
        return PipelineEventOutcome(action="ignored", reason=f"status {detail.current_status} is not terminal")
    known = ledger.get_pipeline_run(detail.pipeline_execution_arn)
    if known is None:
        return PipelineEventOutcome(action="ignored", reason="pipeline execution not started by the control plane")
    failure_reason = detail.failure_reason
    if detail.current_status == "Failed" and failure_reason is None:
        failure_reason = describer.failure_reason(detail.pipeline_execution_arn)
    run = ledger.complete_pipeline_run(detail.pipeline_execution_arn, detail.current_status, failure_reason)
    if run is None:  # a repeat: what the first delivery may not have finished (a failed resume) is done again
        run = known
        if run.status not in TERMINAL_PIPELINE_STATUSES:
            return PipelineEventOutcome(action="ignored", reason="pipeline execution not complete")
    if run.workflow_ended:
        _record_late_end(run, ledger)
        return PipelineEventOutcome(action="recorded", reason="workflow no longer waiting: slot freed, end recorded")
    if run.task_token is None:
        return PipelineEventOutcome(action="recorded", reason="workflow not waiting yet; it resumes when it does")
    if workflows.resume(run.task_token, _outcome(run)):
        return PipelineEventOutcome(action="resumed", reason="workflow resumed")
    return PipelineEventOutcome(action="ignored", reason="workflow no longer waiting (already resumed or ended)")


def _record_late_end(run: PipelineRun, ledger: Ledger) -> None:
    """The pipeline ended after its workflow stopped waiting (failed or timed out): its slot is free now."""
    execution_name = run.execution_arn.rsplit(":", 1)[-1]
    ledger.release_pipeline_slot(run.model, execution_name)
    reason = run.failure_reason or f"pipeline execution {run.status.lower()} after its workflow stopped waiting"
    record = AuditRecord(
        record_id=f"{execution_name}#PipelineEnded",
        kind=f"Training{run.status}",
        model=run.model,
        reason=reason,
        at=clock.now(),
        dataset_uri=run.dataset_uri,
        status=run.status,
        execution_arn=run.execution_arn,
        pipeline_execution_arn=run.pipeline_execution_arn,
        lineage=training_lineage(run.execution_arn),
    )
    record_and_announce(record, "Training Succeeded" if run.status == "Succeeded" else "Training Failed", ledger)


class TrainingOutcome(StrictModel):
    status: Literal["Succeeded", "Failed", "Stopped", "TimedOut", "StartFailed"]
    succeeded: bool
    reason: str


def conclude(
    pipeline_outcome: PipelineOutcome | None, failure: StepFailure | None, pipeline_started: bool
) -> TrainingOutcome:
    """The run's outcome (pure): the pipeline's reported end, else the step failure the workflow handed over."""
    if pipeline_outcome is not None and pipeline_outcome.status in TERMINAL_PIPELINE_STATUSES:
        ended = pipeline_outcome.status
        reason = pipeline_outcome.failure_reason or f"pipeline execution {ended.lower()}"
        return TrainingOutcome.model_validate({"status": ended, "succeeded": ended == "Succeeded", "reason": reason})
    if failure is None:
        return TrainingOutcome(status="Failed", succeeded=False, reason="workflow ended without a pipeline outcome")
    if failure.error == "States.Timeout":
        return TrainingOutcome(status="TimedOut", succeeded=False, reason="pipeline did not finish in time")
    status: Literal["Failed", "StartFailed"] = "Failed" if pipeline_started else "StartFailed"
    return TrainingOutcome(status=status, succeeded=False, reason=failure.message)


def record_outcome(
    plan: RetrainPlan,
    pipeline_execution_arn: str | None,
    pipeline_outcome: PipelineOutcome | None,
    failure: StepFailure | None,
    execution_arn: str,
    ledger: Ledger,
) -> TrainingOutcome:
    """Record and announce the run's end; free the model's training slot once the pipeline really ended (a
    pipeline still running keeps it until its end is seen, see `on_pipeline_status`)."""
    outcome = conclude(pipeline_outcome, failure, pipeline_started=pipeline_execution_arn is not None)
    pipeline_ended = pipeline_execution_arn is None or (
        pipeline_outcome is not None and pipeline_outcome.status in TERMINAL_PIPELINE_STATUSES
    )
    if pipeline_execution_arn and not pipeline_ended:
        run = ledger.end_workflow_wait(
            PipelineRun(pipeline_execution_arn, plan.model, plan.dataset_uri, execution_arn, status="Executing")
        )
        pipeline_ended = run.status in TERMINAL_PIPELINE_STATUSES
    if plan.concurrency != "allow" and pipeline_ended:
        ledger.release_pipeline_slot(plan.model, plan.execution_name)
    record = _audit(
        plan,
        f"Training{outcome.status}",
        outcome.reason,
        status=outcome.status,
        execution_arn=execution_arn,
        pipeline_execution_arn=pipeline_execution_arn,
    )
    detail_type = "Training Succeeded" if outcome.succeeded else "Training Failed"
    record_and_announce(record, detail_type, ledger)
    logger.info("Training outcome recorded", extra={"model": plan.model, "status": outcome.status})
    return outcome


def record_skipped(plan: RetrainPlan, slot: SlotDecision, execution_arn: str, ledger: Ledger) -> None:
    reason = f"concurrency policy 'skip': training of '{plan.model}' already running ({slot.held_by})"
    record = _audit(plan, "TrainingSkipped", reason, status="Skipped", execution_arn=execution_arn)
    record_and_announce(record, "Training Skipped", ledger)


class Rejection(StrictModel):
    message: str


def record_rejected(
    request: Any, failure: StepFailure, execution_name: str, execution_arn: str, ledger: Ledger
) -> Rejection:
    """Record a request the workflow refused, with the reason an operator needs to fix it."""
    model = request.get("model") if isinstance(request, dict) and isinstance(request.get("model"), str) else None
    message = record_rejected_request(
        request, failure, execution_name, execution_arn, "RequestRejected", "Training Request Rejected",
        model or "(unknown)", ledger,
    )  # fmt: skip
    return Rejection(message=message)
