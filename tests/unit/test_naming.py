"""Deterministic names: one run identity gives one execution name, one request token and one display name,
each within the limits AWS enforces."""

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controlplane.naming import pipeline_display_name, pipeline_request_token, retrain_execution_name

NAMERS = [retrain_execution_name, pipeline_request_token, pipeline_display_name]

URI = "s3://data-bucket/datasets/fraud/2026/11/27/"
LONGEST_MODEL = "m" + "-a1" * 7 + "b" * 10  # 32 characters, the most the config allows
ODD_URI = "s3://data-bucket/datasets/Ünïcode folder/" + "!?#%&" * 40 + "/" + "x" * 900 + "/日本語 データ/"

EXECUTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
REQUEST_TOKEN = re.compile(r"^[A-Za-z0-9-]{32,128}$")
DISPLAY_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}$")


@pytest.mark.parametrize("namer", NAMERS)
def test_same_run_always_gets_the_same_name(namer):
    assert namer("fraud", URI) == namer("fraud", URI)
    assert namer("fraud", URI, "rerun-1") == namer("fraud", URI, "rerun-1")


@pytest.mark.parametrize("namer", NAMERS)
def test_each_part_of_the_run_identity_changes_the_name(namer):
    names = {
        namer("fraud", URI),
        namer("fraud", URI, "rerun-1"),
        namer("fraud", URI, "rerun-2"),
        namer("churn", URI),
        namer("fraud", "s3://data-bucket/datasets/fraud/2026/11/28/"),
        namer("fraud", "s3://other-bucket/datasets/fraud/2026/11/27/"),
    }

    assert len(names) == 6


@pytest.mark.parametrize("namer", NAMERS)
def test_trailing_slash_does_not_change_the_identity(namer):
    assert namer("fraud", URI.rstrip("/")) == namer("fraud", URI)


@pytest.mark.parametrize("namer", NAMERS)
def test_no_run_key_and_the_default_are_the_same_run(namer):
    assert namer("fraud", URI, None) == namer("fraud", URI)


def test_names_are_readable():
    execution_name = retrain_execution_name("fraud", URI)
    display_name = pipeline_display_name("fraud", URI)

    assert execution_name.startswith("retrain-fraud-")
    assert "-2026-11-27-" in execution_name
    assert display_name.startswith("fraud-datasets-fraud-2026-11-27-")


def test_request_token_is_the_full_run_identity_the_short_names_abbreviate():
    token = pipeline_request_token("fraud", URI)

    assert retrain_execution_name("fraud", URI).endswith(token[:16])
    assert pipeline_display_name("fraud", URI).endswith(token[:12])


def valid_names(model: str, dataset_uri: str, run_key: str | None) -> str:
    """Assert the run's three names are within AWS's limits; return the execution name."""
    execution_name = retrain_execution_name(model, dataset_uri, run_key)
    token = pipeline_request_token(model, dataset_uri, run_key)
    display_name = pipeline_display_name(model, dataset_uri, run_key)
    assert EXECUTION_NAME.match(execution_name), execution_name
    assert REQUEST_TOKEN.match(token), token
    assert DISPLAY_NAME.match(display_name), display_name
    return execution_name


@pytest.mark.parametrize(
    ("model", "dataset_uri", "run_key"),
    [
        pytest.param("fraud", URI, None, id="typical"),
        pytest.param(LONGEST_MODEL, URI, "A" * 32, id="longest-model-and-run-key"),
        pytest.param(LONGEST_MODEL, ODD_URI, None, id="long-odd-uri"),
        pytest.param("churn", "s3://data-bucket/", None, id="bucket-root"),
        pytest.param("churn", "s3://data-bucket/__/--/", None, id="no-alphanumeric-in-key"),
    ],
)
def test_names_stay_within_aws_limits(model, dataset_uri, run_key):
    assert len(LONGEST_MODEL) == 32

    execution_name = valid_names(model, dataset_uri, run_key)

    # The whole model name survives in the execution name, so an operator can filter on it.
    assert execution_name.startswith(f"retrain-{model}-")


def test_long_odd_uri_keeps_its_most_specific_end():
    name = retrain_execution_name("churn", "s3://data-bucket/datasets/churn/" + "y" * 300 + "/batch 42 (final)/")

    assert "-batch-42-final-" in name


@settings(max_examples=200)
@given(
    folder=st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=300),
    run_key=st.none() | st.from_regex(r"[A-Za-z0-9-]{1,32}", fullmatch=True),
)
def test_any_dataset_key_gets_valid_deterministic_names(folder, run_key):
    dataset_uri = f"s3://data-bucket/datasets/churn/{folder}/"

    execution_name = valid_names(LONGEST_MODEL, dataset_uri, run_key)

    assert retrain_execution_name(LONGEST_MODEL, dataset_uri, run_key) == execution_name
