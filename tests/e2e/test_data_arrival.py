"""Data arrival end to end: S3 -> EventBridge -> SQS -> ingress -> retrain workflow -> SageMaker -> outcome."""

import json
from datetime import timedelta

from controlplane.naming import pipeline_display_name, retrain_execution_name
from localcloud.cloud import LocalCloud
from localcloud.report import dead_letters, execution_outcomes, ledger_records, pipeline_executions
from localcloud.scenarios import upload_dataset
from tests.e2e.support import (
    NO_DEAD_LETTERS,
    ROOT,
    SUCCEEDED_STATES,
    bus_detail_types,
    captured_s3_event,
    entries,
    failed_invocations,
    invocations,
    ledger_kinds,
    log_lines,
    pipeline_started_at,
    records_of,
    s3_object_created_event,
    s3_put_times,
    sns_events,
    sns_messages,
)

CHURN_DATASET = "datasets/churn/2026-11-27/"
DATA_EVENTS_MAX_RECEIVE_COUNT = 5  # template.yaml, DataEventsQueue RedrivePolicy


def test_marker_mode_trains_a_complete_dataset_once(cloud: LocalCloud) -> None:
    upload_dataset(cloud, CHURN_DATASET, parts=4)
    cloud.settle()

    dataset_uri = f"s3://{cloud.data_bucket}/{CHURN_DATASET}"
    [run] = pipeline_executions(cloud)
    assert run["pipeline"] == "churn-training"
    assert run["status"] == "Succeeded"
    assert run["display_name"] == pipeline_display_name("churn", dataset_uri)
    assert run["display_name"].startswith("churn-datasets-churn-2026-11-27-")
    sagemaker = cloud.client("sagemaker")
    parameters = sagemaker.list_pipeline_parameters_for_execution(PipelineExecutionArn=run["arn"])
    assert parameters["PipelineParameters"] == [
        {"Name": "InputDataUri", "Value": dataset_uri},
        {"Name": "DatasetId", "Value": "2026-11-27"},
    ]
    described = sagemaker.describe_pipeline_execution(PipelineExecutionArn=run["arn"])
    assert described["PipelineExecutionDescription"] == "completion marker '_SUCCESS' arrived"

    execution_name = retrain_execution_name("churn", dataset_uri)
    outcomes = execution_outcomes(cloud)
    assert list(outcomes) == [execution_name]
    assert outcomes[execution_name]["status"] == "SUCCEEDED"
    assert outcomes[execution_name]["states"] == SUCCEEDED_STATES

    assert ledger_kinds(cloud) == {"TrainingRequested": 1, "TrainingStarted": 1, "TrainingSucceeded": 1}
    [requested] = records_of(cloud, "TrainingRequested")
    assert requested["dataset_uri"] == dataset_uri
    assert requested["details"] == {"key": CHURN_DATASET + "_SUCCESS"}
    assert requested["event_id"] == captured_s3_event(cloud, CHURN_DATASET + "_SUCCESS")["id"]
    [started] = records_of(cloud, "TrainingStarted")
    [succeeded] = records_of(cloud, "TrainingSucceeded")
    assert started["pipeline_execution_arn"] == succeeded["pipeline_execution_arn"] == run["arn"]
    assert succeeded["status"] == "Succeeded"
    assert started["execution_arn"].endswith(f":{execution_name}")

    assert sns_events(cloud) == ["Training Started", "Training Succeeded"]
    assert {message["pipeline_execution_arn"] for message in sns_messages(cloud)} == {run["arn"]}
    assert bus_detail_types(cloud) == ["Training Started", "Training Succeeded"]
    assert dead_letters(cloud) == NO_DEAD_LETTERS
    assert failed_invocations(cloud) == []


