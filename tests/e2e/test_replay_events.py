"""The replay's handling of one event, in process: any JSON value gets a line, never an exception."""

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from controlplane.config import load_config
from localcloud.cloud import LocalCloud, epoch_seconds
from localcloud.replay import read_events, replay_event
from tests.e2e.support import ROOT

SAMPLE_EVENTS = [
    event
    for path in sorted((ROOT / "events").glob("*.json"))
    for event in read_events(path)
    if isinstance(event, dict) and "detail-type" in event
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


ENVELOPE_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail")


@st.composite
def damaged_sample_events(draw: st.DrawFn, in_detail: bool) -> dict[str, Any]:
    """A sample event with one field of its envelope (or of its detail) replaced by any JSON value, or removed."""
    event = copy.deepcopy(draw(st.sampled_from(SAMPLE_EVENTS)))
    container = event["detail"] if in_detail else event
    key = draw(st.sampled_from(sorted(container) if in_detail else ENVELOPE_FIELDS))
    if draw(st.integers(0, 3)) == 0:
        container.pop(key, None)
    else:
        container[key] = draw(JSON_VALUES)
    return event


ANY_EVENT = st.one_of(
    JSON_VALUES,
    damaged_sample_events(in_detail=False),
    damaged_sample_events(in_detail=True),
    st.sampled_from(SAMPLE_EVENTS),
)
S3_SAMPLE = next(event for event in SAMPLE_EVENTS if event["detail-type"] == "Object Created")
DRIFT_SAMPLE = next(event for event in SAMPLE_EVENTS if event["detail-type"] == "Drift Detected")


@pytest.fixture(scope="module")
def shared_cloud() -> Iterator[LocalCloud]:
    """One cloud for every example: events accumulate in it as they do in one replay run."""
    with LocalCloud() as local:
        local.seed(load_config())
        yield local


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(event=ANY_EVENT)
@example(event={**S3_SAMPLE, "time": None})
@example(event={**S3_SAMPLE, "time": {"at": 1}})
@example(event={**S3_SAMPLE, "time": "99999999999999999999"})
@example(event={**DRIFT_SAMPLE, "detail-type": "Drift Detectd"})
def test_any_json_value_gets_a_line_and_never_raises(shared_cloud: LocalCloud, event: Any) -> None:
    line, reasons = replay_event(shared_cloud, {"file": "generated.json", "index": 0}, event)

    json.dumps(line)  # the line can be written out
    assert (line["file"], line["index"]) == ("generated.json", 0)
    if "error" in line:
        assert reasons == [line["error"]]
    else:
        assert isinstance(line["matched_rules"], int)
        assert isinstance(line["led_to"], list)
        assert line["rejected"] == bool(reasons)
        if line["matched_rules"] == 0:
            assert "no rule of the control plane matches this event" in reasons[0]


def test_a_misspelt_detail_type_on_the_control_plane_bus_matches_no_rule(shared_cloud: LocalCloud) -> None:
    misspelt = {**DRIFT_SAMPLE, "detail-type": "Drift Detectd"}

    line, reasons = replay_event(shared_cloud, {"file": "f", "index": 0}, misspelt)

    # The local cloud's own observer rule sees the event on the bus; it is not a rule of the control plane.
    assert (line["matched_rules"], line["led_to"], line["rejected"]) == (0, [], True)
    assert reasons == ["no rule of the control plane matches this event (source, detail-type or bucket)"]


@pytest.mark.parametrize(
    ("time", "shown"),
    [
        (None, "null"),
        ({"at": 1}, '{"at": 1}'),
        ("99999999999999999999", '"99999999999999999999"'),
        (1e30, "1e+30"),
        ("10000-01-01T00:00:00Z", '"10000-01-01T00:00:00Z"'),
        (True, "true"),
    ],
)
def test_an_event_whose_time_is_no_time_is_refused_with_the_value(shared_cloud: LocalCloud, time, shown) -> None:
    line, reasons = replay_event(shared_cloud, {"file": "f", "index": 3}, {**S3_SAMPLE, "time": time})

    assert line == {"file": "f", "index": 3, "error": reasons[0]}
    assert reasons == [f"not an EventBridge event: 'time' must be like \"2026-11-27T09:00:00Z\", got {shown}"]


@pytest.mark.parametrize(
    ("time", "seconds"),
    [
        ("2026-11-27T09:00:00Z", 1795770000.0),
        ("2026-11-27T09:00:00.250+00:00", 1795770000.25),
        ("1795770000000", 1795770000.0),  # SageMaker's endpoint events: epoch milliseconds
        (1795770000.5, 1795770000.5),  # moto's own events: epoch seconds
    ],
)
def test_event_times_in_the_shapes_aws_and_moto_write(time, seconds) -> None:
    assert epoch_seconds(time) == seconds


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("", "not JSON (Expecting value at line 1 column 1)"),
        ("[]", "no events (the file holds an empty list)"),
        ("[" * 100_000 + "]" * 100_000, "JSON this tool cannot read (RecursionError"),
        ("1" * 5_000, "JSON this tool cannot read (ValueError"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, content: str, error: str) -> None:
    path = tmp_path / "events.json"
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ValueError, match=re.escape(f"{path}: {error}")):
        read_events(path)


def test_a_file_of_one_value_is_one_event(tmp_path: Path) -> None:
    path = tmp_path / "number.json"
    path.write_text("42", encoding="utf-8")

    assert read_events(path) == [42]
