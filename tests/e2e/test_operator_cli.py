"""The `mlops` command line against the served local cloud (a subprocess).

The commands that follow a workflow while the clock moves (`--wait`, `mlops_while_time_passes`) run the console
script as a subprocess, as an operator does; the others call the same `main` in this process through click's test
runner, which saves Python's, boto3's and the control plane's start-up (over a second of CPU) per command."""

import json
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from localcloud.scenarios import bias_metrics_section
from mlops.cli import main
from tests.e2e.served import HANG_GUARD_SECONDS, Served, served_local_cloud

MLOPS = str(Path(sys.executable).parent / "mlops")  # the console script `make venv` installs
DATASET = "s3://mlops-local-databucket/datasets/churn/2026-11-27/"
PACKAGE_1 = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/1"
BUCKET = "mlops-local-databucket"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_local_cloud(speed=0) as cloud:
        yield cloud


def _client(served: Served, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=served.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def mlops(served: Served, *arguments: str) -> subprocess.CompletedProcess[str]:
    """`mlops ARGUMENTS` in this process, with the console script's environment, exit status and output streams."""
    result = CliRunner(mix_stderr=False).invoke(main, list(arguments), env=served.environment())
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))  # what Python prints as the script dies
    return subprocess.CompletedProcess([MLOPS, *arguments], result.exit_code, result.stdout, stderr)


