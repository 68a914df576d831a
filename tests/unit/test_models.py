"""Event and request models: lenient where AWS is inconsistent, strict where a wrong value causes a wrong action."""

import copy
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from controlplane.errors import InvalidRequest
from controlplane.events.pipelines import PipelineExecutionStatusChange
from controlplane.events.s3 import S3ObjectCreated
from controlplane.models import (
    DATASET_URI_MAX_BYTES,
    S3_KEY_MAX_BYTES,
    parse_request,
    s3_key_problem,
    split_s3_uri,
)
from controlplane.requests import RetrainRequest

# Shape documented in "Amazon S3 Event Notifications with EventBridge" (Object Created).
S3_OBJECT_CREATED = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "time": "2026-11-27T10:15:00Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:s3:::data-bucket"],
    "detail": {
        "version": "0",
        "bucket": {"name": "data-bucket"},
        "object": {
            "key": "datasets/churn/2026-11-27/_SUCCESS",
            "size": 0,
            "etag": "d41d8cd98f00b204e9800998ecf8427e",
            "version-id": "IYV3p45BT0ac8hjHg1houSdS1a.Mppk2",
            "sequencer": "00617F08299329D189",
        },
        "request-id": "N4N7GDK58NMKJ12R",
        "requester": "123456789012",
        "source-ip-address": "1.2.3.4",
        "reason": "PutObject",
    },
}

# What moto 5 sends to EventBridge: `eTag`, epoch seconds for `time`, no version id on unversioned buckets.
MOTO_S3_OBJECT_CREATED = {
    "version": "0",
    "id": "17793124-05d4-b198-2fde-7ededc63b103",
    "detail-type": "Object Created",
    "source": "aws.s3",
    "account": "123456789012",
    "time": 1795767300.25,
    "region": "us-east-1",
    "resources": ["arn:aws:s3:::data-bucket"],
    "detail": {
        "version": "0",
        "bucket": {"name": "data-bucket"},
        "object": {
            "key": "datasets/fraud/2026/11/27/part-0.csv",
            "size": 2048,
            "eTag": "0cc175b9c0f1b6a831c399e269772661",
            "version-id": None,
            "sequencer": "617f08299329d189",
        },
        "reason": "ObjectCreated",
    },
}

PIPELINE_EXECUTION_ARN = "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/churn-training/execution/p4jn9xou8a8s"

# Shape documented in "Amazon SageMaker events" (Model Building Pipeline Execution Status Change).
PIPELINE_STATUS_CHANGE = {
    "version": "0",
    "id": "315c1398-40ff-a850-213b-158f73e60175",
    "detail-type": "SageMaker Model Building Pipeline Execution Status Change",
    "source": "aws.sagemaker",
    "account": "123456789012",
    "time": "2026-11-27T12:10:11Z",
    "region": "eu-west-1",
    "resources": ["arn:aws:sagemaker:eu-west-1:123456789012:pipeline/churn-training", PIPELINE_EXECUTION_ARN],
    "detail": {
        "pipelineExecutionDisplayName": "churn-datasets-churn-2026-11-27-5fa6e439ca3a",
        "currentPipelineExecutionStatus": "Succeeded",
        "previousPipelineExecutionStatus": "Executing",
        "executionStartTime": "2026-11-27T11:03:13Z",
        "executionEndTime": "2026-11-27T12:10:10Z",
        "pipelineArn": "arn:aws:sagemaker:eu-west-1:123456789012:pipeline/churn-training",
        "pipelineExecutionArn": PIPELINE_EXECUTION_ARN,
    },
}

VALID_REQUEST = {
    "model": "churn",
    "dataset_uri": "s3://data-bucket/datasets/churn/2026-11-27/",
    "reason": "completion marker '_SUCCESS' arrived",
}


def with_detail(event: dict, **detail: object) -> dict:
    changed = copy.deepcopy(event)
    changed["detail"].update(detail)
    return changed


