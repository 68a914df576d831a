"""`python -m localcloud replay FILE...` as an operator runs it: a subprocess, from outside the checkout; the tests of
what it prints for other inputs call the same replay in this process (a subprocess costs seconds of CPU to start)."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from localcloud.replay import replay as run_replay
from tests.e2e.support import ROOT, s3_object_created_event

PYTHON = ROOT / ".venv" / "bin" / "python"
BUCKET = "mlops-local-databucket"  # the local cloud's data bucket (stack mlops-local, logical id DataBucket)


def replay(cwd: Path, *files: Path | str) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    return subprocess.run(
        [str(PYTHON if PYTHON.exists() else sys.executable), "-m", "localcloud", "replay", *map(str, files)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,  # only a hang takes this long (real seconds); a loaded machine is merely slower
        check=False,
    )


def replay_here(cwd: Path, monkeypatch: pytest.MonkeyPatch, *files: Path | str) -> subprocess.CompletedProcess[str]:
    """What `replay(cwd, *files)` returns, run in this process from `cwd` (an exception fails the test outright)."""
    monkeypatch.chdir(cwd)
    out = io.StringIO()
    code = run_replay([str(file) for file in files], out)
    return subprocess.CompletedProcess(["replay", *map(str, files)], code, out.getvalue(), "")


def output_lines(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    lines = result.stdout.splitlines()
    assert lines, result.stderr
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(line, dict) for line in parsed)
    return parsed


def write_json(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def test_replay_trains_once_and_lists_what_it_rejected(tmp_path: Path) -> None:
    dataset = "datasets/churn/2026-12-01/"
    bulk = [s3_object_created_event(BUCKET, f"{dataset}part-{part:04d}.parquet") for part in range(3)]
    marker = s3_object_created_event(BUCKET, dataset + "_SUCCESS")
    bulk += [marker, marker]  # EventBridge delivered the marker twice
    bulk_file = write_json(tmp_path / "churn-bulk.json", bulk)
    not_json = tmp_path / "notes.json"
    not_json.write_text("this is { not JSON", encoding="utf-8")
    not_an_event = write_json(tmp_path / "not-an-event.json", {"hello": "world"})
    unmatched = write_json(
        tmp_path / "ec2.json",
        {
            "version": "0",
            "id": "7c388f46-75fc-4b67-8305-50b957d3c685",
            "detail-type": "EC2 Instance State-change Notification",
            "source": "aws.ec2",
            "account": "123456789012",
            "time": "2026-11-27T09:05:00Z",
            "region": "us-east-1",
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-0a1b2c3d4e5f67890"],
            "detail": {"instance-id": "i-0a1b2c3d4e5f67890", "state": "running"},
        },
    )
    run_from = tmp_path / "elsewhere"
    run_from.mkdir()

    result = replay(run_from, bulk_file, not_json, not_an_event, unmatched)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = output_lines(result)
    assert list(lines[-1]) == ["summary"]
    summary = lines[-1]["summary"]
    assert summary["pipeline_executions_started"] == 1
    assert summary["executions"]["RetrainStateMachine"] == {"SUCCEEDED": 1}
    assert all(counts == {} for name, counts in summary["executions"].items() if name != "RetrainStateMachine")
    assert summary["notifications"] >= 2
    assert summary["ledger_records"] >= 3
    assert not any(summary["dead_letters"].values())

    per_event = [line for line in lines if "index" in line and "id" in line and line["file"] == str(bulk_file)]
    assert [line["matched_rules"] for line in per_event] == [1] * 5
    assert [line["rejected"] for line in per_event] == [False] * 5
    rejected = {entry["file"]: entry for entry in summary["rejected_events"]}
    assert set(rejected) == {str(not_json), str(not_an_event), str(unmatched)}
    assert "not JSON" in rejected[str(not_json)]["reason"]
    assert "not an EventBridge event: missing id, source, detail-type, detail" in rejected[str(not_an_event)]["reason"]
    assert rejected[str(unmatched)]["detail_type"] == "EC2 Instance State-change Notification"
    assert "no rule of the control plane matches" in rejected[str(unmatched)]["reason"]
    errors = {line["file"]: line["error"] for line in lines if "error" in line}
    assert set(errors) == {str(not_json), str(not_an_event)}


def test_replay_of_the_sample_bulk_file_by_absolute_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sample = ROOT / "events" / "s3-dataset-churn-bulk.json"
    events = json.loads(sample.read_text(encoding="utf-8"))

    result = replay_here(tmp_path, monkeypatch, sample)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = output_lines(result)
    assert len([line for line in lines if "index" in line]) == len(events)
    summary = lines[-1]["summary"]
    assert summary["pipeline_executions_started"] == 1
    assert summary["executions"]["RetrainStateMachine"] == {"SUCCEEDED": 1}
    assert summary["rejected_events"] == []
    assert summary["ledger_records"] == 3


def test_replay_gives_every_event_of_any_json_its_line_and_ends_with_the_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3_event = s3_object_created_event(BUCKET, "datasets/churn/2026-12-01/_SUCCESS")
    drift = json.loads((ROOT / "events" / "drift-detected-custom.json").read_text(encoding="utf-8"))
    files = {
        "times.json": [{**s3_event, "time": time} for time in (None, {"at": 1}, "99999999999999999999")],
        "typo.json": {**drift, "detail-type": "Drift Detectd"},
        "garbage.json": [1, "text", [[]], {"id": {}, "source": "x", "detail-type": "y", "detail": {}}, None],
        "number.json": 42,
        "string.json": "hello",
        "empty.json": [],
    }
    paths = {name: write_json(tmp_path / name, document) for name, document in files.items()}
    paths["broken.json"] = tmp_path / "broken.json"
    paths["broken.json"].write_text('{"id": ', encoding="utf-8")
    paths["missing.json"] = tmp_path / "missing.json"

    result = replay_here(tmp_path, monkeypatch, *paths.values())

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = output_lines(result)
    assert list(lines[-1]) == ["summary"]
    by_event = {(Path(line["file"]).name, line.get("index")): line for line in lines[:-1] if "file" in line}
    assert sorted(by_event) == sorted(
        [("times.json", index) for index in range(3)]
        + [("typo.json", 0)]
        + [("garbage.json", index) for index in range(5)]
        + [("number.json", 0), ("string.json", 0)]
        + [("empty.json", None), ("broken.json", None), ("missing.json", None)]
    )
    time_errors = [by_event[("times.json", index)]["error"] for index in range(3)]
    assert time_errors == [
        "not an EventBridge event: 'time' must be like \"2026-11-27T09:00:00Z\", got null",
        'not an EventBridge event: \'time\' must be like "2026-11-27T09:00:00Z", got {"at": 1}',
        'not an EventBridge event: \'time\' must be like "2026-11-27T09:00:00Z", got "99999999999999999999"',
    ]
    typo = by_event[("typo.json", 0)]
    assert (typo["matched_rules"], typo["rejected"]) == (0, True)
    assert by_event[("garbage.json", 0)]["error"] == "expected an EventBridge event (a JSON object), got a number: 1"
    assert by_event[("garbage.json", 4)]["error"] == "expected an EventBridge event (a JSON object), got null"
    assert by_event[("string.json", 0)]["error"].endswith('got a string: "hello"')
    assert "no events (the file holds an empty list)" in by_event[("empty.json", None)]["error"]
    assert "not JSON" in by_event[("broken.json", None)]["error"]
    assert "no such file" in by_event[("missing.json", None)]["error"]
    summary = lines[-1]["summary"]
    assert len(summary["rejected_events"]) == len(by_event)
    assert summary["executions"]["RetrainStateMachine"] == {}
    assert summary["pipeline_executions_started"] == 0