def mlops_json(served: Served, *arguments: str) -> Any:
    result = mlops(served, *arguments, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def mlops_while_time_passes(
    served: Served, *arguments: str, step_seconds: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a `--wait` command while the virtual clock moves `step_seconds` at a time (the cloud runs at speed 0)."""
    process = subprocess.Popen(
        [MLOPS, *arguments], env=served.environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for _ in range(int(HANG_GUARD_SECONDS / 0.2)):
        if process.poll() is not None:
            break
        served.advance(step_seconds)
        time.sleep(0.2)  # let the CLI poll: how often only changes how far the clock has moved when it notices
    stdout, stderr = process.communicate(timeout=HANG_GUARD_SECONDS)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def register_version(served: Served, version: int, auc: float, generated_by: str | None = None) -> str:
    """What the pipeline's RegisterModel step does: a package with its evaluation, then approved."""
    key = f"controlplane/evaluations/churn-v{version}.json"
    body = json.dumps({"binary_classification_metrics": {"auc": {"value": auc}}}).encode()
    _client(served, "s3").put_object(Bucket=BUCKET, Key=key, Body=body)
    sagemaker = _client(served, "sagemaker")
    arn = sagemaker.create_model_package(
        ModelPackageGroupName="churn-models",
        InferenceSpecification={
            "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn:1"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        ModelMetrics={
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": f"s3://mlops-local-databucket/{key}"}
            },
            "Bias": bias_metrics_section(
                _client(served, "s3"), BUCKET, f"controlplane/evaluations/churn-v{version}", 0.02
            ),
        },
        **({"MetadataProperties": {"GeneratedBy": generated_by}} if generated_by else {}),
        ModelApprovalStatus="PendingManualApproval",
    )["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved")
    return str(arn)


def test_an_operator_follows_a_dataset_from_training_to_prod(served: Served) -> None:
    s3 = _client(served, "s3")
    s3.put_object(Bucket="mlops-local-databucket", Key="datasets/churn/2026-11-27/part-0.csv", Body=b"rows")
    s3.put_object(Bucket="mlops-local-databucket", Key="datasets/churn/2026-11-27/_SUCCESS", Body=b"")
    served.advance(0)
    (churn,) = mlops_json(served, "status", "churn")
    assert [(t["state"], t["dataset_uri"]) for t in churn["trainings"]] == [("training", DATASET)]

    served.advance(15 * 60)
    (churn,) = mlops_json(served, "status", "churn")
    assert churn["trainings"] == []
    assert churn["last_training"]["kind"] == "TrainingSucceeded"
    kinds = [record["kind"] for record in mlops_json(served, "history", "churn")]
    assert kinds.count("TrainingSucceeded") == 1

    again = mlops(served, "retrain", "churn", DATASET, "--reason", "by accident")
    assert again.returncode == 0
    assert "already succeeded; nothing to do" in " ".join(again.stdout.split())

    pipeline_run = churn["last_training"]["pipeline_execution_arn"]
    assert register_version(served, 1, 0.91, generated_by=pipeline_run) == PACKAGE_1
    served.advance(15 * 60)
    (churn,) = mlops_json(served, "status", "churn")
    assert [(s["stage"], s["serving_version"]) for s in churn["stages"]] == [("staging", 1), ("prod", None)]

    served.advance(30 * 60)  # staging's bake time
    promoted = mlops_while_time_passes(served, "promote", "churn", "1", "--to", "prod", "--by", "alice", "--wait")
    assert promoted.returncode == 0, promoted.stderr
    assert "-> WaitForEndpoint" in promoted.stdout
    assert promoted.stdout.rstrip().endswith("SUCCEEDED")
    (churn,) = mlops_json(served, "status", "churn")
    assert [(s["stage"], s["serving_version"]) for s in churn["stages"]] == [("staging", 1), ("prod", 1)]

    tree = mlops_json(served, "lineage", DATASET)
    (run,) = [child for child in tree["children"] if child["pipeline_execution_arn"] == pipeline_run]
    (package,) = [child for child in run["children"] if child["node"] == "package"]
    assert package["model_package_arn"] == PACKAGE_1
    deployments = [child["details"]["stage"] for child in package["children"] if child["node"] == "deployment"]
    assert deployments == ["staging", "prod"]
    assert mlops_json(served, "lineage", PACKAGE_1) == tree  # a package's lineage starts at its dataset


def test_a_failed_workflow_exits_1_with_its_cause(served: Served) -> None:
    _client(served, "s3").put_object(Bucket="mlops-local-databucket", Key="datasets/churn/d2/_SUCCESS", Body=b"")
    served.advance(15 * 60)
    register_version(served, 2, 0.92)
    served.advance(15 * 60)
    refused = mlops_while_time_passes(served, "rollback", "churn-staging", "--reason", "already there", "--wait")
    assert refused.returncode == 1
    said = " ".join(refused.stdout.split())
    # The module's cloud is shared, but pytest-xdist may run this test on a worker where the first test has not
    # run: staging then serves this test's version as 1, not 2. Either way the rollback has nowhere to go.
    assert re.search(r"FAILED: InvalidRequest: Endpoint 'churn-staging' already serves version [12]\b", said), said
    assert "stackTrace" not in said


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["retrain", "churm", DATASET, "--reason", "r"], "model 'churm' is not configured; known models: churn, fraud"),
        (
            ["retrain", "churn", "datasets/x/", "--reason", "r"],
            "dataset_uri: 'datasets/x/' is not an S3 URI",
        ),
        (["promote", "churn", "1", "--to", "staging", "--by", "a"], "cannot promote to 'staging': choose one of prod"),
        (["rollback", "nowhere", "--reason", "r"], "endpoint 'nowhere' has no deployment in the ledger"),
        (
            ["decide", "not an id", "--action", "dismiss", "--by", "a", "--reason", "r"],
            "incident_id: String should match",
        ),
        (["approve", "prod-please", "--by", "bob", "--reason", "r"], "approval_id: String should match"),
        (["status", "--stack", "nope"], "stack 'nope' not found in us-east-1"),
        (["lineage", "s3://mlops-local-databucket/datasets/none/"], "nothing in the ledger about dataset"),
        (["status", "--query", "[0."], "Invalid value for '--query': not a JMESPath expression"),
        (["audit", "churn", "--since", "soon"], "'soon' is not a date or time; use e.g. 2026-11-01"),
        (["audit", "churm", "--since", "2026-11-01"], "model 'churm' is not configured"),
    ],
)
def test_bad_requests_say_what_to_fix_before_anything_is_sent(served: Served, arguments: list[str], says: str) -> None:
    result = mlops(served, *arguments)
    assert result.returncode == 2
    assert says in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr


def test_audit_writes_the_governance_report_of_the_period(served: Served, tmp_path: Path) -> None:
    result = mlops(served, "audit", "churn", "--since", "2026-11-01", "--output-dir", str(tmp_path))

    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "churn-governance-2026-11-01.json").read_text())
    assert report["model"] == "churn"
    assert f"{len(report['production_changes'])} production change(s)" in result.stdout
    assert "churn" in (tmp_path / "churn-governance-2026-11-01.md").read_text()