# --- S3 Object Created -------------------------------------------------------------------------------------


def test_s3_object_created_parses_the_aws_event():
    event = S3ObjectCreated.model_validate(S3_OBJECT_CREATED)

    assert event.detail_type == "Object Created"
    assert event.time == datetime(2026, 11, 27, 10, 15, tzinfo=UTC)
    assert event.detail.bucket.name == "data-bucket"
    assert event.detail.object.key == "datasets/churn/2026-11-27/_SUCCESS"
    assert event.detail.object.size == 0
    assert event.detail.object.etag == "d41d8cd98f00b204e9800998ecf8427e"
    assert event.detail.object.version_id == "IYV3p45BT0ac8hjHg1houSdS1a.Mppk2"
    assert event.detail.reason == "PutObject"


def test_s3_object_created_parses_the_moto_event():
    event = S3ObjectCreated.model_validate(MOTO_S3_OBJECT_CREATED)

    assert event.detail.object.etag == "0cc175b9c0f1b6a831c399e269772661"
    assert event.detail.object.version_id is None
    assert event.detail.object.size == 2048
    assert event.time == datetime(2026, 11, 27, 8, 15, 0, 250_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("field", "value"),
    [("detail-type", "Object Deleted"), ("source", "aws.s3-like"), ("id", "")],
)
def test_s3_object_created_rejects_other_events(field, value):
    event = {**S3_OBJECT_CREATED, field: value}

    with pytest.raises(ValidationError, match=field):
        S3ObjectCreated.model_validate(event)


def test_s3_object_created_requires_a_key():
    event = copy.deepcopy(S3_OBJECT_CREATED)
    del event["detail"]["object"]["key"]

    with pytest.raises(ValidationError, match=r"detail\.object\.key"):
        S3ObjectCreated.model_validate(event)


@pytest.mark.parametrize(
    "key",
    ["datasets/churn/2026-12-04 rerun/_SUCCESS", "datasets/c++/a+b", "datasets/100%20/x%2B", "dt=1/é/データ"],
)
def test_s3_object_created_keeps_the_key_verbatim(key):
    # EventBridge carries the stored key; URL-decoding it would turn '+' into ' ' and '%20' into ' '.
    event = copy.deepcopy(S3_OBJECT_CREATED)
    event["detail"]["object"]["key"] = key

    assert S3ObjectCreated.model_validate(event).detail.object.key == key


# --- SageMaker pipeline status change ----------------------------------------------------------------------


def test_pipeline_status_change_parses_the_aws_event():
    event = PipelineExecutionStatusChange.model_validate(PIPELINE_STATUS_CHANGE)

    assert event.detail.current_status == "Succeeded"
    assert event.detail.previous_status == "Executing"
    assert event.detail.pipeline_execution_arn == PIPELINE_EXECUTION_ARN
    assert event.detail.display_name == "churn-datasets-churn-2026-11-27-5fa6e439ca3a"
    assert event.detail.failure_reason is None


@pytest.mark.parametrize(
    ("sent", "parsed"),
    [("SUCCEEDED", "Succeeded"), ("failed", "Failed"), ("Executing", "Executing"), ("STOPPING", "Stopping")],
)
def test_pipeline_status_casing_is_tolerated(sent, parsed):
    event = PipelineExecutionStatusChange.model_validate(
        with_detail(PIPELINE_STATUS_CHANGE, currentPipelineExecutionStatus=sent)
    )

    assert event.detail.current_status == parsed


@pytest.mark.parametrize("status", ["Completed", "InProgress", ""])
def test_unknown_pipeline_status_is_rejected(status):
    with pytest.raises(ValidationError, match="currentPipelineExecutionStatus"):
        PipelineExecutionStatusChange.model_validate(
            with_detail(PIPELINE_STATUS_CHANGE, currentPipelineExecutionStatus=status)
        )


