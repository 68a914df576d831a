"""The per-model concurrency policy end to end: a second dataset arriving while the first one trains."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from controlplane.naming import retrain_execution_name
from localcloud.cloud import LocalCloud
from localcloud.report import dead_letters, execution_outcomes, pipeline_executions
from tests.e2e.support import (
    SUCCEEDED_STATES,
    failed_invocations,
    ledger_kinds,
    ledger_time,
    marker_model,
    pipeline_started_at,
    records_of,
    sns_events,
)

StartCloud = Callable[[list[dict[str, Any]]], LocalCloud]
TRAINING_SECONDS = 600
SECOND_ARRIVES_AFTER = 120


def two_datasets_while_training(cloud: LocalCloud) -> tuple[str, str]:
    """Dataset `first` starts training; `second` completes 120 s later. Returns their execution names."""
    cloud.extensions.pipelines.set_pipeline_outcome("churn-training", duration_seconds=TRAINING_SECONDS)
    cloud.put_object("datasets/churn/first/_SUCCESS", b"")
    cloud.advance(SECOND_ARRIVES_AFTER)
    cloud.put_object("datasets/churn/second/_SUCCESS", b"")
    cloud.settle()
    uri = f"s3://{cloud.data_bucket}/datasets/churn/"
    return retrain_execution_name("churn", uri + "first/"), retrain_execution_name("churn", uri + "second/")


def training_intervals(cloud: LocalCloud) -> dict[str, tuple[datetime, datetime]]:
    """(started, ended) of each pipeline execution, from the ledger, by execution name of its workflow."""
    ends = {
        record["execution_arn"]: ledger_time(record)
        for record in records_of(cloud, "TrainingSucceeded") + records_of(cloud, "TrainingFailed")
    }
    return {
        record["execution_arn"].rsplit(":", 1)[-1]: (ledger_time(record), ends[record["execution_arn"]])
        for record in records_of(cloud, "TrainingStarted")
    }


def test_skip_records_the_second_dataset_and_starts_no_pipeline(cloud_with_models: StartCloud) -> None:
    cloud = cloud_with_models([marker_model(concurrency="skip")])
    first, second = two_datasets_while_training(cloud)

    [run] = pipeline_executions(cloud)
    assert run["display_name"].startswith("churn-datasets-churn-first-")
    outcomes = execution_outcomes(cloud)
    assert outcomes[first]["status"] == "SUCCEEDED"
    assert outcomes[first]["states"] == SUCCEEDED_STATES
    assert outcomes[second]["status"] == "SUCCEEDED"
    assert outcomes[second]["states"] == [
        "ReceiveRequest",
        "Prepare",
        "QuietPeriodNeeded?",
        "AcquireSlot",
        "SlotAcquired?",
        "RecordSkipped",
    ]
    [skipped] = records_of(cloud, "TrainingSkipped")
    assert skipped["execution_arn"].endswith(f":{second}")
    assert skipped["status"] == "Skipped"
    assert "skip" in skipped["reason"]
    assert first in skipped["reason"]  # names the run that holds the slot
    assert ledger_kinds(cloud) == {
        "TrainingRequested": 2,
        "TrainingStarted": 1,
        "TrainingSkipped": 1,
        "TrainingSucceeded": 1,
    }
    assert sns_events(cloud) == ["Training Started", "Training Skipped", "Training Succeeded"]
    assert failed_invocations(cloud) == []
    assert not any(dead_letters(cloud).values())


def test_queue_starts_the_second_dataset_after_the_first_ends(cloud_with_models: StartCloud) -> None:
    cloud = cloud_with_models([marker_model(concurrency="queue", queue_poll_seconds=60)])
    first, second = two_datasets_while_training(cloud)

    runs = pipeline_executions(cloud)
    assert len(runs) == 2
    assert {run["status"] for run in runs} == {"Succeeded"}
    outcomes = execution_outcomes(cloud)
    assert outcomes[first]["states"] == SUCCEEDED_STATES
    assert outcomes[second]["status"] == "SUCCEEDED"
    assert outcomes[second]["states"][:6] == [
        "ReceiveRequest",
        "Prepare",
        "QuietPeriodNeeded?",
        "AcquireSlot",
        "SlotAcquired?",
        "WaitForSlot",
    ]
    assert outcomes[second]["states"][-7:] == SUCCEEDED_STATES[-7:]
    intervals = training_intervals(cloud)
    first_start, first_end = intervals[first]
    second_start, second_end = intervals[second]
    assert first_end - first_start == timedelta(seconds=TRAINING_SECONDS)
    assert first_end <= second_start <= first_end + timedelta(seconds=60)  # at most one poll interval later
    assert second_end - second_start == timedelta(seconds=TRAINING_SECONDS)
    assert sorted(pipeline_started_at(cloud).values()) == [first_start, second_start]
    assert ledger_kinds(cloud) == {"TrainingRequested": 2, "TrainingStarted": 2, "TrainingSucceeded": 2}
    assert failed_invocations(cloud) == []
    assert not any(dead_letters(cloud).values())


def test_allow_trains_both_datasets_at_once(cloud_with_models: StartCloud) -> None:
    cloud = cloud_with_models([marker_model(concurrency="allow")])
    first, second = two_datasets_while_training(cloud)

    assert len(pipeline_executions(cloud)) == 2
    outcomes = execution_outcomes(cloud)
    assert outcomes[first]["states"] == outcomes[second]["states"] == SUCCEEDED_STATES
    intervals = training_intervals(cloud)
    first_start, first_end = intervals[first]
    second_start, second_end = intervals[second]
    assert second_start - first_start == timedelta(seconds=SECOND_ARRIVES_AFTER)
    assert second_start < first_end  # overlapping trainings
    assert second_end - first_end == timedelta(seconds=SECOND_ARRIVES_AFTER)
    assert ledger_kinds(cloud) == {"TrainingRequested": 2, "TrainingStarted": 2, "TrainingSucceeded": 2}
    assert failed_invocations(cloud) == []
    assert not any(dead_letters(cloud).values())