def test_duplicate_and_repeated_markers_start_nothing_new(cloud: LocalCloud) -> None:
    upload_dataset(cloud, CHURN_DATASET, parts=4)
    cloud.settle(fire_timers=False)  # the workflow now waits for its pipeline
    marker_event = captured_s3_event(cloud, CHURN_DATASET + "_SUCCESS")

    assert cloud.put_event(marker_event) == 1  # EventBridge's at-least-once delivery, while training
    cloud.put_object(CHURN_DATASET + "_SUCCESS", b"")  # the producer uploads the marker again
    cloud.put_object(CHURN_DATASET + "manifest.json", b"{}")  # and the second marker name
    cloud.settle()
    assert cloud.put_event(marker_event) == 1  # and once more after training ended
    cloud.put_object(CHURN_DATASET + "manifest.json", b"{}")
    cloud.settle()

    assert len(pipeline_executions(cloud)) == 1
    assert [outcome["status"] for outcome in execution_outcomes(cloud).values()] == ["SUCCEEDED"]
    assert ledger_kinds(cloud) == {"TrainingRequested": 1, "TrainingStarted": 1, "TrainingSucceeded": 1}
    decisions = [line["message"] for line in log_lines(cloud, "DataIngressFunction", "Retrain workflow")]
    assert decisions == ["Retrain workflow started"] + ["Retrain workflow already started"] * 5
    assert sns_events(cloud) == ["Training Started", "Training Succeeded"]
    assert dead_letters(cloud) == NO_DEAD_LETTERS


def test_quiet_period_trains_once_after_the_last_object(cloud: LocalCloud) -> None:
    # fraud: a dataset is a day (datasets/fraud/YYYY/MM/DD/), trained 300 s after its last object.
    for minute in range(11):
        cloud.put_object(f"datasets/fraud/2026/11/27/events-{minute:03d}.json", b'{"amount": 1}')
        if minute < 10:
            cloud.advance(60)
    last_object_at = s3_put_times(cloud, "datasets/fraud/")[-1]
    assert last_object_at - s3_put_times(cloud, "datasets/fraud/")[0] == timedelta(minutes=10)
    cloud.advance(4 * 60)
    assert pipeline_executions(cloud) == []  # 240 s of quiet is not enough
    cloud.advance(3600)

    [run] = pipeline_executions(cloud)
    assert run["pipeline"] == "fraud-training"
    assert run["status"] == "Succeeded"
    [started_at] = pipeline_started_at(cloud).values()
    assert started_at - last_object_at >= timedelta(seconds=300)
    assert started_at - last_object_at < timedelta(seconds=300 + 60)
    [outcome] = execution_outcomes(cloud).values()
    assert outcome["status"] == "SUCCEEDED"
    assert outcome["states"][:4] == ["ReceiveRequest", "Prepare", "QuietPeriodNeeded?", "CheckQuietPeriod"]
    assert "WaitForQuietPeriod" in outcome["states"]
    assert ledger_kinds(cloud) == {"TrainingRequested": 1, "TrainingStarted": 1, "TrainingSucceeded": 1}
    recorded = log_lines(cloud, "DataIngressFunction", "Objects recorded")
    assert [line["object_count"] for line in recorded] == list(range(1, 12))  # a batch per object: one write each
    assert dead_letters(cloud) == NO_DEAD_LETTERS


# 400 objects and their marker, queued before the ingress polls: one batch (BatchSize 1,000).
BULK_OBJECTS = 400


def test_bulk_upload_with_marker_trains_once(cloud: LocalCloud) -> None:
    s3 = cloud.client("s3")  # one client: LocalCloud.put_object builds a new one per object
    for part in range(BULK_OBJECTS):
        s3.put_object(Bucket=cloud.data_bucket, Key=f"{CHURN_DATASET}part-{part:05d}.parquet", Body=b"rows")
    cloud.put_object(CHURN_DATASET + "_SUCCESS", b"")
    cloud.settle()

    [run] = pipeline_executions(cloud)
    assert run["status"] == "Succeeded"
    [outcome] = execution_outcomes(cloud).values()
    assert outcome["status"] == "SUCCEEDED"
    assert ledger_kinds(cloud) == {"TrainingRequested": 1, "TrainingStarted": 1, "TrainingSucceeded": 1}
    batches = invocations(cloud, "DataIngressFunction")
    assert sum(len(entry.data["logs"]) for entry in batches) >= BULK_OBJECTS + 1
    assert [int(entry.text.split(" invoked with ")[1].split()[0]) for entry in batches] == [BULK_OBJECTS + 1]
    assert dead_letters(cloud) == NO_DEAD_LETTERS


