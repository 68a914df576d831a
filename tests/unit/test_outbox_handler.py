"""The outbox function's partial batch response for the ledger's DynamoDB stream (ReportBatchItemFailures)."""

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from controlplane.errors import BatchFailed

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

APP = Path(__file__).resolve().parents[2] / "functions" / "outbox" / "app.py"


class Context:
    function_name = "outbox"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:outbox"
    memory_limit_in_mb = 256
    aws_request_id = "request"
    log_group_name = log_stream_name = "outbox"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


@pytest.fixture
def outbox() -> ModuleType:
    spec = importlib.util.spec_from_file_location("outbox_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def stream_record(sequence_number: str, pk: str) -> dict[str, Any]:
    return {
        "eventName": "INSERT",
        "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"S": "RECORD"}}, "SequenceNumber": sequence_number},
    }


def test_a_failed_record_is_reported_by_its_sequence_number_and_the_others_are_delivered(
    outbox: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    handled: list[str] = []

    def handle(record: dict[str, Any]) -> None:
        handled.append(record["dynamodb"]["SequenceNumber"])
        if record["dynamodb"]["SequenceNumber"] == "200":
            raise RuntimeError("SNS is down")

    monkeypatch.setattr(outbox, "handle_record", handle)
    records = [stream_record(number, f"AUDIT#{number}") for number in ("100", "200", "300")]
    assert outbox.handler({"Records": records}, Context()) == {"batchItemFailures": [{"itemIdentifier": "200"}]}
    assert handled == ["100", "200", "300"]


def test_a_batch_that_failed_whole_fails_the_invocation(outbox: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    def handle(record: dict[str, Any]) -> None:
        raise RuntimeError("the ledger is unreachable")

    monkeypatch.setattr(outbox, "handle_record", handle)
    records = [stream_record(number, f"AUDIT#{number}") for number in ("100", "200")]
    with pytest.raises(BatchFailed, match="all 2 records"):
        outbox.handler({"Records": records}, Context())


def test_items_that_are_not_audit_records_are_skipped_without_a_dependency(
    outbox: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dependencies() -> None:
        raise AssertionError("a state item needs no delivery")

    monkeypatch.setattr(outbox, "dependencies", no_dependencies)
    records = [stream_record("100", "STATE#churn-prod"), {"dynamodb": {"SequenceNumber": "200"}}]
    assert outbox.handler({"Records": records}, Context()) == {"batchItemFailures": []}