def test_pipeline_execution_arn_must_be_a_sagemaker_arn():
    with pytest.raises(ValidationError, match="pipelineExecutionArn"):
        PipelineExecutionStatusChange.model_validate(
            with_detail(PIPELINE_STATUS_CHANGE, pipelineExecutionArn="arn:aws:states:eu-west-1:1:execution:x")
        )


def test_failure_reason_is_kept():
    event = PipelineExecutionStatusChange.model_validate(
        with_detail(PIPELINE_STATUS_CHANGE, currentPipelineExecutionStatus="Failed", failureReason="Step Train failed")
    )

    assert event.detail.failure_reason == "Step Train failed"


# --- RetrainRequest ----------------------------------------------------------------------------------------


def test_valid_retrain_request():
    request = RetrainRequest.model_validate({**VALID_REQUEST, "run_key": "rerun-2"})

    assert request.model == "churn"
    assert request.bucket == "data-bucket"
    assert request.key_prefix == "datasets/churn/2026-11-27/"
    assert request.run_key == "rerun-2"
    assert request.wait_for_quiet_period is False


def test_model_name_is_not_checked_against_the_config_here():
    # Whether a model is configured is the config's decision (UnknownModel), not the request model's.
    request = RetrainRequest.model_validate({**VALID_REQUEST, "model": "not-configured-anywhere"})

    assert request.model == "not-configured-anywhere"


@pytest.mark.parametrize(
    "uri",
    [
        "http://x",
        "s3://",
        "s3://UPPER/x",
        "s3://data-bucket",  # no key separator
        "s3://ab/x",  # bucket names have at least 3 characters
        "data-bucket/datasets/churn/",
        " s3://data-bucket/datasets/churn/",
    ],
)
def test_malformed_dataset_uri_is_rejected_with_the_expected_form(uri):
    with pytest.raises(ValidationError, match=r"s3://<bucket>") as raised:
        RetrainRequest.model_validate({**VALID_REQUEST, "dataset_uri": uri})

    assert raised.value.errors()[0]["loc"] == ("dataset_uri",)


ORDINARY_DATA_LAKE_PREFIXES = [
    "datasets/churn/2026-12-04 rerun/",
    "datasets/churn/c++ features/",
    "datasets/churn/100% sample/",
    "datasets/churn/dt=2026-12-04/",
    "datasets/churn/données été/",
    "datasets/churn/データ/",
]


@pytest.mark.parametrize("prefix", ORDINARY_DATA_LAKE_PREFIXES)
def test_any_characters_of_an_s3_key_make_a_dataset_uri(prefix):
    request = RetrainRequest.model_validate({**VALID_REQUEST, "dataset_uri": f"s3://data-bucket/{prefix}"})

    assert (request.bucket, request.key_prefix) == ("data-bucket", prefix)


