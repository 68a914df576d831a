"""The AWS adapters against moto (DynamoDB table built from template.yaml's own definition) and Stubber."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from boto3.dynamodb.conditions import Key
from botocore.stub import Stubber
from moto import mock_aws
from moto.sns.models import sns_backends

from controlplane import deploy
from controlplane.adapters.announcer import EVENT_SOURCE, Announcer
from controlplane.adapters.ledger import DynamoDbLedger
from controlplane.adapters.sagemaker import ModelRegistry, SageMakerModelCards
from controlplane.adapters.workflows import StepFunctionsWorkflows
from controlplane.clock import iso
from controlplane.config import load_config
from controlplane.datasets import sequencer_order
from controlplane.ports import (
    Announcement,
    AuditRecord,
    DatasetArrivals,
    DecisionWait,
    EndpointState,
    Incident,
    IncidentChange,
    PipelineRun,
    RetrainNote,
    WorkflowStart,
    WriteConflict,
)
from localcloud.cloud import ROOT
from localcloud.template import load_template
from scripts import audit_report
from tests.fakes import FakeDeploymentLedger

REGION = "us-east-1"
T0 = datetime(2026, 11, 27, 9, tzinfo=UTC)
PIPELINE_ARN = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-training/execution/abc123def456"


@pytest.fixture
def ledger(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    table = load_template(ROOT / "template.yaml")["Resources"]["LedgerTable"]["Properties"]
    with mock_aws():
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="ledger",
            AttributeDefinitions=table["AttributeDefinitions"],
            KeySchema=table["KeySchema"],
            GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
            BillingMode=table["BillingMode"],
        )
        yield DynamoDbLedger("ledger")


def test_dataset_arrivals_are_counted_and_keep_the_first_time(ledger):
    uri = "s3://data/datasets/fraud/2026-11-27/"
    ledger.record_arrivals(DatasetArrivals("fraud", uri, 100, T0, sequencer_order("0055AED6DCD90281E5")))
    state = ledger.record_arrivals(
        DatasetArrivals("fraud", uri, 3, T0 + timedelta(seconds=40), sequencer_order("0055AED6DCD90281E6"))
    )
    ledger.mark_dataset_started("fraud", uri, "arn:execution")

    stored = ledger.get_dataset("fraud", uri)

    assert (state.object_count, state.first_object_at, state.last_object_at) == (103, T0, T0 + timedelta(seconds=40))
    assert state.max_sequencer == sequencer_order("0055AED6DCD90281E6")
    assert stored is not None
    assert stored.execution_arn == "arn:execution"
    assert ledger.get_dataset("fraud", "s3://data/other/") is None


def _request(uri: str, name: str = "retrain-fraud-1") -> AuditRecord:
    arn = f"arn:aws:states:us-east-1:123456789012:execution:retrain:{name}"
    start = WorkflowStart("retrain", name, {"model": "fraud", "dataset_uri": uri})
    return AuditRecord(
        f"{name}#requested", "TrainingRequested", "fraud", "quiet", T0, uri, execution_arn=arn, start=start
    )


def test_a_dataset_starts_with_its_arrivals_mark_request_and_latest_note_in_one_transaction(ledger):
    uri = "s3://data/datasets/fraud/2026-11-27/"
    request = _request(uri)

    assert ledger.start_dataset(DatasetArrivals("fraud", uri, 100, T0, sequencer_order("A0")), request)

    state = ledger.get_dataset("fraud", uri)
    assert (state.object_count, state.execution_arn, state.last_object_at) == (100, request.execution_arn, T0)
    assert ledger.get_record(request.record_id).start == request.start
    assert ledger.pending_effects(request.record_id) == {"start"}
    assert ledger.latest_dataset("fraud") == uri


def test_a_start_transaction_that_fails_a_condition_writes_nothing(ledger):
    uri = "s3://data/datasets/fraud/2026-11-27/"
    ledger.start_dataset(DatasetArrivals("fraud", uri, 1, T0), _request(uri))
    later_uri = "s3://data/datasets/fraud/2026-11-28/"
    ledger.record_arrivals(DatasetArrivals("fraud", later_uri, 5, T0 + timedelta(seconds=9)))

    started_again = ledger.start_dataset(DatasetArrivals("fraud", uri, 7, T0), _request(uri, "retrain-fraud-2"))
    raced = ledger.start_dataset(DatasetArrivals("fraud", later_uri, 3, T0), _request(later_uri, "retrain-fraud-3"))

    assert (started_again, raced) == (False, False)  # marked already; arrivals older than the item's latest
    assert ledger.get_dataset("fraud", uri).object_count == 1
    assert ledger.get_dataset("fraud", later_uri).execution_arn is None
    assert ledger.get_record("retrain-fraud-2#requested") is None
    assert ledger.get_record("retrain-fraud-3#requested") is None


def test_arrivals_recorded_after_later_ones_merge_without_going_back(ledger):
    """A concurrent batch that wrote a later arrival first: the earlier batch adds its objects, and the latest
    time and highest sequencer stay (a second write, conditioned on the count it merged into)."""
    uri = "s3://data/datasets/fraud/2026-11-27/"
    ledger.record_arrivals(DatasetArrivals("fraud", uri, 10, T0 + timedelta(seconds=5), sequencer_order("B0")))

    state = ledger.record_arrivals(DatasetArrivals("fraud", uri, 4, T0, sequencer_order("A0")))

    assert state.object_count == 14
    assert (state.first_object_at, state.last_object_at) == (T0, T0 + timedelta(seconds=5))
    assert state.max_sequencer == sequencer_order("B0")
    assert ledger.get_dataset("fraud", uri) == state


def test_arrivals_with_an_earlier_time_but_a_higher_sequencer_keep_both_maxima(ledger):
    uri = "s3://data/datasets/fraud/2026-11-27/"
    ledger.record_arrivals(DatasetArrivals("fraud", uri, 1, T0 + timedelta(seconds=5), sequencer_order("A0")))

    state = ledger.record_arrivals(DatasetArrivals("fraud", uri, 1, T0, sequencer_order("B0")))

    assert (state.object_count, state.last_object_at, state.max_sequencer) == (
        2,
        T0 + timedelta(seconds=5),
        sequencer_order("B0"),
    )


def test_a_merge_that_finds_the_dataset_changed_again_writes_nothing(ledger, monkeypatch):
    uri = "s3://data/datasets/fraud/2026-11-27/"
    ledger.record_arrivals(DatasetArrivals("fraud", uri, 10, T0 + timedelta(seconds=5)))
    merge = ledger._merge_arrivals

    def another_batch_first(key, current, arrivals):
        ledger.record_arrivals(DatasetArrivals("fraud", uri, 7, T0 + timedelta(seconds=9)))
        return merge(key, current, arrivals)

    monkeypatch.setattr(ledger, "_merge_arrivals", another_batch_first)

    with pytest.raises(WriteConflict, match="changed twice"):
        ledger.record_arrivals(DatasetArrivals("fraud", uri, 4, T0))

    assert ledger.get_dataset("fraud", uri).object_count == 17  # the retried batch will add its 4 then


def test_audit_records_are_written_once_and_form_the_lineage(ledger):
    uri = "s3://data/datasets/churn/2026-11-27/"
    requested = AuditRecord("run#requested", "TrainingRequested", "churn", "marker", T0, dataset_uri=uri, event_id="e1")
    started = AuditRecord(
        "run#started", "TrainingStarted", "churn", "marker", T0 + timedelta(seconds=1), dataset_uri=uri,
        pipeline_execution_arn=PIPELINE_ARN, details={"pipeline": "churn-training"},
    )  # fmt: skip

    assert ledger.record(requested) is True
    assert ledger.record(requested) is False
    assert ledger.record(started) is True

    lineage = ledger.lineage(uri)
    assert [record.kind for record in lineage] == ["TrainingRequested", "TrainingStarted"]
    assert lineage[1].pipeline_execution_arn == PIPELINE_ARN
    assert lineage[1].details == {"pipeline": "churn-training"}
    assert [record.kind for record in ledger.history("churn")] == ["TrainingRequested", "TrainingStarted"]


def test_one_query_returns_every_record_of_a_version_and_the_first_package_lineage_stays(ledger):
    key = "training/retrain-churn-2026-11-27-abc"
    trained = AuditRecord("run#started", "TrainingStarted", "churn", "marker", T0, lineage=key)
    deployed = AuditRecord("deploy#ok", "DeploymentSucceeded", "churn", "ok", T0 + timedelta(hours=1), lineage=key)
    other = AuditRecord("deploy#other", "DeploymentSucceeded", "churn", "ok", T0, lineage="package/churn-models/1")
    for record in (deployed, trained, other):
        ledger.record(record)
    ledger.note_package_lineage("arn:package/7", key)
    ledger.note_package_lineage("arn:package/7", "package/churn-models/7")

    assert [(record.kind, record.lineage) for record in ledger.version_lineage(key)] == [
        ("TrainingStarted", key), ("DeploymentSucceeded", key)
    ]  # fmt: skip
    assert ledger.package_lineage("arn:package/7") == key
    assert ledger.package_lineage("arn:package/8") is None


def test_training_slot_is_exclusive_until_released_or_expired(ledger):
    lease = T0 + timedelta(hours=1)

    assert ledger.acquire_pipeline_slot("churn", "first", T0, lease) is None
    assert ledger.acquire_pipeline_slot("churn", "first", T0, lease) is None  # re-entrant for a retried task
    assert ledger.acquire_pipeline_slot("churn", "second", T0, lease) == "first"
    assert ledger.acquire_pipeline_slot("churn", "second", lease + timedelta(seconds=1), lease) is None
    ledger.release_pipeline_slot("churn", "first")  # no longer the holder: nothing happens
    assert ledger.acquire_pipeline_slot("churn", "third", T0, lease) == "second"
    ledger.release_pipeline_slot("churn", "second")
    assert ledger.acquire_pipeline_slot("churn", "third", T0, lease) is None


def test_pipeline_run_completes_once_and_keeps_the_task_token(ledger):
    ledger.register_pipeline_run(PipelineRun(PIPELINE_ARN, "churn", "s3://d/x/", "arn:exec", "Executing"))
    waiting = ledger.attach_task_token(PIPELINE_ARN, "token")

    completed = ledger.complete_pipeline_run(PIPELINE_ARN, "Failed", "OOM")
    again = ledger.complete_pipeline_run(PIPELINE_ARN, "Succeeded", None)
    unknown = ledger.complete_pipeline_run(PIPELINE_ARN.replace("abc", "zzz"), "Succeeded", None)

    assert waiting.status == "Executing"
    assert completed is not None
    assert (completed.status, completed.failure_reason, completed.task_token) == ("Failed", "OOM", "token")
    assert again is None
    assert unknown is None


# (status, hours after T0 of LastModifiedTime) -> (outcome, latest status)
APPROVAL_HISTORY = [
    (("Approved", 0), ("changed", "Approved")),
    (("Approved", 0), ("repeated", "Approved")),  # another copy of the same change
    (("Approved", 2), ("unchanged", "Approved")),  # e.g. a metadata edit, without UpdatedModelPackageFields
    (("Rejected", 1), ("stale", "Approved")),  # older than the newest event seen
    (("Rejected", 3), ("changed", "Rejected")),
    (("Approved", 0), ("stale", "Rejected")),  # the first approval, redelivered late
    (("Rejected", 3), ("repeated", "Rejected")),
    (("Approved", 3), ("changed", "Approved")),  # same second, other status: a change (names keep copies apart)
    (("Approved", 4), ("unchanged", "Approved")),
    (("Rejected", 5), ("changed", "Rejected")),
]


@pytest.mark.parametrize("kind", ["dynamodb", "fake"])
def test_approval_changes_are_numbered_once_each_in_the_adapter_and_its_fake(kind, request):
    ledger = request.getfixturevalue("ledger") if kind == "dynamodb" else FakeDeploymentLedger()
    arn = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/7"

    seen = [
        ledger.note_approval_change(arn, status, T0 + timedelta(hours=hours)) for (status, hours), _ in APPROVAL_HISTORY
    ]

    assert [(change.outcome, change.status) for change in seen] == [expected for _, expected in APPROVAL_HISTORY]


def test_start_retrain_names_the_execution_and_tolerates_repeats():
    client = boto3.client("stepfunctions", region_name=REGION)
    machine = "arn:aws:states:us-east-1:123456789012:stateMachine:retrain"
    workflows = StepFunctionsWorkflows(machine, client=client)
    request = {"model": "churn", "dataset_uri": "s3://d/x/", "reason": "marker"}
    with Stubber(client) as stub:
        stub.add_response(
            "start_execution",
            {"executionArn": f"{machine.replace('stateMachine', 'execution')}:run-1", "startDate": T0},
            {"stateMachineArn": machine, "name": "run-1", "input": json.dumps(request, sort_keys=True)},
        )
        stub.add_client_error("start_execution", "ExecutionAlreadyExists", http_status_code=400)
        first = workflows.start_retrain("run-1", request)
        repeat = workflows.start_retrain("run-1", {**request, "reason": "other"})

    assert first.outcome == "started"
    assert repeat.outcome == "already_started"
    assert repeat.execution_arn == "arn:aws:states:us-east-1:123456789012:execution:retrain:run-1"


def test_the_execution_arn_known_before_a_start_is_the_one_step_functions_gives(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = boto3.client("stepfunctions", region_name=REGION)
        machine = client.create_state_machine(
            name="retrain",
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
            roleArn="arn:aws:iam::123456789012:role/sfn",
        )["stateMachineArn"]
        workflows = StepFunctionsWorkflows(machine, client=client)
        predicted = workflows.execution_arn("retrain", "retrain-fraud-1")

        assert workflows.start_retrain("retrain-fraud-1", {}).execution_arn == predicted


@pytest.mark.parametrize(("code", "expected"), [("TaskTimedOut", False), ("InvalidToken", False)])
def test_resume_reports_a_stale_token_instead_of_failing(code, expected):
    client = boto3.client("stepfunctions", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response("send_task_success", {}, {"taskToken": "t", "output": '{"status": "Succeeded"}'})
        stub.add_client_error("send_task_success", code, http_status_code=400)
        workflows = StepFunctionsWorkflows(client=client)
        assert workflows.resume("t", {"status": "Succeeded"}) is True
        assert workflows.resume("t", {"status": "Succeeded"}) is expected


def test_resume_raises_other_errors():
    client = boto3.client("stepfunctions", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_client_error("send_task_success", "ThrottlingException", http_status_code=400)
        with pytest.raises(client.exceptions.ClientError):
            StepFunctionsWorkflows(client=client).resume("t", {})


def test_announcer_publishes_to_sns_and_the_bus(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sns, events, sqs = (boto3.client(name, region_name=REGION) for name in ("sns", "events", "sqs"))
        topic = sns.create_topic(Name="notifications")["TopicArn"]
        events.create_event_bus(Name="controlplane")
        queue = sqs.create_queue(QueueName="observer")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="all", EventBusName="controlplane", EventPattern=json.dumps({"source": [EVENT_SOURCE]}))
        events.put_targets(Rule="all", EventBusName="controlplane", Targets=[{"Id": "q", "Arn": queue_arn}])

        started = Announcement("Training Started", {"model": "churn", "status": "Executing"})
        Announcer(topic, "controlplane").notify(started, "run#TrainingStarted")
        Announcer(topic, "controlplane").publish(started, "run#TrainingStarted")

        (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
        event = json.loads(message["Body"])
        assert (event["source"], event["detail-type"]) == (EVENT_SOURCE, "Training Started")
        assert event["detail"] == {"model": "churn", "status": "Executing", "record_id": "run#TrainingStarted"}
        ((_, body, subject, _, _),) = sns_backends["123456789012"][REGION].topics[topic].sent_notifications
        assert subject == "[mlops] Training Started: churn"
        assert json.loads(body)["event"] == "Training Started"


def test_a_record_and_its_writes_commit_together_or_not_at_all(ledger):
    incident = Incident("churn", "churn-prod", "inc-1", "open", T0, "data_drift", 1)
    start = WorkflowStart("drift", "drift-churn-prod-inc-1", {"incident_id": "inc-1"})
    opened = AuditRecord("sig#signal", "DriftIncidentOpened", "churn", "drift", T0, start=start)
    state = EndpointState("churn-prod", "churn", "prod", serving_version=3)

    assert ledger.record(opened, IncidentChange(incident, None), state) is True
    assert ledger.record(opened, IncidentChange(incident, None), state) is False  # already recorded: nothing

    late = AuditRecord("late#signal", "DriftEvidence", "churn", "drift", T0)
    with pytest.raises(WriteConflict):
        ledger.record(late, IncidentChange(incident, "another-incident"))
    assert not ledger.has_record("late#signal")
    assert ledger.get_incident("churn", "churn-prod", "data_drift").incident_id == "inc-1"
    assert ledger.get_endpoint_state("churn-prod").serving_version == 3
    assert ledger.get_record("sig#signal").start == start


def test_effects_are_claimed_sent_and_marked_one_by_one_and_found_by_the_redrive(ledger):
    announced = AuditRecord(
        "exec#Decided", "DriftResponseDecided", "churn", "r", T0,
        announcement=Announcement("Drift Response Decided", {"model": "churn", "ratio": 0.5}),
        start=WorkflowStart("retrain", "retrain-x", {"model": "churn"}),
    )  # fmt: skip
    ledger.record(announced)
    ledger.record(AuditRecord("quiet", "DriftEvidence", "churn", "r", T0))
    lease = timedelta(minutes=2)
    assert ledger.pending_effects("exec#Decided") == {"sns", "bus", "start"}
    assert ledger.records_with_pending_effects() == ["exec#Decided"]

    assert ledger.claim("exec#Decided", "sns", T0, T0 - lease) == "claimed"
    assert ledger.claim("exec#Decided", "sns", T0, T0 - lease) == "in_flight"  # another delivery holds it
    ledger.mark_delivered("exec#Decided", "sns")
    assert ledger.claim("exec#Decided", "sns", T0, T0 - lease) == "delivered"

    assert ledger.claim("exec#Decided", "bus", T0, T0 - lease) == "claimed"
    ledger.release("exec#Decided", "bus")  # the send failed
    assert ledger.pending_effects("exec#Decided") == {"bus", "start"}
    assert ledger.claim("exec#Decided", "bus", T0, T0 - lease) == "claimed"
    later = T0 + timedelta(minutes=5)  # the delivery holding it died: its claim is taken over
    assert ledger.claim("exec#Decided", "bus", later, later - lease) == "claimed"
    ledger.mark_delivered("exec#Decided", "bus")
    assert ledger.claim("exec#Decided", "start", T0, T0 - lease) == "claimed"
    assert ledger.records_with_pending_effects() == ["exec#Decided"]  # a claimed effect is still owed
    ledger.mark_delivered("exec#Decided", "start")

    assert ledger.records_with_pending_effects() == []
    assert ledger.pending_effects("exec#Decided") == set()
    assert ledger.get_record("exec#Decided").announcement.detail == {"model": "churn", "ratio": 0.5}


def test_retrains_are_items_of_their_own_and_a_retried_one_counts_once(ledger):
    note = RetrainNote("churn", T0, "inc-1", T0 + timedelta(days=1))
    for at, incident in ((T0, "inc-1"), (T0, "inc-1"), (T0 + timedelta(hours=30), "inc-2")):
        ledger.record(
            AuditRecord(f"{incident}#decided", "DriftResponseDecided", "churn", "r", at),
            RetrainNote("churn", at, incident, at + timedelta(days=1)),
        )

    assert ledger.retrain_times("churn", since=T0 - timedelta(days=1)) == [T0, T0 + timedelta(hours=30)]
    assert ledger.retrain_times("churn", since=T0 + timedelta(hours=1)) == [T0 + timedelta(hours=30)]
    assert note.incident_id == "inc-1"


def test_a_retrain_note_carries_the_tables_ttl_until_it_counts_no_more(ledger):
    ttl = load_template(ROOT / "template.yaml")["Resources"]["LedgerTable"]["Properties"]["TimeToLiveSpecification"]
    counts_until = T0 + timedelta(days=3)
    ledger.record(
        AuditRecord("inc-1#decided", "DriftResponseDecided", "churn", "r", T0),
        RetrainNote("churn", T0, "inc-1", counts_until),
    )

    table = boto3.resource("dynamodb", region_name=REGION).Table("ledger")
    query = Key("pk").eq("MODEL#churn") & Key("sk").begins_with("RETRAIN#")
    [note] = table.query(KeyConditionExpression=query)["Items"]
    assert ttl["Enabled"] is True
    assert note[ttl["AttributeName"]] == int(counts_until.timestamp())


def test_retrain_times_read_every_page(ledger):
    times = [T0 + timedelta(seconds=index) for index in range(40)]
    padding = "x" * 380_000  # two notes to DynamoDB's 1 MB page
    table = boto3.resource("dynamodb", region_name=REGION).Table("ledger")
    for index, at in enumerate(times):
        table.put_item(
            Item={"pk": "MODEL#churn", "sk": f"RETRAIN#{iso(at)}#inc-{index}", "at": iso(at), "padding": padding}
        )

    assert ledger.retrain_times("churn", since=T0 - timedelta(days=1)) == times


def test_a_workflow_that_stops_waiting_marks_its_run(ledger):
    run = PipelineRun(PIPELINE_ARN, "churn", "s3://data/datasets/churn/d/", "arn:exec:run-1", "Executing")

    marked = ledger.end_workflow_wait(run)
    completed = ledger.complete_pipeline_run(PIPELINE_ARN, "Succeeded", None)

    assert (marked.workflow_ended, marked.status) == (True, "Executing")
    assert completed is not None
    assert (completed.workflow_ended, completed.status) == (True, "Succeeded")


def test_the_newest_training_dataset_is_kept_on_its_own_item(ledger):
    def requested(dataset: str, at: datetime, kind: str = "TrainingRequested") -> AuditRecord:
        return AuditRecord(
            f"{dataset}#{kind}", kind, "churn", "r", at, dataset_uri=f"s3://data/datasets/churn/{dataset}/"
        )

    assert ledger.latest_dataset("churn") is None
    ledger.record(requested("d1", T0))
    ledger.record(requested("d2", T0 + timedelta(hours=1), "TrainingStarted"))
    ledger.record(requested("d0", T0 - timedelta(hours=1)))  # delivered late: older than what is noted
    ledger.record(
        AuditRecord(
            "x#DriftEvidence", "DriftEvidence", "churn", "r", T0 + timedelta(hours=2), dataset_uri="s3://other/"
        )
    )

    assert ledger.latest_dataset("churn") == "s3://data/datasets/churn/d2/"


def test_history_and_lineage_read_every_page(ledger):
    uri = "s3://data/datasets/churn/big/"
    padding = "x" * 350_000  # three records fill DynamoDB's 1 MB page
    for index in range(5):
        at = T0 + timedelta(minutes=index)
        ledger.record(AuditRecord(f"r{index}", "DriftEvidence", "churn", padding, at, dataset_uri=uri))

    assert [record.record_id for record in ledger.history("churn")] == [f"r{index}" for index in range(5)]
    assert len(ledger.lineage(uri)) == 5


def test_a_question_waits_with_its_token_takes_one_answer_and_closes(ledger):
    asked = AuditRecord(record_id="run#DriftDecisionRequested#t1", kind="DriftDecisionRequested", model="churn",
                        reason="approval required", at=T0)  # fmt: skip
    waiting = DecisionWait("inc-1", "churn", "churn-prod", "waiting", drift_execution_arn="arn:drift", task_token="t1")
    assert ledger.record(asked, waiting)
    assert ledger.get_decision("inc-1") == waiting

    claimed = ledger.claim_decision("inc-1", "arn:decision:a", "alice", "retrain")
    again = ledger.claim_decision("inc-1", "arn:decision:a", "alice", "retrain")  # the task's retry
    other = ledger.claim_decision("inc-1", "arn:decision:b", "bob", "dismiss")

    assert claimed == again
    assert claimed is not None
    assert (claimed.status, claimed.task_token, claimed.answered_by, claimed.action) == (
        "answered", "t1", "alice", "retrain"
    )  # fmt: skip
    assert other is None
    ledger.expire_decision("inc-1", "arn:decision:b")  # not the claimant: nothing changes
    assert ledger.get_decision("inc-1").status == "answered"
    ledger.expire_decision("inc-1", "arn:decision:a")
    assert ledger.get_decision("inc-1").status == "expired"

    closed = DecisionWait("inc-1", "churn", "churn-prod", "closed", action="dismiss", reason="no answer in time")
    decided = AuditRecord(record_id="run#DriftResponseDecided", kind="DriftResponseDecided", model="churn",
                          reason="no answer in time", at=T0)  # fmt: skip
    assert ledger.record(decided, closed)
    assert ledger.get_decision("inc-1") == closed  # the token is gone
    assert ledger.claim_decision("inc-1", "arn:decision:a", "alice", "retrain") is None
    assert ledger.get_decision("inc-2") is None
    assert ledger.claim_decision("inc-2", "arn:decision:c", "carol", "retrain") is None


def test_an_owner_filter_policy_subscription_receives_only_its_models_announcements(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sns, sqs = (boto3.client(name, region_name=REGION) for name in ("sns", "sqs"))
        topic = sns.create_topic(Name="notifications")["TopicArn"]
        queue = sqs.create_queue(QueueName="churn-team")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(
            TopicArn=topic,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"FilterPolicy": json.dumps({"owner": ["churn-team"]}), "RawMessageDelivery": "true"},
        )
        announcer = Announcer(topic, "controlplane", owners={"churn": "churn-team", "fraud": "fraud-team"})

        announcer.notify(Announcement("Deployment Failed", {"model": "fraud"}), "fraud#1")
        announcer.notify(Announcement("Deployment Failed", {"model": "churn"}), "churn#1")
        announcer.notify(Announcement("Deployment Failed", {"model": "unowned"}), "unowned#1")

        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        assert [json.loads(message["Body"])["record_id"] for message in messages] == ["churn#1"]
        assert json.loads(messages[0]["Body"])["owner"] == "churn-team"


def test_registry_reads_bias_reports_documentation_and_lineage_of_a_package(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sagemaker, s3 = (boto3.client(name, region_name=REGION) for name in ("sagemaker", "s3"))
        s3.create_bucket(Bucket="evaluations")
        report = {"post_training_bias_metrics": {"facets": {"gender": [{"value_or_threshold": "F", "metrics": [
            {"name": "DPPL", "description": "d", "value": 0.04}]}]}}}  # fmt: skip
        s3.put_object(Bucket="evaluations", Key="v1/bias.json", Body=json.dumps(report).encode())
        sagemaker.create_model_package_group(ModelPackageGroupName="churn-models")
        arn = sagemaker.create_model_package(
            ModelPackageGroupName="churn-models",
            InferenceSpecification={"Containers": [{"Image": "img"}], "SupportedContentTypes": ["text/csv"],
                                    "SupportedResponseMIMETypes": ["text/csv"]},
            ModelMetrics={"Bias": {"PostTrainingReport": {"ContentType": "application/json",
                                                          "S3Uri": "s3://evaluations/v1/bias.json"}}},
            MetadataProperties={"GeneratedBy": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x"},
            CustomerMetadataProperties={"intended_uses": "retention offers"},
            ModelApprovalStatus="PendingManualApproval",
        )["ModelPackageArn"]  # fmt: skip
        registry = ModelRegistry(sagemaker, s3)

        package = registry.describe_package(arn)

        assert package.bias_report_uris == ("s3://evaluations/v1/bias.json",)
        assert package.metadata == {"intended_uses": "retention offers"}
        assert package.generated_by == "arn:aws:sagemaker:us-east-1:123456789012:pipeline/p/execution/x"
        assert registry.bias_reports(package) == [report]
        assert deploy.bias_values(registry.bias_reports(package)) == [
            ("post_training gender=F", "gender", "DPPL", 0.04)
        ]


def test_model_cards_are_created_then_versioned_only_when_their_content_changes(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        sagemaker = boto3.client("sagemaker", region_name=REGION)
        cards = SageMakerModelCards(sagemaker)
        content = {"model_overview": {"model_owner": "churn-team"}}

        outcomes = [
            cards.upsert("churn-card-v7-abc", content),
            cards.upsert("churn-card-v7-abc", content),
            cards.upsert("churn-card-v7-abc", {**content, "intended_uses": {"intended_uses": "offers"}}),
        ]

        assert outcomes == ["created", "unchanged", "updated"]
        card = sagemaker.describe_model_card(ModelCardName="churn-card-v7-abc")
        assert (card["ModelCardVersion"], card["ModelCardStatus"]) == (2, "Draft")
        assert json.loads(card["Content"])["intended_uses"] == {"intended_uses": "offers"}


def test_audit_report_lists_production_changes_refusals_and_incidents_from_the_ledger(ledger, tmp_path):
    prod = {"stage": "prod", "endpoint": "churn-prod", "model_package_version": 7}
    records = [
        AuditRecord("old#DeploymentSucceeded", "DeploymentSucceeded", "churn", "before the period",
                    T0 - timedelta(days=40), status="Succeeded", details=prod),
        AuditRecord("gate#DeploymentGateFailed", "DeploymentGateFailed", "churn",
                    "bias post_training gender=F DPPL = 0.3 is beyond ±0.1", T0, status="GateFailed",
                    details={"stage": "staging", "endpoint": "churn-staging", "model_package_version": 8,
                             "bias_metrics": {"post_training gender=F DPPL": 0.3}}),
        AuditRecord("prod#DeploymentSucceeded", "DeploymentSucceeded", "churn", "promoted", T0 + timedelta(hours=1),
                    status="Succeeded", details={**prod, "requested_by": "alice", "approved_by": "carol",
                                                 "promotion_approved_by": "bob",
                                                 "metrics": {"binary_classification_metrics.auc.value": 0.91}}),
        AuditRecord("inc#DriftIncidentOpened", "DriftIncidentOpened", "churn", "model_quality on churn-prod",
                    T0 + timedelta(hours=2), status="open", details={"endpoint": "churn-prod", "incident_id": "i-1"}),
    ]  # fmt: skip
    for record in records:
        ledger.record(record)

    code = audit_report.main(
        ["churn", "--since", "2026-11-27", "--table", "ledger", "--output-dir", str(tmp_path)], load_config()
    )

    assert code == 0
    report = json.loads((tmp_path / "churn-governance-2026-11-27.json").read_text())
    [change] = report["production_changes"]
    assert (change["requested_by"], change["approved_by"], change["promotion_approved_by"]) == ("alice", "carol", "bob")
    assert change["metrics"] == {"binary_classification_metrics.auc.value": 0.91}
    [refusal] = report["gate_refusals"]
    assert refusal["bias_metrics"] == {"post_training gender=F DPPL": 0.3}
    assert [entry["incident_id"] for entry in report["incidents_and_responses"]] == ["i-1"]
    markdown = (tmp_path / "churn-governance-2026-11-27.md").read_text()
    assert "Owner: churn-team <churn-team@example.com>." in markdown
    assert "| 2026-11-27T10:00:00.000Z | DeploymentSucceeded | Succeeded | 7 | alice | carol | bob |" in markdown
    assert "before the period" not in markdown