def test_query_picks_from_the_json_and_prints_a_string_bare(served: Served) -> None:
    assert mlops(served, "status", "churn", "--query", "[0].model").stdout == "churn\n"
    stages = mlops(served, "status", "churn", "--query", "[0].stages[].endpoint")
    assert json.loads(stages.stdout) == ["churn-staging", "churn-prod"]


def test_decide_starts_the_decision_workflow_with_exactly_its_contract(served: Served) -> None:
    arguments = ["decide", "0123456789abcdef", "--action", "retrain", "--by", "alice", "--reason", "confirmed"]

    result = mlops(served, *arguments, "--dataset-uri", DATASET, "--wait")

    assert result.returncode == 1  # no incident waits: the decision workflow refuses the answer, and says why
    assert "No decision is waiting for incident '0123456789abcdef'" in " ".join(result.stdout.split())
    sfn = _client(served, "stepfunctions")
    machine = _client(served, "cloudformation").describe_stacks(StackName="mlops-local")["Stacks"][0]["Outputs"]
    arn = next(output["OutputValue"] for output in machine if output["OutputKey"] == "DecisionStateMachineArn")
    [execution] = [
        execution
        for execution in sfn.list_executions(stateMachineArn=arn)["executions"]
        if execution["name"].startswith("decision-0123456789abcdef-")
    ]
    assert execution["name"].startswith("decision-0123456789abcdef-")
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {
        "incident_id": "0123456789abcdef",
        "action": "retrain",
        "by": "alice",
        "reason": "confirmed",
        "dataset_uri": DATASET,
    }


def test_approve_answers_through_the_decision_workflow_which_refuses_an_unknown_approval(served: Served) -> None:
    arguments = ["approve", "approval-0123456789abcdef", "--by", "bob", "--reason", "reviewed", "--refuse", "--wait"]

    result = mlops(served, *arguments)

    assert result.returncode == 1
    assert "No approval is waiting under 'approval-0123456789abcdef'" in " ".join(result.stdout.split())
    sfn = _client(served, "stepfunctions")
    machine = _client(served, "cloudformation").describe_stacks(StackName="mlops-local")["Stacks"][0]["Outputs"]
    arn = next(output["OutputValue"] for output in machine if output["OutputKey"] == "DecisionStateMachineArn")
    [execution] = [
        execution
        for execution in sfn.list_executions(stateMachineArn=arn)["executions"]
        if execution["name"].startswith("answer-approval-0123456789abcdef-")
    ]
    assert json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"]) == {
        "approval_id": "approval-0123456789abcdef",
        "approve": False,
        "by": "bob",
        "reason": "reviewed",
    }


def test_status_shows_the_effective_policy_and_owners_get_a_filtered_subscription(served: Served) -> None:
    (churn,) = mlops_json(served, "status", "churn")
    assert churn["policy"]["owner"] == {"team": "churn-team", "contact": "churn-team@example.com"}
    assert churn["policy"]["maturity"] == 2
    assert {line["setting"]: line["runs_by_itself"] for line in churn["policy"]["automation"]} == {
        "deploy_on_approval": True,
        "auto_promote staging -> prod": False,
        "drift.require_approval": False,  # explicit in the bundled config
    }
    assert "owner churn-team <churn-team@example.com>, maturity 2; deploy_on_approval: yes" in " ".join(
        mlops(served, "status", "churn").stdout.split()
    )

    before = {owner["team"]: owner["subscribed"] for owner in mlops_json(served, "owners")}
    subscribed = mlops_json(served, "owners", "--subscribe")
    again = mlops_json(served, "owners", "--subscribe")

    assert before["churn-team"] is False
    assert {owner["team"]: owner["subscribed"] for owner in subscribed} == dict.fromkeys(before, True)
    assert again == subscribed
    sns = _client(served, "sns")
    topic = next(topic["TopicArn"] for topic in sns.list_topics()["Topics"] if "Notification" in topic["TopicArn"])
    [churn_subscription] = [
        subscription
        for subscription in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
        if subscription["Endpoint"] == "churn-team@example.com"
    ]  # subscribed once, however often the command runs
    attributes = sns.get_subscription_attributes(SubscriptionArn=churn_subscription["SubscriptionArn"])["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"owner": ["churn-team"]}