def test_dataset_uri_at_the_ledger_key_limit_is_accepted_one_byte_more_is_not():
    head = "s3://data-bucket/datasets/churn/"
    at_limit = head + "é" * ((DATASET_URI_MAX_BYTES - len(head) - 1) // 2) + "/"
    at_limit += "x" * (DATASET_URI_MAX_BYTES - len(at_limit.encode()))
    assert len(at_limit.encode()) == DATASET_URI_MAX_BYTES

    assert RetrainRequest.model_validate({**VALID_REQUEST, "dataset_uri": at_limit}).dataset_uri == at_limit
    with pytest.raises(InvalidRequest, match=r"dataset_uri: the dataset URI is 1025 bytes in UTF-8; .* at most 1024"):
        parse_request(RetrainRequest, {**VALID_REQUEST, "dataset_uri": at_limit + "x"}, "retrain request")


def test_dataset_uri_that_is_not_unicode_text_is_rejected():
    with pytest.raises(InvalidRequest, match=r"dataset_uri: the dataset URI is not valid Unicode text"):
        parse_request(RetrainRequest, {**VALID_REQUEST, "dataset_uri": "s3://data-bucket/\ud800/"}, "retrain request")


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("a" * S3_KEY_MAX_BYTES, None),
        ("é" * (S3_KEY_MAX_BYTES // 2), None),
        ("a" * (S3_KEY_MAX_BYTES + 1), "the key is 1025 bytes in UTF-8; S3 keys are at most 1024 bytes"),
        ("é" * 513, "the key is 1026 bytes in UTF-8; S3 keys are at most 1024 bytes"),
        (
            "datasets/\udc80/_SUCCESS",
            "the key is not valid Unicode text (it holds a lone UTF-16 surrogate), so no S3 object has it",
        ),
    ],
)
def test_s3_key_problem_measures_utf8_bytes(key, problem):
    assert s3_key_problem(key) == problem


def test_unknown_field_is_rejected():
    with pytest.raises(InvalidRequest, match=r"datset_uri: unknown field; fix: remove it"):
        parse_request(RetrainRequest, {**VALID_REQUEST, "datset_uri": "s3://data-bucket/x/"}, "retrain request")


@pytest.mark.parametrize("run_key", ["rerun-2", "A", "a" * 32, "2026-11-27T10-15"])
def test_run_key_accepts_letters_digits_and_hyphens(run_key):
    assert RetrainRequest.model_validate({**VALID_REQUEST, "run_key": run_key}).run_key == run_key


@pytest.mark.parametrize("run_key", ["", "a" * 33, "has space", "under_score", "slash/key", "ümlaut"])
def test_run_key_outside_the_pattern_is_rejected(run_key):
    with pytest.raises(ValidationError, match="run_key"):
        RetrainRequest.model_validate({**VALID_REQUEST, "run_key": run_key})


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            {**VALID_REQUEST, "dataset_uri": "http://x"}, "dataset_uri: 'http://x' is not an S3 URI", id="uri"
        ),
        pytest.param({**VALID_REQUEST, "run_key": "a b"}, "run_key: String should match pattern", id="run-key"),
        pytest.param({k: v for k, v in VALID_REQUEST.items() if k != "reason"}, "reason: Field required", id="missing"),
        pytest.param({**VALID_REQUEST, "model": ""}, "model: String should have at least 1 character", id="empty"),
        pytest.param("not a mapping", "(input): Input should be a valid dictionary", id="not-a-dict"),
    ],
)
def test_parse_request_names_the_field(payload, expected):
    with pytest.raises(InvalidRequest) as raised:
        parse_request(RetrainRequest, payload, "retrain request")

    message = str(raised.value)
    assert message.startswith("Invalid retrain request: ")
    assert expected in message
    assert "Value error, " not in message


def test_parse_request_lists_every_problem():
    payload = {"model": "churn", "dataset_uri": "s3://", "extra": 1}

    with pytest.raises(InvalidRequest) as raised:
        parse_request(RetrainRequest, payload, "retrain request")

    problems = str(raised.value).removeprefix("Invalid retrain request: ").split("; ")
    fields = sorted(problem.split(":")[0] for problem in problems if ":" in problem)
    assert {"dataset_uri", "reason", "extra"} <= set(fields)


def test_parse_request_returns_the_model():
    request = parse_request(RetrainRequest, VALID_REQUEST, "retrain request")

    assert request == RetrainRequest(**VALID_REQUEST)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://data-bucket/datasets/churn/2026-11-27/", ("data-bucket", "datasets/churn/2026-11-27/")),
        ("s3://data.bucket-1/", ("data.bucket-1", "")),
    ],
)
def test_split_s3_uri(uri, expected):
    assert split_s3_uri(uri) == expected


def test_split_s3_uri_rejects_a_malformed_uri():
    with pytest.raises(InvalidRequest, match=r"write it as s3://<bucket>/<key>"):
        split_s3_uri("https://data-bucket.s3.amazonaws.com/x")
