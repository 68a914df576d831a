"""What an S3 object means for training: ignore it, start a run (trigger) or note that data is arriving (touch)."""

import pytest

from controlplane.config import ControlPlaneConfig, parse_config
from controlplane.datasets import Dataset, ObjectDecision, classify_object

BUCKET = "data-bucket"

CONFIG = r"""
version: 1
output_prefixes: [controlplane/]
models:
  - name: churn
    model_package_group: churn-models
    data_trigger:
      prefix: datasets/churn/
      mode: marker
      marker_names: [_SUCCESS, manifest.json]
    pipeline: {name: churn-training}
  - name: fraud
    model_package_group: fraud-models
    data_trigger:
      prefix: datasets/fraud/
      dataset_pattern: '^\d{4}/\d{2}/\d{2}/'
      mode: quiet_period
    pipeline: {name: fraud-training}
  - name: sessions
    model_package_group: sessions-models
    data_trigger:
      prefix: datasets/sessions/
      dataset_depth: 2
      marker_names: [_DONE]
    pipeline: {name: sessions-training}
  - name: clicks
    model_package_group: clicks-models
    data_trigger:
      prefix: datasets/clicks/
      dataset_pattern: '^day=\d{8}/'
    pipeline: {name: clicks-training}
"""


@pytest.fixture(scope="module")
def config() -> ControlPlaneConfig:
    return parse_config(CONFIG, "test-config")


def classify(config: ControlPlaneConfig, key: str, size: int = 1024) -> ObjectDecision:
    return classify_object(config, BUCKET, key, size)


# --- marker mode -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("marker", ["_SUCCESS", "manifest.json"])
def test_marker_completes_the_dataset(config, marker):
    decision = classify(config, f"datasets/churn/2026-11-27/{marker}", size=0)

    assert decision.action == "trigger"
    assert f"'{marker}'" in decision.reason
    assert decision.model is not None
    assert decision.model.name == "churn"
    assert decision.dataset == Dataset("churn", BUCKET, "datasets/churn/2026-11-27/", "2026-11-27")


def test_data_file_in_marker_mode_is_ignored_and_names_the_markers(config):
    decision = classify(config, "datasets/churn/2026-11-27/part-0000.parquet")

    assert decision.action == "ignore"
    assert "not a completion marker" in decision.reason
    assert "_SUCCESS or manifest.json" in decision.reason
    # The dataset is still identified, so the caller can log which dataset the data belongs to.
    assert decision.dataset is not None
    assert decision.dataset.dataset_id == "2026-11-27"


@pytest.mark.parametrize(
    "key",
    [
        "datasets/churn/2026-11-27/logs/_SUCCESS",  # a sub-job finished, not the dataset
        "datasets/churn/2026-11-27/_SUCCESS.tmp",  # a marker name must match exactly
        "datasets/churn/2026-11-27/x_SUCCESS",
    ],
)
def test_only_a_marker_at_the_top_of_the_dataset_triggers(config, key):
    decision = classify(config, key)

    assert decision.action == "ignore"
    assert decision.dataset is not None
    assert decision.dataset.dataset_id == "2026-11-27"


def test_marker_names_are_per_model(config):
    assert classify(config, "datasets/sessions/eu/2026-11-27/_DONE").action == "trigger"
    assert classify(config, "datasets/sessions/eu/2026-11-27/_SUCCESS").action == "ignore"


# --- quiet_period mode -------------------------------------------------------------------------------------


@pytest.mark.parametrize("file_name", ["part-0.csv", "_SUCCESS", "nested/part-1.csv"])
def test_quiet_period_mode_touches_the_dataset_for_every_object(config, file_name):
    decision = classify(config, f"datasets/fraud/2026/11/27/{file_name}")

    assert decision.action == "touch"
    assert decision.model is not None
    assert decision.model.name == "fraud"
    assert decision.dataset == Dataset("fraud", BUCKET, "datasets/fraud/2026/11/27/", "2026/11/27")
    assert "s3://data-bucket/datasets/fraud/2026/11/27/" in decision.reason


# --- objects that are never data ---------------------------------------------------------------------------


def test_folder_placeholder_is_ignored(config):
    decision = classify(config, "datasets/churn/2026-11-27/", size=0)

    assert decision.action == "ignore"
    assert "folder placeholder" in decision.reason
    assert decision.model is None
    assert decision.dataset is None


def test_control_plane_output_is_ignored(config):
    decision = classify(config, "controlplane/runs/churn/2026-11-27/_SUCCESS")

    assert decision.action == "ignore"
    assert "'controlplane/'" in decision.reason
    assert decision.model is None


@pytest.mark.parametrize(
    "key",
    [
        "raw/churn/2026-11-27/_SUCCESS",
        "datasets/churnish/2026-11-27/_SUCCESS",  # shares a stem, not the prefix
        "datasets/_SUCCESS",
        "_SUCCESS",
    ],
)
def test_keys_outside_every_prefix_are_ignored(config, key):
    decision = classify(config, key)

    assert decision.action == "ignore"
    assert "outside every configured data_trigger.prefix" in decision.reason
    assert decision.model is None


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("datasets/churn/_SUCCESS", "1 folder level(s) below 'datasets/churn/'"),
        ("datasets/churn//_SUCCESS", "1 folder level(s) below 'datasets/churn/'"),  # empty folder name
        ("datasets/sessions/eu/_DONE", "2 folder level(s) below 'datasets/sessions/'"),
        ("datasets/fraud/2026/11/part-0.csv", r"dataset_pattern '^\d{4}/\d{2}/\d{2}/'"),
        ("datasets/fraud/latest/part-0.csv", r"dataset_pattern '^\d{4}/\d{2}/\d{2}/'"),
    ],
)
def test_key_without_a_dataset_folder_is_ignored_with_the_expected_layout(config, key, expected):
    decision = classify(config, key)

    assert decision.action == "ignore"
    assert "is not inside a dataset folder" in decision.reason
    assert expected in decision.reason
    assert decision.model is not None
    assert decision.dataset is None


# --- dataset folders ---------------------------------------------------------------------------------------


def test_depth_two_dataset_spans_two_folder_levels(config):
    decision = classify(config, "datasets/sessions/eu/2026-11-27/_DONE")

    assert decision.dataset == Dataset("sessions", BUCKET, "datasets/sessions/eu/2026-11-27/", "eu/2026-11-27")


def test_pattern_dataset_is_the_matched_part_of_the_key(config):
    decision = classify(config, "datasets/clicks/day=20261127/_SUCCESS")

    assert decision.action == "trigger"
    assert decision.dataset is not None
    assert decision.dataset.dataset_id == "day=20261127"
    assert decision.dataset.prefix == "datasets/clicks/day=20261127/"


def test_pattern_that_does_not_end_at_a_folder_never_makes_a_dataset():
    config = parse_config(
        r"""
version: 1
models:
  - name: logs
    model_package_group: logs-models
    data_trigger: {prefix: datasets/logs/, dataset_pattern: '^\d{4}'}
    pipeline: {name: logs-training}
""",
    )

    decision = classify(config, "datasets/logs/2026/_SUCCESS")

    assert decision.action == "ignore"
    assert decision.dataset is None


def test_dataset_uri_is_the_s3_folder():
    dataset = Dataset("fraud", "data-bucket", "datasets/fraud/2026/11/27/", "2026/11/27")

    assert dataset.uri == "s3://data-bucket/datasets/fraud/2026/11/27/"
