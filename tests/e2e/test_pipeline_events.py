"""SageMaker pipeline status events end to end: duplicates, stale and foreign events, failures and timeouts."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from controlplane.naming import retrain_execution_name
from localcloud.cloud import ACCOUNT_ID, REGION, LocalCloud, TimelineEntry
from localcloud.report import dead_letters, execution_outcomes, ledger_records, pipeline_executions
from localcloud.scenarios import train_dataset
from tests.e2e.support import (
    NO_DEAD_LETTERS,
    bus_detail_types,
    entries,
    failed_invocations,
    invocations,
    ledger_kinds,
    ledger_time,
    marker_model,
    pipeline_started_at,
    pipeline_status_event,
    records_of,
    sns_events,
    sns_messages,
)


def responses(handled: list[TimelineEntry]) -> list[tuple[str, str]]:
    """(action, reason) of PipelineEventsFunction invocations."""
    return [(entry.data["response"]["action"], entry.data["response"]["reason"]) for entry in handled]


def ignored_because(phrase: str, handled: list[TimelineEntry]) -> bool:
    """Every invocation ignored its event for a reason containing `phrase` (the key words, not the whole text)."""
    return all(action == "ignored" and phrase in reason for action, reason in responses(handled))


def train_churn_dataset(cloud: LocalCloud, dataset: str = "2026-11-27") -> dict[str, Any]:
    train_dataset(cloud, f"datasets/churn/{dataset}/")
    return pipeline_executions(cloud)[-1]


def snapshot(cloud: LocalCloud) -> tuple[Any, ...]:
    """Everything a status event could change."""
    return (
        ledger_records(cloud),
        {name: outcome["status"] for name, outcome in execution_outcomes(cloud).items()},
        [(run["arn"], run["status"]) for run in pipeline_executions(cloud)],
        sns_events(cloud),
        bus_detail_types(cloud),
    )


def test_duplicate_terminal_status_events_change_nothing(cloud: LocalCloud) -> None:
    run = train_churn_dataset(cloud)
    assert run["status"] == "Succeeded"
    before = snapshot(cloud)
    mark = len(cloud.timeline)

    duplicate = pipeline_status_event(run["arn"], "Succeeded", display_name=run["display_name"])
    assert cloud.put_event(duplicate) == 1
    assert cloud.put_event(duplicate) == 1  # the very same event delivered twice
    cloud.settle()

    handled = invocations(cloud, "PipelineEventsFunction", since=mark)
    assert len(handled) == 2
    assert ignored_because("no longer waiting (already resumed or ended)", handled), responses(handled)
    assert [entry.data["error"] for entry in handled] == [None, None]
    assert snapshot(cloud) == before
    assert ledger_kinds(cloud)["TrainingSucceeded"] == 1
    assert dead_letters(cloud) == NO_DEAD_LETTERS


def test_executing_event_after_succeeded_changes_nothing(cloud: LocalCloud) -> None:
    run = train_churn_dataset(cloud)
    before = snapshot(cloud)
    mark = len(cloud.timeline)

    stale = pipeline_status_event(run["arn"], "Executing", previous_status=None, display_name=run["display_name"])
    assert cloud.put_event(stale) == 0  # the pipeline-status rule only listens for terminal statuses
    cloud.settle()

    assert cloud.timeline[mark:] == []
    assert snapshot(cloud) == before
    assert dead_letters(cloud) == NO_DEAD_LETTERS


def test_terminal_event_of_an_unknown_pipeline_execution_is_ignored(cloud: LocalCloud) -> None:
    unknown = f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:pipeline/churn-training/execution/notstartedbyus"
    for status in ("Succeeded", "Stopped", "Failed"):
        assert cloud.put_event(pipeline_status_event(unknown, status)) == 1
    cloud.settle()

    handled = invocations(cloud, "PipelineEventsFunction")
    assert len(handled) == 3
    assert ignored_because("not started by the control plane", handled), responses(handled)
    assert failed_invocations(cloud) == []
    assert ledger_records(cloud) == []
    assert execution_outcomes(cloud) == {}
    assert dead_letters(cloud) == NO_DEAD_LETTERS


def test_failed_run_of_another_teams_pipeline_is_ignored(cloud: LocalCloud) -> None:
    sagemaker = cloud.client("sagemaker")
    sagemaker.create_pipeline(
        PipelineName="other-team-training",
        PipelineDefinition='{"Version": "2020-12-01", "Parameters": [], "Steps": []}',
        RoleArn=cloud.role_arn,
    )
    cloud.extensions.pipelines.set_pipeline_outcome(
        "other-team-training", status="Failed", duration_seconds=60, failure_reason="OOM"
    )
    sagemaker.start_pipeline_execution(PipelineName="other-team-training", ClientRequestToken="other-team-" + "0" * 32)
    cloud.settle()

    [run] = pipeline_executions(cloud)
    assert run["status"] == "Failed"
    handled = invocations(cloud, "PipelineEventsFunction")
    assert len(handled) == 1
    assert ignored_because("not started by the control plane", handled), responses(handled)
    assert failed_invocations(cloud) == []
    assert ledger_records(cloud) == []
    assert sns_events(cloud) == []
    assert dead_letters(cloud) == NO_DEAD_LETTERS


def test_failed_pipeline_fails_the_workflow_with_the_reason(cloud: LocalCloud) -> None:
    reason = "AlgorithmError: loss diverged at epoch 3"
    cloud.extensions.pipelines.set_pipeline_outcome(
        "churn-training", status="Failed", duration_seconds=300, failure_reason=reason
    )
    run = train_churn_dataset(cloud, "2026-11-28")

    assert run["status"] == "Failed"
    described = cloud.client("sagemaker").describe_pipeline_execution(PipelineExecutionArn=run["arn"])
    assert described["FailureReason"] == reason
    [outcome] = execution_outcomes(cloud).values()
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "TrainingFailed"
    assert outcome["cause"] == reason
    assert outcome["states"][-3:] == ["RecordOutcome", "TrainingSucceeded?", "TrainingFailed"]
    assert ledger_kinds(cloud) == {"TrainingRequested": 1, "TrainingStarted": 1, "TrainingFailed": 1}
    [failed] = records_of(cloud, "TrainingFailed")
    assert failed["reason"] == reason
    assert failed["status"] == "Failed"
    assert failed["pipeline_execution_arn"] == run["arn"]
    assert ledger_time(failed) - ledger_time(records_of(cloud, "TrainingStarted")[0]) == timedelta(seconds=300)
    assert sns_events(cloud) == ["Training Started", "Training Failed"]
    assert sns_messages(cloud)[-1]["reason"] == reason
    assert bus_detail_types(cloud) == ["Training Started", "Training Failed"]
    assert dead_letters(cloud) == NO_DEAD_LETTERS


def test_pipeline_slower_than_its_timeout_times_out_and_keeps_the_slot_until_the_pipeline_ends(
    cloud_with_models: Callable[[list[dict[str, Any]]], LocalCloud],
) -> None:
    cloud = cloud_with_models([marker_model(concurrency="queue", timeout_seconds=600, queue_poll_seconds=60)])
    # Slower than the workflow's timeout, within the slot's lease (the timeout plus an hour).
    cloud.extensions.pipelines.set_pipeline_outcome("churn-training", duration_seconds=2000)
    cloud.put_object("datasets/churn/slow/_SUCCESS", b"")
    cloud.advance(700)

    [slow] = execution_outcomes(cloud).values()
    assert slow["status"] == "FAILED"
    assert slow["error"] == "TrainingFailed"
    assert slow["cause"] == "pipeline did not finish in time"
    assert slow["states"][-4:] == ["WaitForPipeline", "RecordOutcome", "TrainingSucceeded?", "TrainingFailed"]
    [timed_out] = records_of(cloud, "TrainingTimedOut")
    assert timed_out["status"] == "TimedOut"
    [started] = records_of(cloud, "TrainingStarted")
    assert ledger_time(timed_out) - ledger_time(started) == timedelta(seconds=600)
    assert sns_events(cloud) == ["Training Started", "Training Failed"]

    # The slow pipeline still runs: the next dataset of the same model waits for it to end, never beside it.
    cloud.extensions.pipelines.set_pipeline_outcome("churn-training", duration_seconds=300)
    cloud.put_object("datasets/churn/next/_SUCCESS", b"")
    cloud.settle()

    starts = sorted(pipeline_started_at(cloud).values())
    assert len(starts) == 2
    slow_ended_at = starts[0] + timedelta(seconds=2000)
    assert slow_ended_at <= starts[1] <= slow_ended_at + timedelta(seconds=60)  # the next queue poll
    [late_end] = records_of(cloud, "TrainingSucceeded")[:1]
    assert late_end["reason"] == "pipeline execution succeeded after its workflow stopped waiting"
    statuses = {name: outcome["status"] for name, outcome in execution_outcomes(cloud).items()}
    bucket = cloud.data_bucket
    assert statuses == {
        retrain_execution_name("churn", f"s3://{bucket}/datasets/churn/slow/"): "FAILED",
        retrain_execution_name("churn", f"s3://{bucket}/datasets/churn/next/"): "SUCCEEDED",
    }
    # The slow pipeline's late Succeeded event finds no waiting workflow: it frees the slot and records the end.
    late = invocations(cloud, "PipelineEventsFunction")[0]
    assert responses([late]) == [("recorded", "workflow no longer waiting: slot freed, end recorded")]
    assert ledger_kinds(cloud) == {
        "TrainingRequested": 2,
        "TrainingStarted": 2,
        "TrainingTimedOut": 1,
        "TrainingSucceeded": 2,
    }
    assert failed_invocations(cloud) == []
    assert dead_letters(cloud) == NO_DEAD_LETTERS
    assert entries(cloud, "dlq") == []
