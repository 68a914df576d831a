"""Operators' StartExecution on the retrain state machine: bad requests are rejected clearly, repeats are safe."""

import json
from typing import Any

import pytest

from controlplane.naming import pipeline_display_name
from localcloud.cloud import LocalCloud
from localcloud.report import dead_letters, execution_outcomes, ledger_records, pipeline_executions
from localcloud.scenarios import (
    RETRAIN,
    run_execution,
)
from tests.e2e.support import (
    ROOT,
    SUCCEEDED_STATES,
    bus_detail_types,
    failed_invocations,
    records_of,
    sns_events,
)

REJECTED_STATES = ["ReceiveRequest", "Prepare", "RecordRejection", "Rejected"]
DATASET = "datasets/churn/2026-11-27/"


def valid_request(cloud: LocalCloud, **changes: Any) -> dict[str, Any]:
    request = {"model": "churn", "dataset_uri": f"s3://{cloud.data_bucket}/{DATASET}", "reason": "manual: retrain"}
    return {**request, **changes}


def without(request: dict[str, Any], field: str) -> dict[str, Any]:
    return {key: value for key, value in request.items() if key != field}


# Each case: how to build the request, what the cause must contain, the model recorded in the ledger.
INVALID_REQUESTS = {
    "unknown-model": (
        lambda cloud: valid_request(cloud, model="churm"),
        ["Model 'churm' is not configured", "known models: churn, fraud", "Add it under models:"],
        "churm",
    ),
    "http-uri": (
        lambda cloud: valid_request(cloud, dataset_uri="http://example.com/datasets/churn/2026-11-27/"),
        ["dataset_uri", "'http://example.com/datasets/churn/2026-11-27/' is not an S3 URI", "s3://<bucket>/"],
        "churn",
    ),
    "bare-s3-scheme": (
        lambda cloud: valid_request(cloud, dataset_uri="s3://"),
        ["dataset_uri", "'s3://' is not an S3 URI", "write it as s3://<bucket>/"],
        "churn",
    ),
    "missing-reason": (
        lambda cloud: without(valid_request(cloud), "reason"),
        ["reason", "required"],
        "churn",
    ),
    "unknown-field": (
        lambda cloud: valid_request(cloud, colour="red"),
        ["colour", "unknown field; fix: remove it"],
        "churn",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_REQUESTS))
def test_invalid_manual_request_is_rejected_with_what_to_fix(cloud: LocalCloud, case: str) -> None:
    build, cause_fragments, ledger_model = INVALID_REQUESTS[case]
    request = build(cloud)
    run_execution(cloud, RETRAIN, f"manual-{case}", request)

    outcome = execution_outcomes(cloud)[f"manual-{case}"]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "InvalidRequest"
    assert outcome["states"] == REJECTED_STATES
    for fragment in cause_fragments:
        assert fragment in outcome["cause"]
    [rejected] = ledger_records(cloud)
    assert rejected["kind"] == "RequestRejected"
    assert rejected["status"] == "Rejected"
    assert rejected["model"] == ledger_model
    assert rejected["reason"] == outcome["cause"]
    assert json.loads(rejected["details"]["request"]) == request
    assert pipeline_executions(cloud) == []
    assert sns_events(cloud) == ["Training Request Rejected"]
    assert bus_detail_types(cloud) == ["Training Request Rejected"]
    assert not any(dead_letters(cloud).values())


def test_manual_request_that_is_not_an_object_is_rejected(cloud: LocalCloud) -> None:
    request = [valid_request(cloud)]
    run_execution(cloud, RETRAIN, "manual-list", request)

    outcome = execution_outcomes(cloud)["manual-list"]
    assert outcome["status"] == "FAILED"
    assert outcome["error"] == "InvalidRequest"
    assert "expected a JSON object" in outcome["cause"]
    assert [record["kind"] for record in ledger_records(cloud)] == ["RequestRejected"]
    assert pipeline_executions(cloud) == []
    assert sns_events(cloud) == ["Training Request Rejected"]


def test_repeated_manual_request_reuses_the_pipeline_execution(cloud: LocalCloud) -> None:
    request = json.loads((ROOT / "events" / "manual-retrain.json").read_text(encoding="utf-8"))
    assert request["run_key"] == "feature-fix-1"
    assert request["dataset_uri"] == f"s3://{cloud.data_bucket}/{DATASET}"
    run_execution(cloud, RETRAIN, "manual-first", request)
    run_execution(cloud, RETRAIN, "manual-again", request)  # a new execution name, the same run (same run_key)

    [run] = pipeline_executions(cloud)
    assert run["status"] == "Succeeded"
    assert run["display_name"] == pipeline_display_name("churn", request["dataset_uri"], "feature-fix-1")
    outcomes = execution_outcomes(cloud)
    assert set(outcomes) == {"manual-first", "manual-again"}
    # The second execution gets the first pipeline execution back (same ClientRequestToken), sees that another
    # execution owns that run, records the duplicate and ends quietly.
    assert outcomes["manual-first"]["status"] == outcomes["manual-again"]["status"] == "SUCCEEDED"
    assert outcomes["manual-first"]["states"] == SUCCEEDED_STATES
    assert outcomes["manual-again"]["states"][-3:] == ["RecordStarted", "AlreadyRunning?", "SameRunAsAnother"]
    records = ledger_records(cloud)
    assert {record.get("pipeline_execution_arn") for record in records} == {run["arn"]}
    assert sorted(record["kind"] for record in records) == ["DuplicateRequest", "TrainingStarted", "TrainingSucceeded"]
    (duplicate,) = records_of(cloud, "DuplicateRequest")
    assert duplicate["execution_arn"].endswith(":manual-again")
    assert "manual-first" in duplicate["reason"]
    assert failed_invocations(cloud) == []
    assert not any(dead_letters(cloud).values())


def test_repeated_manual_request_does_not_announce_a_second_training(cloud: LocalCloud) -> None:
    request = valid_request(cloud, run_key="feature-fix-1")
    run_execution(cloud, RETRAIN, "manual-first", request)
    run_execution(cloud, RETRAIN, "manual-again", request)

    assert len(pipeline_executions(cloud)) == 1
    assert [record["kind"] for record in records_of(cloud, "TrainingStarted")] == ["TrainingStarted"]
    assert sns_events(cloud).count("Training Started") == 1