def test_an_ingress_batch_of_100_reports_no_failed_items(cloud: LocalCloud) -> None:
    s3 = cloud.client("s3")
    for part in range(100):
        s3.put_object(Bucket=cloud.data_bucket, Key=f"{CHURN_DATASET}part-{part:05d}.parquet", Body=b"rows")
    cloud.settle()

    assert [len(entry.data["logs"]) for entry in invocations(cloud, "DataIngressFunction")] == [100]
    assert failed_invocations(cloud) == []


def test_objects_that_are_not_datasets_start_nothing(cloud: LocalCloud) -> None:
    ignored = {
        "exports/dashboard.csv": "outside every configured data_trigger.prefix",
        "datasets/unknown-model/2026-11-27/_SUCCESS": "outside every configured data_trigger.prefix",
        "datasets/churn/2026-11-27/": "folder placeholder",
        "datasets/fraud/2026/11/27/": "folder placeholder",
        "controlplane/reports/summary.json": "the control plane's own output",
        "controlplane/datasets/churn/2026-11-27/_SUCCESS": "the control plane's own output",
        "datasets/churn/README.txt": "not inside a dataset folder",
        "datasets/churn/_SUCCESS": "not inside a dataset folder",
        "datasets/fraud/latest/events.json": "not inside a dataset folder",
        "datasets/churn/2026-11-27/part-0000.parquet": "is data, not a completion marker",
    }
    for key in ignored:
        cloud.put_object(key, b"" if key.endswith("/") else b"x")
    other_bucket = "someone-elses-bucket"
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket=other_bucket)
    s3.put_bucket_notification_configuration(
        Bucket=other_bucket, NotificationConfiguration={"EventBridgeConfiguration": {}}
    )
    cloud.put_object("datasets/churn/2026-11-27/_SUCCESS", b"", bucket=other_bucket)
    cloud.settle()

    reasons = {line["key"]: line["reason"] for line in log_lines(cloud, "DataIngressFunction", "Object ignored")}
    assert set(reasons) == set(ignored)  # the other bucket's marker never reached the ingress
    for key, why in ignored.items():
        assert why in reasons[key], key
    assert execution_outcomes(cloud) == {}
    assert pipeline_executions(cloud) == []
    assert ledger_records(cloud) == []
    assert sns_events(cloud) == []
    assert dead_letters(cloud) == NO_DEAD_LETTERS
    assert failed_invocations(cloud) == []


def test_malformed_s3_event_is_retried_then_dead_lettered(cloud: LocalCloud) -> None:
    malformed = s3_object_created_event(cloud.data_bucket, key=None)
    assert cloud.put_event(malformed) == 1
    cloud.settle()

    attempts = invocations(cloud, "DataIngressFunction")
    assert len(attempts) == DATA_EVENTS_MAX_RECEIVE_COUNT
    assert all(entry.data["error"]["errorType"] == "BatchFailed" for entry in attempts)
    rejections = log_lines(cloud, "DataIngressFunction", "Event rejected")
    assert len(rejections) == DATA_EVENTS_MAX_RECEIVE_COUNT
    assert {line["level"] for line in rejections} == {"WARNING"}
    assert {line["reason"] for line in rejections} == {
        "Invalid S3 Object Created event: detail.object: Field required; fix: add it"
    }
    assert dead_letters(cloud) == {**NO_DEAD_LETTERS, "DataEventsDeadLetterQueue": 1}
    queue_url = cloud.physical["DataEventsDeadLetterQueue"]["QueueUrl"]
    [letter] = cloud.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert json.loads(letter["Body"])["id"] == malformed["id"]
    assert execution_outcomes(cloud) == {}
    assert ledger_records(cloud) == []


