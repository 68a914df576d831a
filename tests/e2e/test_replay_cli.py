"""`python -m localcloud replay FILE...` as an operator runs it: a subprocess, from outside the checkout."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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


def test_replay_of_the_sample_bulk_file_by_absolute_path(tmp_path: Path) -> None:
    sample = ROOT / "events" / "s3-dataset-churn-bulk.json"
    events = json.loads(sample.read_text(encoding="utf-8"))

    result = replay(tmp_path, sample)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = output_lines(result)
    assert len([line for line in lines if "index" in line]) == len(events)
    summary = lines[-1]["summary"]
    assert summary["pipeline_executions_started"] == 1
    assert summary["executions"]["RetrainStateMachine"] == {"SUCCEEDED": 1}
    assert summary["rejected_events"] == []
    assert summary["ledger_records"] == 3