def test_aws_shaped_marker_event_file_trains_once(cloud: LocalCloud) -> None:
    marker = json.loads((ROOT / "events" / "s3-marker-success.json").read_text(encoding="utf-8"))
    assert marker["time"] == "2026-11-27T09:01:15Z"
    assert cloud.put_event(marker) == 1
    cloud.settle()

    assert len(pipeline_executions(cloud)) == 1
    assert ledger_kinds(cloud) == {"TrainingRequested": 1, "TrainingStarted": 1, "TrainingSucceeded": 1}
    assert entries(cloud, "dlq") == []


def test_dataset_with_a_space_in_its_key_trains_once(cloud: LocalCloud) -> None:
    dataset = "datasets/churn/2026-12-04 rerun/"
    cloud.put_object(dataset + "part-0.parquet", b"rows" * 100)
    cloud.put_object(dataset + "_SUCCESS", b"")
    cloud.settle()

    # The key reached the ingress verbatim (EventBridge does not URL-encode it) and named the dataset.
    assert captured_s3_event(cloud, dataset + "_SUCCESS")["detail"]["object"]["key"] == dataset + "_SUCCESS"
    dataset_uri = f"s3://{cloud.data_bucket}/{dataset}"
    [run] = pipeline_executions(cloud)
    assert run["status"] == "Succeeded"
    assert run["display_name"] == pipeline_display_name("churn", dataset_uri)
    parameters = cloud.client("sagemaker").list_pipeline_parameters_for_execution(PipelineExecutionArn=run["arn"])
    assert parameters["PipelineParameters"] == [
        {"Name": "InputDataUri", "Value": dataset_uri},
        {"Name": "DatasetId", "Value": "2026-12-04 rerun"},
    ]
    assert list(execution_outcomes(cloud)) == [retrain_execution_name("churn", dataset_uri)]
    assert ledger_kinds(cloud) == {"TrainingRequested": 1, "TrainingStarted": 1, "TrainingSucceeded": 1}
    [requested] = records_of(cloud, "TrainingRequested")
    assert requested["dataset_uri"] == dataset_uri
    assert sns_events(cloud) == ["Training Started", "Training Succeeded"]
    assert dead_letters(cloud) == NO_DEAD_LETTERS
    assert failed_invocations(cloud) == []


def test_key_longer_than_s3_allows_is_recorded_as_rejected_not_dead_lettered(cloud: LocalCloud) -> None:
    key = "datasets/churn/2026-12-05/" + "x" * (1025 - len("datasets/churn/2026-12-05/"))
    assert cloud.put_event(s3_object_created_event(cloud.data_bucket, key)) == 1
    cloud.settle()

    [rejection] = log_lines(cloud, "DataIngressFunction", "Object rejected")
    assert rejection["reason"] == "the key is 1025 bytes in UTF-8; S3 keys are at most 1024 bytes"
    [record] = records_of(cloud, "ObjectRejected")
    assert record["reason"] == rejection["reason"]
    assert record["model"] == "churn"
    assert execution_outcomes(cloud) == {}
    assert dead_letters(cloud) == NO_DEAD_LETTERS
    assert failed_invocations(cloud) == []


def test_event_whose_key_is_not_unicode_text_is_dead_lettered_with_the_reason(cloud: LocalCloud) -> None:
    forged = s3_object_created_event(cloud.data_bucket, "datasets/churn/\udc80/_SUCCESS")  # no S3 object has it
    assert cloud.put_event(forged) == 1
    cloud.settle()

    reasons = {line["reason"] for line in log_lines(cloud, "DataIngressFunction", "Event rejected")}
    assert reasons == {"message body escapes a lone UTF-16 surrogate: it is not valid Unicode text"}
    assert dead_letters(cloud) == {**NO_DEAD_LETTERS, "DataEventsDeadLetterQueue": 1}
    assert execution_outcomes(cloud) == {}
